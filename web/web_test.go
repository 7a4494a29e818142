package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func newTestHandler(t *testing.T, forecast, train string) http.Handler {
	t.Helper()
	h, err := NewHandler(Config{ForecastAddr: forecast, TrainAddr: train})
	if err != nil {
		t.Fatalf("NewHandler: %v", err)
	}
	return h
}

func TestHandlerRoutes(t *testing.T) {
	t.Parallel()
	h := newTestHandler(t, "127.0.0.1:4242", "127.0.0.1:4243")
	tests := []struct {
		name, method, path string
		status             int
		bodyHas            string
	}{
		{"index", http.MethodGet, "/", http.StatusOK, "Storecast"},
		{"client-side route falls back to index", http.MethodGet, "/stores/1", http.StatusOK, "<html"},
		{"missing asset is 404, not index", http.MethodGet, "/assets/nope.js", http.StatusNotFound, ""},
		{"missing file with extension is 404", http.MethodGet, "/favicon.ico", http.StatusNotFound, ""},
		{"dot files are not served", http.MethodGet, "/.vite/manifest.json", http.StatusNotFound, ""},
		{"health", http.MethodGet, "/health", http.StatusOK, `"ok"`},
		{"config", http.MethodGet, "/config.json", http.StatusOK, "forecast_api"},
		{"no writes", http.MethodPost, "/", http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("%s %s: got %d, want %d", tc.method, tc.path, rec.Code, tc.status)
			}
			if !strings.Contains(rec.Body.String(), tc.bodyHas) {
				t.Fatalf("%s %s: body %q lacks %q", tc.method, tc.path, rec.Body.String(), tc.bodyHas)
			}
			if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Fatalf("X-Content-Type-Options = %q", got)
			}
		})
	}
}

func TestConfigURLs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, forecast, host, want string
	}{
		{"loopback address as is", "127.0.0.1:4242", "127.0.0.1:8000", "http://127.0.0.1:4242"},
		{"unspecified host becomes the dashboard's host", "0.0.0.0:4242", "example.test:8000", "http://example.test:4242"},
		{"empty host too", ":4242", "localhost:8000", "http://localhost:4242"},
		{"IPv6 loopback", "[::1]:4242", "[::1]:8000", "http://[::1]:4242"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newTestHandler(t, tc.forecast, "127.0.0.1:4243")
			req := httptest.NewRequest(http.MethodGet, "/config.json", nil)
			req.Host = tc.host
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			var got map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode %q: %v", rec.Body.String(), err)
			}
			if got["forecast_api"] != tc.want {
				t.Fatalf("forecast_api = %q, want %q", got["forecast_api"], tc.want)
			}
		})
	}
}

func TestNewHandlerRefusesBadAddresses(t *testing.T) {
	t.Parallel()
	for _, c := range []Config{{}, {ForecastAddr: "nohostport", TrainAddr: "127.0.0.1:1"}} {
		if _, err := NewHandler(c); err == nil {
			t.Fatalf("NewHandler(%+v): no error", c)
		}
	}
}

func TestOrigins(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr string
		want []string
	}{
		{"127.0.0.1:8000", []string{"http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000"}},
		{"10.0.0.5:8000", []string{"http://10.0.0.5:8000"}},
		{"", nil},
	}
	for _, tc := range tests {
		got := Origins(tc.addr)
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("Origins(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestCORS(t *testing.T) {
	t.Parallel()
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := CORS([]string{"http://127.0.0.1:8000"}, next)
	tests := []struct {
		name, method, origin, reqMethod string
		status                          int
		allowOrigin                     string
	}{
		{"no origin passes unchanged", http.MethodPost, "", "", http.StatusTeapot, ""},
		{"dashboard origin is allowed", http.MethodGet, "http://127.0.0.1:8000", "", http.StatusTeapot, "http://127.0.0.1:8000"},
		{"other origin gets no allow header", http.MethodGet, "http://evil.test", "", http.StatusTeapot, ""},
		{"preflight from the dashboard", http.MethodOptions, "http://127.0.0.1:8000", "POST", http.StatusNoContent, "http://127.0.0.1:8000"},
		{"preflight from another origin is refused", http.MethodOptions, "http://evil.test", "POST", http.StatusForbidden, ""},
		{"OPTIONS without preflight header reaches the handler", http.MethodOptions, "http://127.0.0.1:8000", "", http.StatusTeapot, "http://127.0.0.1:8000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest(tc.method, "/train", nil)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			if tc.reqMethod != "" {
				req.Header.Set("Access-Control-Request-Method", tc.reqMethod)
				req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if got := rec.Header().Get("Access-Control-Allow-Origin"); got != tc.allowOrigin {
				t.Fatalf("Access-Control-Allow-Origin = %q, want %q", got, tc.allowOrigin)
			}
			if tc.status == http.StatusNoContent && !strings.Contains(rec.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Fatalf("preflight does not allow Authorization: %q", rec.Header().Get("Access-Control-Allow-Headers"))
			}
		})
	}
}
