package mlflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
	c, err := New(Config{TrackingURI: s.URL, HTTP: s.Client()})
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
	prod, _ := New(Config{TrackingURI: "http://127.0.0.1:5050"})
	test, _ := New(Config{TrackingURI: "http://127.0.0.1:5050", NamesSuffix: "run-1"})
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
	if _, err := New(Config{}); err == nil {
		t.Fatal("New with no URL: no error")
	}
	c, _ := New(Config{TrackingURI: "http://127.0.0.1:1"})
	if _, err := c.Versions(context.Background(), 5); err == nil {
		t.Fatal("Versions of a server that is down: no error")
	}
}

func TestVersionAndAlias(t *testing.T) {
	t.Parallel()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/2.0/mlflow/model-versions/get", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("version") != "2" {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Model Version (name=storecast-sales, version=9) not found"}`))
			return
		}
		_, _ = w.Write([]byte(`{"model_version":{"name":"storecast-sales","version":"2","run_id":"r2","status":"READY","creation_timestamp":2000}}`))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/get", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"registered_model":{"name":"storecast-sales","aliases":[{"alias":"previous","version":"2"}]}}`))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/runs/get", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"run":{"data":{"metrics":[{"key":"val_rmspe","value":0.12}]}}}`))
	})
	mux.HandleFunc("GET /api/2.0/mlflow/registered-models/alias", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("alias") {
		case "champion":
			_, _ = w.Write([]byte(`{"model_version":{"version":"3"}}`))
		case "broken":
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(`{"error_code":"INTERNAL_ERROR","message":"database is locked"}`))
		case "previous": // the registered model does not exist
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=x not found"}`))
		default: // MLflow 3 answers a missing alias so
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error_code":"INVALID_PARAMETER_VALUE","message":"Registered model alias challenger not found."}`))
		}
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	c, err := New(Config{TrackingURI: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	v, err := c.Version(ctx, "storecast-sales", "2")
	if err != nil || v.RunID != "r2" || v.Metrics["val_rmspe"] != 0.12 || strings.Join(v.Aliases, ",") != "previous" {
		t.Fatalf("version 2: %+v, %v", v, err)
	}
	for _, tc := range []struct{ name, version string }{{"storecast-sales", "9"}, {"someone-elses-model", "1"}} {
		if _, err := c.Version(ctx, tc.name, tc.version); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s v%s: err %v, want ErrNotFound", tc.name, tc.version, err)
		}
	}
	for _, tc := range []struct {
		alias, want string
		fails       bool
	}{{"champion", "3", false}, {"challenger", "", false}, {"previous", "", false}, {"broken", "", true}} {
		got, err := c.AliasVersion(ctx, "storecast-sales", tc.alias)
		if got != tc.want || (err != nil) != tc.fails {
			t.Errorf("alias %s: %q, %v; want %q (fails %v)", tc.alias, got, err, tc.want, tc.fails)
		}
		if tc.fails && !strings.Contains(fmt.Sprint(err), "database is locked") {
			t.Errorf("alias %s: error %v does not carry MLflow's message", tc.alias, err)
		}
	}
}

// artifactServer serves /get-artifact like MLflow: body for run "r1",
// path "export/model.txt"; 404 otherwise.
func artifactServer(t *testing.T, body string, delay time.Duration) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/get-artifact" || r.URL.Query().Get("run_uuid") != "r1" || r.URL.Query().Get("path") != "export/model.txt" {
			http.Error(w, "RESOURCE_DOES_NOT_EXIST", http.StatusNotFound)
			return
		}
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestParseRunsURI(t *testing.T) {
	t.Parallel()
	cases := []struct {
		uri, run, path string
		ok             bool
	}{
		{"runs:/abc/export/model.txt", "abc", "export/model.txt", true},
		{"runs:///abc/model.txt", "abc", "model.txt", true},
		{"runs:/abc", "", "", false},
		{"runs:/abc/../x", "", "", false},
		{"s3://bucket/model.txt", "", "", false},
		{"", "", "", false},
	}
	for _, c := range cases {
		run, path, err := ParseRunsURI(c.uri)
		if (err == nil) != c.ok || run != c.run || path != c.path {
			t.Errorf("%q: %q %q %v", c.uri, run, path, err)
		}
	}
}

func TestFetch(t *testing.T) {
	t.Parallel()
	const body = "tree\nversion=v3\n"
	srv := artifactServer(t, body, 0)
	slow := artifactServer(t, body, 5*time.Second)
	client := func(u string, timeout time.Duration) *Client {
		c, err := New(Config{TrackingURI: u, FetchTimeout: timeout})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name    string
		c       *Client
		uri     string
		limit   int64
		wantErr string
	}{
		{"fetched", client(srv.URL, 0), "runs:/r1/export/model.txt", 1 << 20, ""},
		{"missing", client(srv.URL, 0), "runs:/r2/export/model.txt", 1 << 20, "404"},
		{"over the limit", client(srv.URL, 0), "runs:/r1/export/model.txt", 10, "exceeds the limit"},
		{"timeout", client(slow.URL, 50*time.Millisecond), "runs:/r1/export/model.txt", 1 << 20, "deadline"},
		{"server down", client("http://127.0.0.1:1", 0), "runs:/r1/export/model.txt", 1 << 20, "refused"},
		{"not a runs uri", client(srv.URL, 0), "s3://b/model.txt", 1 << 20, "not runs:/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := c.c.Fetch(context.Background(), c.uri, c.limit)
			if c.wantErr == "" {
				if err != nil || string(b) != body {
					t.Fatalf("fetch: %d bytes, %v", len(b), err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}
