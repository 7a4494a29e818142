package api

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storecast/storecast/api/traingen"
	"github.com/storecast/storecast/mlflow"
	"github.com/storecast/storecast/topics"
)

// MaxTrainWait bounds GET /train/{id}?wait=.
const MaxTrainWait = 10 * time.Minute

// TrainEmitter emits train requests on train_requests.
type TrainEmitter interface {
	// EmitTrainRequest produces req keyed by req.ID and returns once Kafka
	// has acknowledged it.
	EmitTrainRequest(ctx context.Context, req *topics.TrainRequest) error
}

// TrainResults knows the latest topics.TrainResult of every request.
type TrainResults interface {
	// Expect records that id was requested, so it reads as pending until
	// its first result arrives.
	Expect(id string)
	// Status returns the latest result of id (Status "pending" when it is
	// expected but has none yet); found is false for an id never seen.
	Status(id string) (res topics.TrainResult, found bool)
	// Changed returns a channel closed at the next result of id.
	Changed(id string) <-chan struct{}
}

// ModelVersionLookup finds one registered model version in the registry
// (mlflow.Client).
type ModelVersionLookup interface {
	// Ours reports whether name is one of this deployment's models.
	Ours(name string) bool
	// Version returns version of name; the error wraps mlflow.ErrNotFound
	// when the registry has no such model or version.
	Version(ctx context.Context, name, version string) (mlflow.Version, error)
}

// TrainConfig configures the training API.
type TrainConfig struct {
	Emitter TrainEmitter
	Results TrainResults
	// Versions checks a promote request's version before it is emitted
	// (nil: no MLflow registry; promotion answers 503).
	Versions ModelVersionLookup
	// Token is the bearer token of mutating endpoints; empty disables them
	// (503), never opens them.
	Token    string
	Ready    []Check
	Metrics  *Metrics
	Gatherer prometheus.Gatherer
	Logger   *slog.Logger
	// RateLimit limits each client's requests (zero: no limit).
	RateLimit RateLimit
}

type trainServer struct {
	ops
	cfg TrainConfig
}

var _ traingen.ServerInterface = (*trainServer)(nil)

// NewTrainHandler returns the training API's router (the routes of
// openapi.yaml tagged training and ops).
func NewTrainHandler(cfg TrainConfig) (http.Handler, error) {
	if cfg.Emitter == nil || cfg.Results == nil || cfg.Metrics == nil || cfg.Gatherer == nil || cfg.Logger == nil {
		return nil, errors.New("training api: Emitter, Results, Metrics, Gatherer and Logger are required")
	}
	o, err := newOps("train", cfg.Ready, cfg.Gatherer, cfg.Logger)
	if err != nil {
		return nil, err
	}
	s := &trainServer{ops: o, cfg: cfg}
	r := chi.NewRouter()
	r.Use(cfg.Metrics.instrument("train"), rateLimited("train", cfg.RateLimit, cfg.Metrics.rateLimited), recoverer(o.errs))
	r.NotFound(o.errs.notFound)
	r.MethodNotAllowed(o.errs.methodNotAllowed)
	o.mountDocs(r)
	traingen.HandlerWithOptions(s, traingen.ChiServerOptions{BaseRouter: r, ErrorHandlerFunc: o.errs.param})
	return r, nil
}

// authorize checks the bearer token of a mutating request against token
// (empty: mutating endpoints are disabled).
func authorize(token string, r *http.Request) error {
	if token == "" {
		return ErrTokenNotConfigured
	}
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(token)) != 1 {
		return ErrUnauthorized
	}
	return nil
}

