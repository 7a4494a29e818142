package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/storecast/storecast/forecasting"
	"github.com/storecast/storecast/model"
	"github.com/storecast/storecast/publish"
	"github.com/storecast/storecast/topics"
)

// Sentinel errors the handlers return; problemFor maps them, and those of
// the forecasting core (forecasting.ErrNotReady, model.ErrNoModel) and the
// forecast log (publish.ErrQueueFull), wrapped or not, to HTTP statuses in
// one place.
var (
	// ErrNotFound means the addressed resource does not exist.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized means a mutating request lacks a valid bearer token.
	ErrUnauthorized = errors.New("a valid bearer token is required")
	// ErrTokenNotConfigured means mutating endpoints are disabled because
	// no API token is configured.
	ErrTokenNotConfigured = errors.New("mutating endpoints are disabled: STORECAST_API_TOKEN is not configured")
	// ErrTooLarge means the body or the requested work is too large.
	ErrTooLarge = errors.New("request too large")
	// ErrUnsupportedMediaType means the body is not JSON.
	ErrUnsupportedMediaType = errors.New("the body must be application/json")
	// ErrUnavailable means a dependency cannot take the request now.
	ErrUnavailable = errors.New("temporarily unavailable")
)

// MalformedError says the body is not valid JSON of the expected shape.
type MalformedError struct {
	// Field names the offending field when the decoder knows it.
	Field string
	Err   error
}

func (e *MalformedError) Error() string {
	if e.Field != "" {
		return "malformed JSON at " + e.Field + ": " + e.Err.Error()
	}
	return "malformed JSON: " + e.Err.Error()
}

func (e *MalformedError) Unwrap() error { return e.Err }

// Problem types (see the table in openapi.yaml).
const (
	problemPrefix         = "urn:storecast:problem:"
	typeMalformed         = problemPrefix + "malformed-json"
	typeInvalidField      = problemPrefix + "invalid-field"
	typeUnauthorized      = problemPrefix + "unauthorized"
	typeNotFound          = problemPrefix + "not-found"
	typeMethodNotAllowed  = problemPrefix + "method-not-allowed"
	typeTooLarge          = problemPrefix + "too-large"
	typeUnsupportedMedia  = problemPrefix + "unsupported-media-type"
	typeInternal          = problemPrefix + "internal"
	typeNoModel           = problemPrefix + "no-model"
	typeStaleStore        = problemPrefix + "stale-store"
	typeNotReady          = problemPrefix + "not-ready"
	typeTokenNotConfigued = problemPrefix + "token-not-configured"
	typeUnavailable       = problemPrefix + "unavailable"
	typeForecastLogFull   = problemPrefix + "forecast-log-full"
	typeRateLimited       = problemPrefix + "rate-limited"
)

// Problem is an RFC 9457 problem body (application/problem+json).
type Problem struct {
	Type   string   `json:"type"`
	Title  string   `json:"title"`
	Status int      `json:"status"`
	Detail string   `json:"detail"`
	Field  string   `json:"field,omitempty"`
	Fields []string `json:"fields,omitempty"`
}

