package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/storecast/storecast/api/forecastgen"
	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/history"
	"github.com/storecast/storecast/topics"
)

// ErrJobsNotConfigured means the server runs without what forecast jobs
// need (a forecast request emitter and a PostgreSQL reader).
var ErrJobsNotConfigured = fmt.Errorf("forecast jobs are not configured (storecast serve needs STORECAST_PG_READ_DSN): %w", ErrUnavailable)

// ForecastRequestEmitter emits forecast requests on forecast_requests
// (publish.ForecastRequests).
type ForecastRequestEmitter interface {
	// EmitForecastRequests produces reqs, each keyed by its store, and
	// returns once Kafka has acknowledged every one.
	EmitForecastRequests(ctx context.Context, reqs []topics.ForecastRequest) error
}

// ForecastJobReader reads a forecast job's progress from PostgreSQL
// (history.Reader).
type ForecastJobReader interface {
	// ForecastJob reports id's rows; an unknown id reports zeros.
	ForecastJob(ctx context.Context, id string) (history.JobProgress, error)
}

// CreateForecastJob implements POST /v1/forecast-jobs: one forecast
// request per store with the new job id, answered by the forecast
// processor, never by this handler.
func (s *forecastServer) CreateForecastJob(w http.ResponseWriter, r *http.Request) {
	if err := authorize(s.cfg.Token, r); err != nil {
		s.errs.write(w, r, err)
		return
	}
	if s.cfg.JobRequests == nil || s.cfg.JobProgress == nil {
		s.errs.write(w, r, ErrJobsNotConfigured)
		return
	}
	var body forecastgen.ForecastJobRequest
	if err := decodeJSON(w, r, s.cfg.MaxBody, &body); err != nil {
		s.errs.write(w, r, err)
		return
	}
	ctx := r.Context()
	asOf, err := s.cfg.Engine.AsOf(ctx)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	fr, err := jobRange(&body, asOf)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	rows, err := s.planRows(ctx, &fr, asOf)
	if err != nil {
		s.errs.write(w, r, err)
		return
	}
	id := newRequestID()
	reqs := jobRequests(id, asOf, rows, time.Now().UTC())
	if err := s.cfg.JobRequests.EmitForecastRequests(ctx, reqs); err != nil {
		s.errs.log.Error("emit forecast job", "job_id", id, "requests", len(reqs), "err", err)
		s.errs.write(w, r, fmt.Errorf("kafka did not take the forecast job's requests; retry later: %w", ErrUnavailable))
		return
	}
	s.errs.log.Info("forecast job emitted", "job_id", id, "stores", len(reqs), "rows", len(rows), "as_of", asOf)
	days := len(rows) / len(reqs)
	url := "/v1/forecast-jobs/" + id
	w.Header().Set("Location", url)
	writeJSON(w, http.StatusAccepted, forecastgen.ForecastJobAccepted{
		JobId: id, Status: forecastgen.ForecastJobAcceptedStatusPending, StatusUrl: url, AsOf: asOf.String(),
		StartDate: rows[0].Date.String(), EndDate: rows[days-1].Date.String(),
		Stores: len(reqs), Days: days, ExpectedRows: len(rows),
	})
}

// jobRange turns a job request into the /v1/forecasts request it plans
// like: days sets end_date from start_date (default as_of + 1).
func jobRange(b *forecastgen.ForecastJobRequest, asOf topics.Date) (forecastgen.ForecastsRequest, error) {
	fr := forecastgen.ForecastsRequest{StoreIds: b.StoreIds, StartDate: b.StartDate, EndDate: b.EndDate, Inputs: b.Inputs}
	if b.Days == nil {
		return fr, nil
	}
	if b.EndDate != nil {
		return fr, bad("days", "give end_date or days, not both")
	}
	if *b.Days < 1 || *b.Days > features.MaxHorizon {
		return fr, bad("days", "%d is out of range 1..%d", *b.Days, features.MaxHorizon)
	}
	start := asOf + 1
	if b.StartDate != nil {
		d, err := parseDateField("start_date", *b.StartDate)
		if err != nil {
			return fr, err
		}
		start = d
	}
	end := start.AddDays(*b.Days - 1).String()
	fr.EndDate = &end
	return fr, nil
}

// jobRequests groups rows (ordered by store, then date, consecutive days
// as planRows makes them) into one forecast request per store.
func jobRequests(jobID string, asOf topics.Date, rows []forecasting.Row, at time.Time) []topics.ForecastRequest {
	var reqs []topics.ForecastRequest
	for i := 0; i < len(rows); {
		j := i
		days := []topics.KnownInputs{}
		for ; j < len(rows) && rows[j].Store == rows[i].Store; j++ {
			days = append(days, rows[j].In)
		}
		reqs = append(reqs, topics.ForecastRequest{
			V: topics.ForecastRequestVersion, RequestID: jobID, JobID: jobID, JobRows: len(rows),
			Store: rows[i].Store, AsOf: asOf, Start: rows[i].Date, Days: days, At: at,
		})
		i = j
	}
	return reqs
}

// GetForecastJob implements GET /v1/forecast-jobs/{id}.
func (s *forecastServer) GetForecastJob(w http.ResponseWriter, r *http.Request, id string) {
	if s.cfg.JobProgress == nil {
		s.errs.write(w, r, ErrJobsNotConfigured)
		return
	}
	if id == "" || len(id) > 128 {
		s.errs.write(w, r, bad("id", "a job id has 1..128 characters"))
		return
	}
	p, err := s.cfg.JobProgress.ForecastJob(r.Context(), id)
	if err != nil {
		s.errs.log.Error("forecast job progress", "job_id", id, "err", err)
		s.errs.write(w, r, fmt.Errorf("read the job's rows from PostgreSQL: %w", ErrUnavailable))
		return
	}
	writeJSON(w, http.StatusOK, forecastJobOf(id, p))
}

func forecastJobOf(id string, p history.JobProgress) forecastgen.ForecastJob {
	st := forecastgen.ForecastJobStatusPending
	switch {
	case p.Rows > 0 && p.Rows >= p.Expected:
		st = forecastgen.ForecastJobStatusComplete
	case p.Rows > 0:
		st = forecastgen.ForecastJobStatusRunning
	}
	versions := p.ModelVersions
	if versions == nil {
		versions = []string{}
	}
	return forecastgen.ForecastJob{JobId: id, Status: st, Rows: p.Rows, ExpectedRows: p.Expected, Stores: p.Stores, ModelVersions: versions}
}
