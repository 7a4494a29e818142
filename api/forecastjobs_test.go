package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/storecast/storecast/history"
	"github.com/storecast/storecast/topics"
)

// fakeJobs records emitted forecast requests and answers progress from a map.
type fakeJobs struct {
	mu       sync.Mutex
	reqs     []topics.ForecastRequest
	emitErr  error
	progress map[string]history.JobProgress
	readErr  error
}

func (f *fakeJobs) EmitForecastRequests(_ context.Context, reqs []topics.ForecastRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.emitErr != nil {
		return f.emitErr
	}
	f.reqs = append(f.reqs, reqs...)
	return nil
}

func (f *fakeJobs) ForecastJob(_ context.Context, id string) (history.JobProgress, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.readErr != nil {
		return history.JobProgress{}, f.readErr
	}
	return f.progress[id], nil
}

func (f *fakeJobs) emitted() []topics.ForecastRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]topics.ForecastRequest(nil), f.reqs...)
}

func withJobs(j *fakeJobs) harnessOpt {
	return func(_ *harness, fc *ForecastConfig, _ *TrainConfig) {
		fc.Token, fc.JobRequests, fc.JobProgress = "s3cret", j, j
	}
}

func TestForecastJobs202(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body      string
		stores, days    int
		start, end      string
		firstDayOpen    int
		checkSundayShut bool
	}{
		{"every store, six weeks", `{}`, 4, 42, "2015-06-20", "2015-07-31", 1, true},
		{"days", `{"days": 7}`, 4, 7, "2015-06-20", "2015-06-26", 1, true},
		{"stores and a range", `{"store_ids":[3,1,3],"start_date":"2015-06-22","end_date":"2015-06-23"}`, 2, 2, "2015-06-22", "2015-06-23", 1, false},
		{"inputs", `{"store_ids":[2],"days":1,"inputs":[{"date":"2015-06-20","open":0}]}`, 1, 1, "2015-06-20", "2015-06-20", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			jobs := &fakeJobs{}
			h := newHarness(t, withJobs(jobs))
			r := h.do("f", "POST", "/v1/forecast-jobs", c.body, "Authorization", bearer)
			if r.Code != http.StatusAccepted {
				t.Fatalf("status %d, want 202: %s", r.Code, r.body)
			}
			acc := r.json(t)
			id, _ := acc["job_id"].(string)
			if id == "" || r.Header().Get("Location") != "/v1/forecast-jobs/"+id || acc["status"] != "pending" {
				t.Errorf("accepted %s, Location %q", r.body, r.Header().Get("Location"))
			}
			if acc["stores"] != float64(c.stores) || acc["days"] != float64(c.days) || acc["expected_rows"] != float64(c.stores*c.days) ||
				acc["as_of"] != "2015-06-19" || acc["start_date"] != c.start || acc["end_date"] != c.end {
				t.Errorf("accepted %s", r.body)
			}
			reqs := jobs.emitted()
			if len(reqs) != c.stores {
				t.Fatalf("%d requests emitted, want one per store (%d)", len(reqs), c.stores)
			}
			seen := map[int]bool{}
			for _, q := range reqs {
				if q.V != topics.ForecastRequestVersion || q.JobID != id || q.RequestID != id || q.JobRows != c.stores*c.days ||
					q.AsOf != asOfDay || q.Start.String() != c.start || len(q.Days) != c.days || q.At.IsZero() || seen[q.Store] {
					t.Errorf("request %+v", q)
				}
				seen[q.Store] = true
				if q.Days[0].Open != c.firstDayOpen {
					t.Errorf("store %d: first day open %d, want %d", q.Store, q.Days[0].Open, c.firstDayOpen)
				}
				if c.checkSundayShut && q.Days[1].Open != 0 { // 2015-06-21 is a Sunday
					t.Errorf("store %d: Sunday open %d, want the default 0", q.Store, q.Days[1].Open)
				}
			}
			// Nothing is forecast by the handler.
			if n := len(h.log.Drain()); n != 0 {
				t.Errorf("the handler logged %d forecasts; the processor answers jobs", n)
			}
		})
	}
}

