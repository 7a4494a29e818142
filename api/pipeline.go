package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/storecast/storecast/api/forecastgen"
	"github.com/storecast/storecast/history"
	"github.com/storecast/storecast/inspect"
	"github.com/storecast/storecast/mlflow"
	"github.com/storecast/storecast/topics"
)

// PipelineReader is the read-only view of Kafka behind the pipeline
// endpoints (/v1/topics, /v1/groups, /v1/dead-letters); inspect.Inspector
// implements it.
type PipelineReader interface {
	Topics(ctx context.Context) ([]inspect.Topic, error)
	Groups(ctx context.Context) ([]inspect.Group, error)
	Messages(ctx context.Context, topic string, q inspect.Query) ([]inspect.Message, error)
	DeadLetters(ctx context.Context) ([]inspect.DeadLetterCount, error)
}

// SalesReader reads a store's history and the live accuracy from
// PostgreSQL (/v1/sales/{id}, /v1/accuracy); history.Reader implements it.
type SalesReader interface {
	StoreSales(ctx context.Context, store int, rg history.Range) (history.StoreSales, error)
	RecentAccuracy(ctx context.Context, days int) ([]history.Accuracy, error)
}

// ModelVersionReader lists the registered versions of the deployment's
// models (/v1/models); mlflow.Client implements it.
type ModelVersionReader interface {
	Versions(ctx context.Context, limit int) ([]mlflow.Version, error)
}

// pipelineTimeout bounds one inspection request (metadata, offsets, a few
// hundred records).
const pipelineTimeout = 20 * time.Second

// maxKeyLength is the longest record key /v1/topics/{name}/messages
// filters by (maxLength in openapi.yaml).
const maxKeyLength = 256

var (
	errNoPipeline = fmt.Errorf("%w: pipeline inspection is not configured on this server", ErrUnavailable)
	errNoRegistry = fmt.Errorf("%w: no MLflow tracking server is configured (STORECAST_MLFLOW_TRACKING_URI)", ErrUnavailable)
	errNoHistory  = fmt.Errorf("%w: no PostgreSQL is configured for history (STORECAST_PG_READ_DSN)", ErrUnavailable)
)

// ListTopics implements GET /v1/topics.
func (s *forecastServer) ListTopics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Pipeline == nil {
		s.errs.write(w, r, errNoPipeline)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pipelineTimeout)
	defer cancel()
	ts, err := s.cfg.Pipeline.Topics(ctx)
	if err != nil {
		s.errs.write(w, r, pipelineError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"topics": nonNil(ts)})
}

// ListTopicMessages implements GET /v1/topics/{name}/messages.
func (s *forecastServer) ListTopicMessages(w http.ResponseWriter, r *http.Request, name string, p forecastgen.ListTopicMessagesParams) {
	if s.cfg.Pipeline == nil {
		s.errs.write(w, r, errNoPipeline)
		return
	}
	if p.Partition != nil && *p.Partition < 0 {
		s.errs.write(w, r, bad("partition", "%d is negative; partitions count from 0", *p.Partition))
		return
	}
	if p.Offset != nil && *p.Offset < 0 {
		s.errs.write(w, r, bad("offset", "%d is negative; offsets count from 0", *p.Offset))
		return
	}
	q := inspect.Query{Partition: p.Partition, Offset: p.Offset}
	if p.Key != nil {
		if n := utf8.RuneCountInString(*p.Key); n > maxKeyLength {
			s.errs.write(w, r, bad("key", "%d characters; a key has at most %d", n, maxKeyLength))
			return
		}
		q.Key = *p.Key
	}
	if p.Limit != nil {
		if *p.Limit < 1 || *p.Limit > inspect.MaxLimit {
			s.errs.write(w, r, &topics.FieldError{Field: "limit", Reason: fmt.Sprintf("limit must be 1..%d", inspect.MaxLimit)})
			return
		}
		q.Limit = *p.Limit
	}
	ctx, cancel := context.WithTimeout(r.Context(), pipelineTimeout)
	defer cancel()
	msgs, err := s.cfg.Pipeline.Messages(ctx, name, q)
	if err != nil {
		s.errs.write(w, r, pipelineError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"topic": name, "messages": nonNil(msgs)})
}

