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

// TrainConfig configures the training API.
type TrainConfig struct {
	Emitter TrainEmitter
	Results TrainResults
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
	s.cfg.Results.Expect(req.ID)
	if err := s.cfg.Emitter.EmitTrainRequest(r.Context(), req); err != nil {
		s.cfg.Metrics.trainRequests.WithLabelValues("failed").Inc()
		s.errs.log.Error("emit train request", "id", req.ID, "err", err)
		s.errs.write(w, r, fmt.Errorf("kafka did not take the train request; retry later: %w", ErrUnavailable))
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
