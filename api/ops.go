package api

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/swaggest/swgui/v5emb"
)

//go:embed openapi.yaml
var specYAML []byte

// SpecYAML returns api/openapi.yaml, the source of truth of both APIs.
func SpecYAML() []byte { return specYAML }

var specJSON = sync.OnceValues(func() ([]byte, error) {
	doc, err := LoadSpec()
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("marshal openapi: %w", err)
	}
	return b, nil
})

// LoadSpec parses and validates api/openapi.yaml.
func LoadSpec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(specYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("validate openapi: %w", err)
	}
	return doc, nil
}

// SpecJSON returns the OpenAPI document as JSON (what /openapi.json serves).
func SpecJSON() ([]byte, error) { return specJSON() }

// Check is one readiness check: Probe returns nil when the dependency is
// ready, else an error whose text /ready reports.
type Check struct {
	Name  string
	Probe func(ctx context.Context) error
}

// ops serves the routes both listeners share: /health, /ready, /metrics,
// /openapi.json and /docs.
type ops struct {
	server  string
	checks  []Check
	metrics http.Handler
	docs    http.Handler
	spec    []byte
	errs    errorWriter
}

func newOps(server string, checks []Check, g prometheus.Gatherer, log *slog.Logger) (ops, error) {
	spec, err := SpecJSON()
	if err != nil {
		return ops{}, err
	}
	return ops{
		server:  server,
		checks:  checks,
		metrics: promhttp.HandlerFor(g, promhttp.HandlerOpts{}),
		docs:    v5emb.New("Storecast API", "/openapi.json", "/docs/"),
		spec:    spec,
		errs:    errorWriter{log: log.With("server", server)},
	}, nil
}

// mountDocs serves Swagger UI's embedded assets under /docs/.
func (o ops) mountDocs(r chi.Router) {
	r.Get("/docs/*", o.docs.ServeHTTP)
}

// GetHealth implements GET /health: the process is alive.
func (o ops) GetHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSONBytes(w, http.StatusOK, []byte(`{"status":"ok"}`+"\n"))
}

type checkResult struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// GetReady implements GET /ready: every check passes.
func (o ops) GetReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	res := make([]checkResult, len(o.checks))
	var wg sync.WaitGroup
	for i, c := range o.checks {
		wg.Go(func() {
			res[i] = checkResult{Name: c.Name, OK: true}
			if err := c.Probe(ctx); err != nil {
				res[i].OK, res[i].Detail = false, err.Error()
			}
		})
	}
	wg.Wait()
	status, code := "ready", http.StatusOK
	for _, c := range res {
		if !c.OK {
			status, code = "not_ready", http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, struct {
		Status string        `json:"status"`
		Checks []checkResult `json:"checks"`
	}{status, res})
}

// GetMetrics implements GET /metrics.
func (o ops) GetMetrics(w http.ResponseWriter, r *http.Request) { o.metrics.ServeHTTP(w, r) }

// GetOpenAPI implements GET /openapi.json.
func (o ops) GetOpenAPI(w http.ResponseWriter, _ *http.Request) {
	writeJSONBytes(w, http.StatusOK, o.spec)
}

// GetDocs implements GET /docs: Swagger UI, from assets in the binary.
func (o ops) GetDocs(w http.ResponseWriter, r *http.Request) { o.docs.ServeHTTP(w, r) }

// writeJSON writes v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(w, problemFor(fmt.Errorf("encode response: %w", err)))
		return
	}
	writeJSONBytes(w, status, append(b, '\n'))
}

// jsonContentType is shared by every response (net/http never modifies it).
var jsonContentType = []string{"application/json"}

func writeJSONBytes(w http.ResponseWriter, status int, b []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// recoverer turns a handler panic into a 500 problem (logged with the
// panic value; never a stack trace in the response).
func recoverer(errs errorWriter) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
						panic(v)
					}
					errs.write(w, r, fmt.Errorf("panic: %v", v))
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// newRequestID returns 16 random hex digits.
func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
