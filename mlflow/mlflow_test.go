package mlflow

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeServer answers the three REST calls the Client makes, like MLflow 2/3.
func fakeServer(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/search", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Query().Get("filter"), "storecast-sales") {
			t.Errorf("filter %q", r.URL.Query().Get("filter"))
		}
		_, _ = w.Write([]byte(`{"model_versions":[
			{"name":"storecast-sales","version":"2","run_id":"r2","status":"READY","creation_timestamp":2000},
			{"name":"storecast-sales","version":"1","run_id":"r1","status":"READY","creation_timestamp":1000},
			{"name":"storecast-sales-store-7","version":"1","run_id":"r7","status":"READY","creation_timestamp":1500},
			{"name":"storecast-sales-sometest-ab12","version":"1","run_id":"rx","status":"READY","creation_timestamp":3000}]}`))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/get", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("name") == "storecast-sales" {
			_, _ = w.Write([]byte(`{"registered_model":{"name":"storecast-sales","aliases":[{"alias":"champion","version":"2"},{"alias":"challenger","version":"2"}]}}`))
			return
		}
		_, _ = w.Write([]byte(`{"registered_model":{"name":"x"}}`))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/runs/get", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("run_id") == "broken" {
			http.Error(w, `{"error_code":"INTERNAL_ERROR"}`, http.StatusInternalServerError)
			return
		}
		_, _ = w.Write([]byte(`{"run":{"data":{"metrics":[{"key":"val_rmspe","value":0.12}],
			"params":[{"key":"end_date","value":"2015-06-19"}],"tags":[{"key":"promotion","value":"first model"}]}}}`))
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

func TestVersions(t *testing.T) {
	t.Parallel()
	s := fakeServer(t)
	c, err := New(s.URL, "", s.Client())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := c.Versions(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range vs {
		got = append(got, v.Name+"/"+v.Version)
	}
	if want := "storecast-sales/2 storecast-sales-store-7/1 storecast-sales/1"; strings.Join(got, " ") != want {
		t.Fatalf("versions %v, want %s (newest first, other deployments' models left out)", got, want)
	}
	v := vs[0]
	if strings.Join(v.Aliases, ",") != "champion,challenger" || v.Metrics["val_rmspe"] != 0.12 || v.TrainedThrough != "2015-06-19" || v.Promotion != "first model" {
		t.Fatalf("version 2: %+v", v)
	}
	if len(vs[2].Aliases) != 0 {
		t.Fatalf("version 1 has aliases %v", vs[2].Aliases)
	}
	if lim, _ := c.Versions(context.Background(), 1); len(lim) != 1 {
		t.Fatalf("limit 1: %d versions", len(lim))
	}
}

func TestOurs(t *testing.T) {
	t.Parallel()
	prod, _ := New("http://127.0.0.1:5050", "", nil)
	test, _ := New("http://127.0.0.1:5050", "run-1", nil)
	tests := []struct {
		c    *Client
		name string
		want bool
	}{
		{prod, "storecast-sales", true},
		{prod, "storecast-sales-store-12", true},
		{prod, "storecast-sales-run-1", false},
		{prod, "other", false},
		{test, "storecast-sales-run-1", true},
		{test, "storecast-sales-store-3-run-1", true},
		{test, "storecast-sales", false},
	}
	for _, tc := range tests {
		if got := tc.c.Ours(tc.name); got != tc.want {
			t.Errorf("Ours(%q) with suffix %q = %v, want %v", tc.name, tc.c.suffix, got, tc.want)
		}
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	if _, err := New("", "", nil); err == nil {
		t.Fatal("New with no URL: no error")
	}
	c, _ := New("http://127.0.0.1:1", "", nil)
	if _, err := c.Versions(context.Background(), 5); err == nil {
		t.Fatal("Versions of a server that is down: no error")
	}
}
