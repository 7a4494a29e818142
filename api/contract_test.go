package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// contractCalls holds one valid request per operation of openapi.yaml.
// TestEveryRouteIsServed fails when an operation has none, so a route
// added to the spec must be served and covered here.
var contractCalls = map[string]struct {
	server, method, target, body string
	hdr                          []string
}{
	"predict":             {"f", "POST", "/predict", `{"store_id":1,"date":"2015-07-01","promo":1,"stateholiday":"0","schoolholiday":0}`, nil},
	"createForecasts":     {"f", "POST", "/v1/forecasts", `{"store_ids":[1,2],"start_date":"2015-06-20","end_date":"2015-07-31"}`, nil},
	"createForecastJob":   {"f", "POST", "/v1/forecast-jobs", `{"days":42}`, []string{"Authorization", bearer}},
	"getForecastJob":      {"f", "GET", "/v1/forecast-jobs/{id}", "", nil},
	"getModelInfo":        {"f", "GET", "/model/info", "", nil},
	"listStores":          {"f", "GET", "/v1/stores?type=a", "", nil},
	"getStore":            {"f", "GET", "/v1/stores/1", "", nil},
	"getStoreFeatures":    {"f", "GET", "/v1/stores/1/features?date=2015-07-01", "", nil},
	"requestTraining":     {"t", "POST", "/train", `{"store_id":1,"start_date":"2013-01-01","end_date":"2015-06-19"}`, []string{"Authorization", bearer}},
	"getTraining":         {"t", "GET", "/train/{id}", "", nil},
	"promoteModelVersion": {"t", "POST", "/v1/models/storecast-sales/versions/2/promote", "", []string{"Authorization", bearer}},
	"getHealth":           {"f", "GET", "/health", "", nil},
	"getReady":            {"f", "GET", "/ready", "", nil},
	"getMetrics":          {"f", "GET", "/metrics", "", nil},
	"getOpenAPI":          {"f", "GET", "/openapi.json", "", nil},
	"getDocs":             {"f", "GET", "/docs", "", nil},
	"listTopics":          {"f", "GET", "/v1/topics", "", nil},
	"listTopicMessages":   {"f", "GET", "/v1/topics/sale_rossman_store/messages?limit=5", "", nil},
	"listGroups":          {"f", "GET", "/v1/groups", "", nil},
	"listDeadLetters":     {"f", "GET", "/v1/dead-letters", "", nil},
	"getStoreSales":       {"f", "GET", "/v1/sales/1?from=2015-06-01", "", nil},
	"listModelVersions":   {"f", "GET", "/v1/models?limit=10", "", nil},
	"getAccuracy":         {"f", "GET", "/v1/accuracy?days=28", "", nil},
}

func TestEveryRouteIsServed(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withStores, withPipeline, withJobs(&fakeJobs{}), withRegistry(fakeRegistry{}))
	specRouter(t)
	for path, item := range specDoc.Paths.Map() {
		for method, op := range item.Operations() {
			t.Run(op.OperationID, func(t *testing.T) {
				call, ok := contractCalls[op.OperationID]
				if !ok {
					t.Fatalf("%s %s (%s) has no contract call", method, path, op.OperationID)
				}
				if call.method != method || !matchesPath(path, call.target) {
					t.Fatalf("contract call %s %s does not address %s %s", call.method, call.target, method, path)
				}
				if !servedBy(call.server, op) {
					t.Fatalf("%s is tagged %v, not served by listener %q", op.OperationID, op.Tags, call.server)
				}
				target := call.target
				if strings.Contains(target, "{id}") {
					id := h.do("t", "POST", "/train", `{}`, "Authorization", bearer).json(t)["request_id"].(string)
					target = strings.ReplaceAll(target, "{id}", id)
				}
				// h.do validates the response against the spec.
				r := h.do(call.server, call.method, target, call.body, call.hdr...)
				if r.Code >= 300 {
					t.Fatalf("status %d: %s", r.Code, r.body)
				}
				if _, documented := op.Responses.Map()[strconv.Itoa(r.Code)]; !documented {
					t.Errorf("status %d is not documented", r.Code)
				}
			})
		}
	}
	// The other listener does not serve a route.
	if r := h.do("t", "POST", "/predict", `{}`); r.Code != http.StatusNotFound {
		t.Errorf("the training API serves /predict: %d", r.Code)
	}
}

// matchesPath reports whether target addresses the templated spec path.
func matchesPath(path, target string) bool {
	target, _, _ = strings.Cut(target, "?")
	ps, ts := strings.Split(path, "/"), strings.Split(target, "/")
	if len(ps) != len(ts) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != ts[i] {
			return false
		}
	}
	return true
}

// TestValidatorCatchesDrift proves the response validation bites: a
// response missing a required key, or of an undocumented status, fails.
func TestValidatorCatchesDrift(t *testing.T) {
	t.Parallel()
	router := specRouter(t)
	cases := []struct {
		name   string
		status int
		ct     string
		body   string
	}{
		{"predicted_sales missing", 200, "application/json", `{"store_id":1,"date":"2015-07-01","model_version":"1","model_name":"m","as_of":"2015-06-19","horizon":12}`},
		{"horizon beyond 48", 200, "application/json", `{"store_id":1,"date":"2015-07-01","predicted_sales":1,"model_version":"1","model_name":"m","as_of":"2015-06-19","horizon":49}`},
		{"undocumented status", 418, "application/problem+json", `{"type":"x","title":"x","status":418,"detail":"x"}`},
		{"problem without detail", 400, "application/problem+json", `{"type":"x","title":"x","status":400}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/predict", strings.NewReader(`{}`))
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			hdr := http.Header{"Content-Type": []string{c.ct}}
			err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
				Status:                 c.status, Header: hdr, Body: io.NopCloser(bytes.NewReader([]byte(c.body))),
				Options: &openapi3filter.Options{IncludeResponseStatus: true},
			})
			if err == nil {
				t.Errorf("the validator accepted %s", c.body)
			}
		})
	}
}