func TestForecastJobs400(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withJobs(&fakeJobs{}))
	cases := []struct{ name, body, field string }{
		{"days out of range", `{"days":49}`, "days"},
		{"days and end_date", `{"days":3,"end_date":"2015-06-25"}`, "days"},
		{"beyond the horizon", `{"end_date":"2015-09-01"}`, "end_date"},
		{"days from start pass the horizon", `{"start_date":"2015-07-01","days":48}`, "end_date"},
		{"bad store", `{"store_ids":[0]}`, "store_ids[0]"},
		{"bad start", `{"start_date":"2015-13-01","days":2}`, "start_date"},
		{"days null", `{"days":null}`, "days"},
		{"inputs null", `{"inputs":null}`, "inputs"},
	}
	for _, c := range cases {
		r := h.do("f", "POST", "/v1/forecast-jobs", c.body, "Authorization", bearer)
		if r.Code != http.StatusBadRequest || r.json(t)["field"] != c.field {
			t.Errorf("%s: status %d, want 400 naming %s: %s", c.name, r.Code, c.field, r.body)
		}
	}
}

func TestForecastJobs401(t *testing.T) {
	t.Parallel()
	jobs := &fakeJobs{}
	h := newHarness(t, withJobs(jobs))
	for _, hdr := range []string{"", "Bearer wrong", "s3cret"} {
		r := h.do("f", "POST", "/v1/forecast-jobs", `{}`, "Authorization", hdr)
		if r.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", hdr, r.Code)
		}
	}
	if n := len(jobs.emitted()); n != 0 {
		t.Errorf("%d requests emitted without a token", n)
	}
}

func TestForecastJobs503(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		opt    harnessOpt
		method string
		path   string
		detail string
	}{
		{"no PostgreSQL configured", func(_ *harness, fc *ForecastConfig, _ *TrainConfig) { fc.Token = "s3cret" }, "POST", "/v1/forecast-jobs", "STORECAST_PG_READ_DSN"},
		{"no PostgreSQL configured (GET)", func(*harness, *ForecastConfig, *TrainConfig) {}, "GET", "/v1/forecast-jobs/j1", "STORECAST_PG_READ_DSN"},
		{"no token configured", func(_ *harness, fc *ForecastConfig, _ *TrainConfig) {
			j := &fakeJobs{}
			fc.JobRequests, fc.JobProgress = j, j
		}, "POST", "/v1/forecast-jobs", "STORECAST_API_TOKEN"},
		{"kafka refuses", withJobs(&fakeJobs{emitErr: errors.New("broker down")}), "POST", "/v1/forecast-jobs", "kafka"},
		{"postgres down", withJobs(&fakeJobs{readErr: errors.New("connection refused")}), "GET", "/v1/forecast-jobs/j1", "PostgreSQL"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, c.opt)
			body := ""
			if c.method == "POST" {
				body = `{}`
			}
			r := h.do("f", c.method, c.path, body, "Authorization", bearer)
			if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.json(t)["detail"].(string), c.detail) {
				t.Errorf("status %d, want 503 naming %s: %s", r.Code, c.detail, r.body)
			}
		})
	}
}

func TestForecastJobs200(t *testing.T) {
	t.Parallel()
	jobs := &fakeJobs{progress: map[string]history.JobProgress{
		"done":    {Rows: 84, Expected: 84, Stores: 2, ModelVersions: []string{"3"}},
		"running": {Rows: 10, Expected: 84, Stores: 1, ModelVersions: []string{"3"}},
	}}
	h := newHarness(t, withJobs(jobs))
	cases := []struct {
		id, status string
		rows       float64
	}{
		{"done", "complete", 84},
		{"running", "running", 10},
		{"unknown", "pending", 0},
	}
	for _, c := range cases {
		r := h.do("f", "GET", "/v1/forecast-jobs/"+c.id, "")
		if r.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", c.id, r.Code, r.body)
		}
		got := r.json(t)
		if got["job_id"] != c.id || got["status"] != c.status || got["rows"] != c.rows {
			t.Errorf("%s: %s, want status %s with %v rows", c.id, r.body, c.status, c.rows)
		}
	}
}
