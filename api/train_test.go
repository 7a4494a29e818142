package api

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
)

const bearer = "Bearer s3cret"

func TestTrainAPI202(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		name, body string
		check      func(t *testing.T, req topics.TrainRequest)
	}{
		{"original body", `{"store_id":1,"start_date":"2013-01-01","end_date":"2015-06-19"}`, func(t *testing.T, req topics.TrainRequest) {
			if req.Store != 1 || req.StartDate == nil || req.StartDate.String() != "2013-01-01" || req.EndDate.String() != "2015-06-19" {
				t.Errorf("emitted %+v", req)
			}
		}},
		{"whole chain, all data", `{}`, func(t *testing.T, req topics.TrainRequest) {
			if req.Store != 0 || req.StartDate != nil || req.EndDate != nil {
				t.Errorf("emitted %+v", req)
			}
		}},
		{"params pass through", `{"params":{"max_depth":"8"}}`, func(t *testing.T, req topics.TrainRequest) {
			if req.Params["max_depth"] != "8" {
				t.Errorf("emitted %+v", req)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := accepted(t, h, h.do("t", "POST", "/train", c.body, "Authorization", bearer))
			if req.V != topics.TrainRequestVersion || req.RequestedBy == "" || req.At.IsZero() {
				t.Errorf("emitted %+v", req)
			}
			c.check(t, req)
		})
	}
}

// accepted checks that r is a 202 naming the request's status URL, that
// the request reads as pending until the trainer reports, and returns the
// request the API emitted.
func accepted(t *testing.T, h *harness, r resp) topics.TrainRequest {
	t.Helper()
	if r.Code != http.StatusAccepted {
		t.Fatalf("status %d, want 202: %s", r.Code, r.body)
	}
	id, _ := r.json(t)["request_id"].(string)
	if r.Header().Get("Location") != "/train/"+id {
		t.Errorf("Location %q, want /train/%s", r.Header().Get("Location"), id)
	}
	h.emitter.mu.Lock()
	req := h.emitter.reqs[len(h.emitter.reqs)-1]
	h.emitter.mu.Unlock()
	if req.ID != id {
		t.Errorf("emitted %+v for id %s", req, id)
	}
	if st := h.do("t", "GET", "/train/"+id, "").json(t)["status"]; st != "pending" {
		t.Errorf("status %v, want pending", st)
	}
	return req
}

func TestTrainAPI200(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.tracker.Observe(&topics.TrainResult{V: 1, ID: "done", Status: topics.TrainSucceeded, RunID: "r1", ModelName: "storecast-sales",
		Version: "4", Promoted: true, Metrics: map[string]float64{"rmspe": 0.11}, Rows: 800_000, At: time.Now()})
	r := h.do("t", "GET", "/train/done", "")
	if r.Code != http.StatusOK {
		t.Fatalf("status %d: %s", r.Code, r.body)
	}
	if v := r.json(t); v["status"] != "succeeded" || v["model_version"] != "4" || v["promoted"] != true || v["rows"] != 800_000.0 {
		t.Errorf("got %v", v)
	}

	// wait returns as soon as the request finishes.
	id := h.do("t", "POST", "/train", `{}`, "Authorization", bearer).json(t)["request_id"].(string)
	h.tracker.Observe(&topics.TrainResult{V: 1, ID: id, Status: topics.TrainRunning, At: time.Now()})
	var wg sync.WaitGroup
	var got resp
	wg.Go(func() { got = h.do("t", "GET", "/train/"+id+"?wait=5m", "") })
	h.tracker.Observe(&topics.TrainResult{V: 1, ID: id, Status: topics.TrainFailed, Reason: "no examples in range", At: time.Now()})
	wg.Wait()
	if v := got.json(t); v["status"] != "failed" || v["reason"] != "no examples in range" {
		t.Errorf("waited for %v", v)
	}

	// wait gives up with the latest status when the time is up.
	id = h.do("t", "POST", "/train", `{}`, "Authorization", bearer).json(t)["request_id"].(string)
	if v := h.do("t", "GET", "/train/"+id+"?wait=10ms", "").json(t); v["status"] != "pending" {
		t.Errorf("after a short wait: %v", v)
	}
	for _, target := range []string{"/health", "/ready", "/openapi.json", "/docs", "/metrics"} {
		if r := h.do("t", "GET", target, ""); r.Code != http.StatusOK {
			t.Errorf("GET %s: status %d", target, r.Code)
		}
	}
}

func TestTrainAPI400(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct{ name, method, target, body, field string }{
		{"malformed", "POST", "/train", `{"store_id":`, ""},
		{"store_id of the wrong type", "POST", "/train", `{"store_id":"one"}`, "store_id"},
		{"store_id zero", "POST", "/train", `{"store_id":0}`, "store_id"},
		{"bad start_date", "POST", "/train", `{"start_date":"2013-13-01"}`, "start_date"},
		{"end before start", "POST", "/train", `{"start_date":"2015-01-01","end_date":"2014-01-01"}`, "end_date"},
		{"store_id null", "POST", "/train", `{"store_id":null}`, "store_id"},
		{"params null", "POST", "/train", `{"params":null}`, "params"},
		{"a params value null", "POST", "/train", `{"params":{"eta":"0.1","max_depth":null}}`, "params.max_depth"},
		{"end_date null", "POST", "/train", `{"end_date":null}`, "end_date"},
		{"wait not a duration", "GET", "/train/x?wait=soon", "", "wait"},
		{"wait too long", "GET", "/train/x?wait=2h", "", "wait"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.tracker.Expect("x")
			r := h.do("t", c.method, c.target, c.body, "Authorization", bearer)
			if r.Code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", r.Code, r.body)
			}
			if f, _ := r.json(t)["field"].(string); f != c.field {
				t.Errorf("field %q, want %q", f, c.field)
			}
		})
	}
}

func TestTrainAPI401(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Basic czNjcmV0"} {
		r := h.do("t", "POST", "/train", `{}`, "Authorization", auth)
		if r.Code != http.StatusUnauthorized {
			t.Errorf("Authorization %q: status %d, want 401", auth, r.Code)
		}
		if r.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("Authorization %q: no WWW-Authenticate", auth)
		}
	}
	if len(h.emitter.reqs) != 0 {
		t.Errorf("unauthorized requests were emitted: %v", h.emitter.reqs)
	}
}

func TestTrainAPI404(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, target := range []string{"/train/never-requested", "/train/never-requested?wait=1s", "/predict"} {
		method := "GET"
		if target == "/predict" {
			method = "POST"
		}
		if r := h.do("t", method, target, ""); r.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404: %s", method, target, r.Code, r.body)
		}
	}
}

func TestTrainAPI503(t *testing.T) {
	t.Parallel()
	t.Run("token not configured: never open", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, func(_ *harness, _ *ForecastConfig, tc *TrainConfig) { tc.Token = "" })
		for _, auth := range []string{"", "Bearer "} {
			r := h.do("t", "POST", "/train", `{}`, "Authorization", auth)
			if r.Code != http.StatusServiceUnavailable || r.json(t)["type"] != typeTokenNotConfigued {
				t.Errorf("Authorization %q: status %d: %s", auth, r.Code, r.body)
			}
		}
	})
	t.Run("kafka refuses the request", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t)
		h.emitter.err = errors.New("kafka: client has run out of available brokers")
		r := h.do("t", "POST", "/train", `{}`, "Authorization", bearer)
		if r.Code != http.StatusServiceUnavailable || r.json(t)["type"] != typeUnavailable {
			t.Errorf("status %d, want 503: %s", r.Code, r.body)
		}
	})
}
