package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrFetch means a model's artifact could not be fetched from where its
// event points.
var ErrFetch = errors.New("artifact fetch failed")

// Fetcher fetches an artifact an event names by URI instead of carrying
// it (the trainer publishes large exports that way). Implementations must
// be safe for concurrent use and must not return more than limit bytes.
type Fetcher interface {
	Fetch(ctx context.Context, uri string, limit int64) ([]byte, error)
}

// DefaultFetchTimeout bounds one artifact fetch when the caller sets none.
const DefaultFetchTimeout = 2 * time.Minute

// MLflowArtifacts fetches runs:/RUN_ID/PATH artifacts from an MLflow
// tracking server that serves artifacts (mlflow server
// --serve-artifacts), over its HTTP endpoint GET /get-artifact. Limits: at
// most limit bytes (Registry passes MaxArtifactBytes), Timeout per fetch;
// the bytes are then verified exactly as an inline artifact (Load).
type MLflowArtifacts struct {
	// TrackingURI is the server's base URL, e.g. http://127.0.0.1:5050.
	TrackingURI string
	// Client is the HTTP client (nil: a client without a global timeout;
	// Timeout bounds each fetch).
	Client *http.Client
	// Timeout bounds one fetch (0: DefaultFetchTimeout).
	Timeout time.Duration
}

var _ Fetcher = (*MLflowArtifacts)(nil)

// ParseRunsURI splits runs:/RUN_ID/PATH into the run id and the artifact
// path.
func ParseRunsURI(uri string) (runID, path string, err error) {
	rest, ok := strings.CutPrefix(uri, "runs:/")
	if !ok {
		return "", "", fmt.Errorf("%w: uri %q is not runs:/RUN_ID/PATH", ErrFetch, uri)
	}
	runID, path, ok = strings.Cut(strings.TrimLeft(rest, "/"), "/")
	if !ok || runID == "" || path == "" || strings.Contains(path, "..") {
		return "", "", fmt.Errorf("%w: uri %q is not runs:/RUN_ID/PATH", ErrFetch, uri)
	}
	return runID, path, nil
}

// Fetch implements Fetcher.
func (m *MLflowArtifacts) Fetch(ctx context.Context, uri string, limit int64) ([]byte, error) {
	runID, path, err := ParseRunsURI(uri)
	if err != nil {
		return nil, err
	}
	if m.TrackingURI == "" {
		return nil, fmt.Errorf("%w: %s: no MLflow tracking URI configured", ErrFetch, uri)
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = DefaultFetchTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	u := strings.TrimRight(m.TrackingURI, "/") + "/get-artifact?" + url.Values{"run_uuid": {runID}, "path": {path}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFetch, uri, err)
	}
	client := m.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFetch, uri, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("%w: %s: %s from %s: %s", ErrFetch, uri, resp.Status, m.TrackingURI, strings.TrimSpace(string(msg)))
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s: %d bytes exceeds the limit of %d", ErrFetch, uri, resp.ContentLength, limit)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: after %d bytes: %w", ErrFetch, uri, len(b), err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%w: %s: more than the limit of %d bytes", ErrFetch, uri, limit)
	}
	return b, nil
}
