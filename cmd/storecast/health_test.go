package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCheckHealth(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(http.StatusOK)
		case "/slow":
			<-r.Context().Done()
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	t.Cleanup(srv.Close)
	cases := []struct {
		name, path string
		ok         bool
	}{
		{"2xx is healthy", "/ok", true},
		{"503 is not", "/ready", false},
		{"a timeout is not", "/slow", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := checkHealth(t.Context(), srv.Client(), srv.URL+c.path, 200*time.Millisecond)
			if (err == nil) != c.ok {
				t.Errorf("checkHealth(%s) = %v, want ok=%v", c.path, err, c.ok)
			}
		})
	}
	if err := checkHealth(t.Context(), srv.Client(), "http://127.0.0.1:1/", time.Second); err == nil {
		t.Error("nothing listening: want an error")
	}
}
