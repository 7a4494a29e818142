package model

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/storecast/storecast/topics"
)

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
		if err != nil && !errors.Is(err, ErrFetch) {
			t.Errorf("%q: %v does not wrap ErrFetch", c.uri, err)
		}
	}
}

func TestMLflowArtifactsFetch(t *testing.T) {
	t.Parallel()
	srv := artifactServer(t, tinyModel, 0)
	slow := artifactServer(t, tinyModel, 5*time.Second)
	cases := []struct {
		name    string
		f       *MLflowArtifacts
		uri     string
		limit   int64
		wantErr string
	}{
		{"fetched", &MLflowArtifacts{TrackingURI: srv.URL}, "runs:/r1/export/model.txt", 1 << 20, ""},
		{"missing", &MLflowArtifacts{TrackingURI: srv.URL}, "runs:/r2/export/model.txt", 1 << 20, "404"},
		{"over the limit", &MLflowArtifacts{TrackingURI: srv.URL}, "runs:/r1/export/model.txt", 10, "exceeds the limit"},
		{"timeout", &MLflowArtifacts{TrackingURI: slow.URL, Timeout: 50 * time.Millisecond}, "runs:/r1/export/model.txt", 1 << 20, "deadline"},
		{"no server", &MLflowArtifacts{}, "runs:/r1/export/model.txt", 1 << 20, "no MLflow tracking URI"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b, err := c.f.Fetch(context.Background(), c.uri, c.limit)
			if c.wantErr == "" {
				if err != nil || string(b) != tinyModel {
					t.Fatalf("fetch: %d bytes, %v", len(b), err)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrFetch) || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("err %v, want ErrFetch containing %q", err, c.wantErr)
			}
		})
	}
}

// TestRegistryFetchesByURI: an event naming its artifact by URI is fetched
// and verified like an inline one; a failed fetch or a corrupt artifact
// keeps the previous model serving, and Latest says why.
func TestRegistryFetchesByURI(t *testing.T) {
	t.Parallel()
	srv := artifactServer(t, tinyModel, 0)
	corrupt := artifactServer(t, strings.Replace(tinyModel, "leaf_value=", "leaf_value=9", 1), 0)
	byURI := func(version string) *topics.ModelEvent {
		ev := tinyEvent(GlobalModelName, version, tinyModel)
		ev.Artifact, ev.ArtifactURI = nil, "runs:/r1/export/model.txt"
		return ev
	}
	ctx := context.Background()
	r := NewRegistry(tinyNames, nil, nil, WithFetcher(&MLflowArtifacts{TrackingURI: srv.URL}))
	if err := r.Offer(ctx, byURI("1")); err != nil {
		t.Fatalf("fetched model refused: %v", err)
	}
	m, _ := r.Get(GlobalModelName)
	if md := m.Meta(); md.Source != SourceFetched || md.Size != len(tinyModel) || md.ArtifactURI == "" {
		t.Fatalf("meta source %q size %d uri %q", md.Source, md.Size, md.ArtifactURI)
	}
	if o, _ := r.Latest(GlobalModelName); o.Version != "1" || o.Err != nil {
		t.Fatalf("latest %+v", o)
	}

	down := NewRegistry(tinyNames, nil, nil, WithFetcher(&MLflowArtifacts{TrackingURI: "http://127.0.0.1:1"}))
	bad := NewRegistry(tinyNames, nil, nil, WithFetcher(&MLflowArtifacts{TrackingURI: corrupt.URL}))
	none := NewRegistry(tinyNames, nil, nil)
	for _, c := range []struct {
		name string
		r    *Registry
		want error
	}{{"server down", down, ErrFetch}, {"corrupt artifact", bad, ErrChecksum}, {"no fetcher", none, ErrFetch}} {
		if err := c.r.Offer(ctx, tinyEvent(GlobalModelName, "1", tinyModel)); err != nil {
			t.Fatalf("%s: inline model: %v", c.name, err)
		}
		if err := c.r.Offer(ctx, byURI("2")); !errors.Is(err, c.want) {
			t.Errorf("%s: err %v, want %v", c.name, err, c.want)
		}
		if m, _ := c.r.Get(GlobalModelName); m == nil || m.Meta().Version != "1" || m.Meta().Source != SourceInline {
			t.Errorf("%s: the previous model does not serve", c.name)
		}
		if o, _ := c.r.Latest(GlobalModelName); o.Version != "2" || !errors.Is(o.Err, c.want) {
			t.Errorf("%s: latest %+v", c.name, o)
		}
	}
}
