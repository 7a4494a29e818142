package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/storecast/storecast/mlflow"
	"github.com/storecast/storecast/topics"
)

// fakeRegistry has storecast-sales versions 1..3; "down" makes it fail.
type fakeRegistry struct{ down bool }

func (fakeRegistry) Ours(name string) bool {
	return name == "storecast-sales" || name == "storecast-sales-store-7"
}

func (f fakeRegistry) Version(_ context.Context, name, version string) (mlflow.Version, error) {
	if f.down {
		return mlflow.Version{}, errors.New("mlflow: dial tcp 127.0.0.1:5050: connection refused")
	}
	if name == "storecast-sales" && (version == "1" || version == "2" || version == "3") {
		return mlflow.Version{Name: name, Version: version}, nil
	}
	return mlflow.Version{}, fmt.Errorf("mlflow: %s v%s: %w", name, version, mlflow.ErrNotFound)
}

func withRegistry(f ModelVersionLookup) func(*harness, *ForecastConfig, *TrainConfig) {
	return func(_ *harness, _ *ForecastConfig, tc *TrainConfig) { tc.Versions = f }
}

const promote2 = "/v1/models/storecast-sales/versions/2/promote"

func TestPromote202(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withRegistry(fakeRegistry{}))
	req := accepted(t, h, h.do("t", "POST", promote2, "", "Authorization", bearer))
	want := topics.TrainRequest{V: topics.TrainRequestActionVersion, ID: req.ID, RequestedBy: "api", Action: topics.ActionPromote,
		ModelName: "storecast-sales", ModelVersion: "2", At: req.At}
	if req.At.IsZero() || fmt.Sprint(req) != fmt.Sprint(want) {
		t.Errorf("emitted %+v, want %+v", req, want)
	}
}

func TestPromoteRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		registry ModelVersionLookup
		target   string
		auth     string
		status   int
		problem  string
		field    string
	}{
		{"no token", fakeRegistry{}, promote2, "", http.StatusUnauthorized, typeUnauthorized, ""},
		{"wrong token", fakeRegistry{}, promote2, "Bearer wrong", http.StatusUnauthorized, typeUnauthorized, ""},
		{"unknown version", fakeRegistry{}, "/v1/models/storecast-sales/versions/9/promote", bearer, http.StatusNotFound, typeNotFound, "version"},
		{"another deployment's model", fakeRegistry{}, "/v1/models/other-model/versions/1/promote", bearer, http.StatusNotFound, typeNotFound, "name"},
		{"a store model without the version", fakeRegistry{}, "/v1/models/storecast-sales-store-7/versions/1/promote", bearer, http.StatusNotFound, typeNotFound, "version"},
		{"not a version number", fakeRegistry{}, "/v1/models/storecast-sales/versions/latest/promote", bearer, http.StatusBadRequest, typeInvalidField, "version"},
		{"version zero", fakeRegistry{}, "/v1/models/storecast-sales/versions/0/promote", bearer, http.StatusBadRequest, typeInvalidField, "version"},
		{"registry down", fakeRegistry{down: true}, promote2, bearer, http.StatusServiceUnavailable, typeUnavailable, ""},
		{"no registry configured", nil, promote2, bearer, http.StatusServiceUnavailable, typeUnavailable, ""},
		{"GET", fakeRegistry{}, promote2, bearer, http.StatusMethodNotAllowed, typeMethodNotAllowed, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withRegistry(c.registry))
			method := "POST"
			if c.name == "GET" {
				method = "GET"
			}
			r := h.do("t", method, c.target, "", "Authorization", c.auth)
			if r.Code != c.status {
				t.Fatalf("status %d, want %d: %s", r.Code, c.status, r.body)
			}
			p := r.json(t)
			if p["type"] != c.problem {
				t.Errorf("problem %v, want %s", p["type"], c.problem)
			}
			if f, _ := p["field"].(string); f != c.field {
				t.Errorf("field %q, want %q (%s)", f, c.field, p["detail"])
			}
			h.emitter.mu.Lock()
			defer h.emitter.mu.Unlock()
			if len(h.emitter.reqs) != 0 {
				t.Errorf("a refused promotion was emitted: %+v", h.emitter.reqs)
			}
		})
	}
}