// RequestTraining implements POST /train.
func (s *trainServer) RequestTraining(w http.ResponseWriter, r *http.Request) {
	if err := authorize(s.cfg.Token, r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	var body traingen.TrainRequest
	if err := decodeJSON(w, r, 64<<10, &body); err != nil {
		s.errs.write(w, r, err)
		return
	}
	req, err := trainRequestOf(&body)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	req.ID = newRequestID()
	req.RequestedBy = "api"
	req.At = time.Now().UTC()
	s.emit(w, r, req)
}

// PromoteModelVersion implements POST
// /v1/models/{name}/versions/{version}/promote: a promote request on
// train_requests for the trainer, which verifies the version, moves the
// registry's champion and publishes the version on the models topic (see
// topics.ActionPromote). The version is checked against the registry
// first, so a typo is a 404 naming it rather than a failed request later.
func (s *trainServer) PromoteModelVersion(w http.ResponseWriter, r *http.Request, name, version string) {
	if err := authorize(s.cfg.Token, r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	if err := s.checkVersion(r.Context(), name, version); err != nil {
		s.errs.write(w, r, err)
		return
	}
	req := topics.PromoteRequest(newRequestID(), "api", name, version, time.Now().UTC())
	s.emit(w, r, req)
}

// checkVersion returns nil when the registry has version of name, else
// the error to answer.
func (s *trainServer) checkVersion(ctx context.Context, name, version string) error {
	if !validVersion(version) {
		return bad("version", "%q is not a registered version number", version)
	}
	if s.cfg.Versions == nil {
		return fmt.Errorf("promotion needs MLflow's model registry and this server has no tracking URI: %w", ErrUnavailable)
	}
	if !s.cfg.Versions.Ours(name) {
		return &topics.FieldError{Field: "name", Reason: fmt.Sprintf("%q is not one of this deployment's registered models", name), Err: ErrNotFound}
	}
	_, err := s.cfg.Versions.Version(ctx, name, version)
	switch {
	case errors.Is(err, mlflow.ErrNotFound):
		return &topics.FieldError{Field: "version", Reason: fmt.Sprintf("%s has no version %s in MLflow's registry", name, version), Err: ErrNotFound}
	case err != nil:
		s.errs.log.Error("promote: read the registry", "model", name, "version", version, "err", err)
		return fmt.Errorf("MLflow's registry did not answer; retry later: %w", ErrUnavailable)
	}
	return nil
}

// validVersion reports whether v is a registered version number (1..).
func validVersion(v string) bool {
	if v == "" || len(v) > 10 || v[0] == '0' {
		return false
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// emit sends req on train_requests and answers 202 with its status URL.
func (s *trainServer) emit(w http.ResponseWriter, r *http.Request, req *topics.TrainRequest) {
	s.cfg.Results.Expect(req.ID)
	if err := s.cfg.Emitter.EmitTrainRequest(r.Context(), req); err != nil {
		s.cfg.Metrics.trainRequests.WithLabelValues("failed").Inc()
		s.errs.log.Error("emit train request", "id", req.ID, "action", req.Action, "err", err)
		s.errs.write(w, r, fmt.Errorf("kafka did not take the request; retry later: %w", ErrUnavailable))
		return
	}
	s.cfg.Metrics.trainRequests.WithLabelValues("emitted").Inc()
	url := "/train/" + req.ID
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusAccepted, traingen.TrainAccepted{RequestId: req.ID, Status: traingen.TrainAcceptedStatusPending, StatusUrl: url})
}

func trainRequestOf(b *traingen.TrainRequest) (*topics.TrainRequest, error) {
	req := &topics.TrainRequest{V: topics.TrainRequestVersion}
	var errs []error
	if b.StoreId != nil {
		if *b.StoreId < 1 || *b.StoreId > topics.MaxStoreID {
			errs = append(errs, bad("store_id", "%d is out of range 1..%d", *b.StoreId, topics.MaxStoreID))
		}
		req.Store = *b.StoreId
	}
	if b.StartDate != nil {
		d, err := parseDateField("start_date", *b.StartDate)
		if err != nil {
			errs = append(errs, err)
		}
		req.StartDate = &d
	}
	if b.EndDate != nil {
		d, err := parseDateField("end_date", *b.EndDate)
		if err != nil {
			errs = append(errs, err)
		}
		req.EndDate = &d
	}
	if len(errs) == 0 && req.StartDate != nil && req.EndDate != nil && *req.EndDate < *req.StartDate {
		errs = append(errs, bad("end_date", "%s is before start_date %s", *req.EndDate, *req.StartDate))
	}
	if b.Params != nil {
		req.Params = *b.Params
	}
	return req, errors.Join(errs...)
}

// GetTraining implements GET /train/{id}.
func (s *trainServer) GetTraining(w http.ResponseWriter, r *http.Request, id string, params traingen.GetTrainingParams) {
	var wait time.Duration
	if params.Wait != nil {
		d, err := time.ParseDuration(*params.Wait)
		if err != nil || d < 0 || d > MaxTrainWait {
			s.errs.write(w, r, bad("wait", "%q is not a duration between 0s and %s", *params.Wait, MaxTrainWait))
			return
		}
		wait = d
	}
	res, found := s.waitTraining(r.Context(), id, wait)
	if !found {
		s.errs.write(w, r, fmt.Errorf("id: train request %q: %w", id, ErrNotFound))
		return
	}
	writeJSON(w, http.StatusOK, trainStatusOf(id, &res))
}

// waitTraining returns the status of id, waiting up to wait for it to
// finish.
func (s *trainServer) waitTraining(ctx context.Context, id string, wait time.Duration) (topics.TrainResult, bool) {
	if wait <= 0 {
		return s.cfg.Results.Status(id)
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		changed := s.cfg.Results.Changed(id)
		res, found := s.cfg.Results.Status(id)
		if !found || res.Status == topics.TrainSucceeded || res.Status == topics.TrainFailed {
			return res, found
		}
		select {
		case <-changed:
		case <-timer.C:
			return res, found
		case <-ctx.Done():
			return res, found
		}
	}
}

func trainStatusOf(id string, res *topics.TrainResult) traingen.TrainStatus {
	st := traingen.TrainStatus{RequestId: id, Status: traingen.TrainStatusStatus(res.Status)}
	if !st.Status.Valid() {
		st.Status = traingen.TrainStatusStatusPending
	}
	set := func(dst **string, v string) {
		if v != "" {
			*dst = &v
		}
	}
	set(&st.Reason, res.Reason)
	set(&st.RunId, res.RunID)
	set(&st.ModelName, res.ModelName)
	set(&st.ModelVersion, res.Version)
	if res.Status != topics.TrainPending {
		st.Promoted = &res.Promoted
	}
	if res.Rows != 0 {
		st.Rows = &res.Rows
	}
	if res.Metrics != nil {
		st.Metrics = &res.Metrics
	}
	if !res.At.IsZero() {
		at := res.At.UTC()
		st.UpdatedAt = &at
	}
	return st
}