// ListGroups implements GET /v1/groups.
func (s *forecastServer) ListGroups(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Pipeline == nil {
		s.errs.write(w, r, errNoPipeline)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pipelineTimeout)
	defer cancel()
	gs, err := s.cfg.Pipeline.Groups(ctx)
	if err != nil {
		s.errs.write(w, r, pipelineError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"groups": nonNil(gs)})
}

// ListDeadLetters implements GET /v1/dead-letters.
func (s *forecastServer) ListDeadLetters(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Pipeline == nil {
		s.errs.write(w, r, errNoPipeline)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), pipelineTimeout)
	defer cancel()
	ds, err := s.cfg.Pipeline.DeadLetters(ctx)
	if err != nil {
		s.errs.write(w, r, pipelineError(err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": nonNil(ds)})
}

// GetStoreSales implements GET /v1/sales/{id}.
func (s *forecastServer) GetStoreSales(w http.ResponseWriter, r *http.Request, id forecastgen.StoreID, p forecastgen.GetStoreSalesParams) {
	if s.cfg.History == nil {
		s.errs.write(w, r, errNoHistory)
		return
	}
	if id < 1 || id > topics.MaxStoreID {
		s.errs.write(w, r, &topics.FieldError{Field: "id", Reason: fmt.Sprintf("store id must be 1..%d", topics.MaxStoreID)})
		return
	}
	var rg history.Range
	var errs []error
	for _, b := range []struct {
		field string
		in    *string
		out   *time.Time
	}{{"from", p.From, &rg.From}, {"to", p.To, &rg.To}} {
		if b.in == nil {
			continue
		}
		d, err := time.Parse(time.DateOnly, *b.in)
		if err != nil {
			errs = append(errs, &topics.FieldError{Field: b.field, Reason: "not a date (YYYY-MM-DD): " + *b.in})
			continue
		}
		*b.out = d
	}
	if err := errors.Join(errs...); err != nil {
		s.errs.write(w, r, err)
		return
	}
	out, err := s.cfg.History.StoreSales(r.Context(), id, rg)
	if err != nil {
		s.errs.write(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// GetAccuracy implements GET /v1/accuracy.
func (s *forecastServer) GetAccuracy(w http.ResponseWriter, r *http.Request, p forecastgen.GetAccuracyParams) {
	if s.cfg.History == nil {
		s.errs.write(w, r, errNoHistory)
		return
	}
	days := 28
	if p.Days != nil {
		if *p.Days < 1 || *p.Days > 3650 {
			s.errs.write(w, r, &topics.FieldError{Field: "days", Reason: "days must be 1..3650"})
			return
		}
		days = *p.Days
	}
	acc, err := s.cfg.History.RecentAccuracy(r.Context(), days)
	if err != nil {
		s.errs.write(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"accuracy": nonNil(acc)})
}

// ListModelVersions implements GET /v1/models.
func (s *forecastServer) ListModelVersions(w http.ResponseWriter, r *http.Request, p forecastgen.ListModelVersionsParams) {
	if s.cfg.Versions == nil {
		s.errs.write(w, r, errNoRegistry)
		return
	}
	limit := 50
	if p.Limit != nil {
		if *p.Limit < 1 || *p.Limit > 200 {
			s.errs.write(w, r, &topics.FieldError{Field: "limit", Reason: "limit must be 1..200"})
			return
		}
		limit = *p.Limit
	}
	ctx, cancel := context.WithTimeout(r.Context(), pipelineTimeout)
	defer cancel()
	vs, err := s.cfg.Versions.Versions(ctx, limit)
	if err != nil {
		s.errs.write(w, r, fmt.Errorf("%w: %w", ErrUnavailable, err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": nonNil(vs)})
}

// pipelineError translates the inspector's errors for problemFor; Kafka
// failures are 503 (the dashboard retries), not 500.
func pipelineError(err error) error {
	switch {
	case errors.Is(err, inspect.ErrUnknownTopic):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, inspect.ErrBadQuery):
		return &topics.FieldError{Field: "partition", Reason: err.Error(), Err: err}
	default:
		return fmt.Errorf("%w: kafka: %w", ErrUnavailable, err)
	}
}

// nonNil turns a nil slice into an empty one, so it encodes as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