// problemFor maps err to a problem: the one place where errors become
// HTTP statuses. Unknown errors are internal: their text is logged, never
// sent (it may carry details a client must not see).
func problemFor(err error) Problem {
	var (
		malformed *MalformedError
		fieldErr  *topics.FieldError
	)
	switch {
	case errors.As(err, &malformed):
		return Problem{Type: typeMalformed, Title: "Malformed JSON", Status: http.StatusBadRequest, Detail: malformed.Error(), Field: malformed.Field}
	case errors.Is(err, ErrTooLarge):
		return Problem{Type: typeTooLarge, Title: "Request too large", Status: http.StatusRequestEntityTooLarge, Detail: err.Error(), Field: firstField(err)}
	case errors.Is(err, topics.ErrUnknownStore) || errors.Is(err, ErrNotFound):
		return Problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound, Detail: topics.Reason(err), Field: firstField(err)}
	case errors.Is(err, forecasting.ErrStaleStore):
		return Problem{Type: typeStaleStore, Title: "Store history stale", Status: http.StatusUnprocessableEntity, Detail: topics.Reason(err), Field: firstField(err)}
	case errors.As(err, &fieldErr):
		p := Problem{Type: typeInvalidField, Title: "Invalid field", Status: http.StatusBadRequest, Detail: topics.Reason(err)}
		fields := topics.Fields(err)
		p.Field = fields[0]
		if len(fields) > 1 {
			p.Fields = fields
		}
		return p
	case errors.Is(err, ErrUnsupportedMediaType):
		return Problem{Type: typeUnsupportedMedia, Title: "Unsupported media type", Status: http.StatusUnsupportedMediaType, Detail: err.Error()}
	case errors.Is(err, ErrUnauthorized):
		return Problem{Type: typeUnauthorized, Title: "Unauthorized", Status: http.StatusUnauthorized, Detail: err.Error()}
	case errors.Is(err, ErrTokenNotConfigured):
		return Problem{Type: typeTokenNotConfigued, Title: "Token not configured", Status: http.StatusServiceUnavailable, Detail: err.Error()}
	case errors.Is(err, model.ErrNoModel):
		return Problem{Type: typeNoModel, Title: "No model", Status: http.StatusServiceUnavailable, Detail: err.Error()}
	case errors.Is(err, forecasting.ErrNotReady):
		return Problem{Type: typeNotReady, Title: "Not ready", Status: http.StatusServiceUnavailable, Detail: err.Error()}
	case errors.Is(err, publish.ErrQueueFull):
		return Problem{Type: typeForecastLogFull, Title: "Forecast log full", Status: http.StatusServiceUnavailable, Detail: err.Error()}
	case errors.Is(err, ErrUnavailable):
		return Problem{Type: typeUnavailable, Title: "Unavailable", Status: http.StatusServiceUnavailable, Detail: err.Error()}
	default:
		return Problem{Type: typeInternal, Title: "Internal error", Status: http.StatusInternalServerError, Detail: "internal error; the server log has the details"}
	}
}

func firstField(err error) string {
	if f := topics.Fields(err); len(f) > 0 {
		return f[0]
	}
	return ""
}

// writeProblem writes p as application/problem+json.
func writeProblem(w http.ResponseWriter, p Problem) {
	b, err := json.Marshal(p)
	if err != nil { // cannot happen: Problem has only strings and ints
		b = []byte(`{"type":"` + typeInternal + `","title":"Internal error","status":500,"detail":"encode problem"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	switch p.Status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="storecast"`)
	case http.StatusServiceUnavailable:
		h.Set("Retry-After", "5")
	}
	w.WriteHeader(p.Status)
	_, _ = w.Write(b)
}

// errorWriter writes errors as problems, logging internal ones.
type errorWriter struct{ log *slog.Logger }

func (e errorWriter) write(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	if p.Status >= 500 && p.Type == typeInternal {
		e.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeProblem(w, p)
}

// paramError is what the generated router passes for a bad path or query
// parameter; it becomes a 400 naming the parameter.
func (e errorWriter) param(w http.ResponseWriter, r *http.Request, err error) {
	e.write(w, r, &topics.FieldError{Field: paramName(err), Reason: err.Error()})
}

// paramName returns the ParamName field of the generated parameter errors
// (InvalidParamFormatError, RequiredParamError, ... in each generated
// package), or "" for any other error.
func paramName(err error) string {
	v := reflect.ValueOf(err)
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return ""
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return ""
	}
	if f := v.FieldByName("ParamName"); f.IsValid() && f.Kind() == reflect.String {
		return f.String()
	}
	return ""
}

// notFound answers unknown routes.
func (e errorWriter) notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, Problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound,
		Detail: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path)})
}

// allowMethods are the methods an Allow header may list.
var allowMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions}

// methodNotAllowed answers known routes asked with another method, with
// the Allow header RFC 9110 requires on a 405 (chi sets it only in its own
// handler, which this one replaces).
func (e errorWriter) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.Routes != nil {
		var allowed []string
		for _, m := range allowMethods {
			if rctx.Routes.Match(chi.NewRouteContext(), m, r.URL.Path) {
				allowed = append(allowed, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
	}
	writeProblem(w, Problem{Type: typeMethodNotAllowed, Title: "Method not allowed", Status: http.StatusMethodNotAllowed,
		Detail: fmt.Sprintf("%s is not allowed on %s", r.Method, r.URL.Path)})
}
