package api

import (
	"net/http"
	"testing"
)

// FuzzRequestBodies sends arbitrary bodies to every endpoint that decodes
// JSON, through the real router and handlers (fakes behind them): no body
// may make the API answer 5xx or crash, and every answer must conform to
// openapi.yaml (the harness checks status, content type and problem body).
func FuzzRequestBodies(f *testing.F) {
	for _, s := range []string{
		`{"store_id":1,"date":"2015-07-01","promo":1,"stateholiday":"0","schoolholiday":0}`,
		`{"store_ids":[1,2],"start_date":"2015-06-20","end_date":"2015-06-26","inputs":[{"date":"2015-06-22","promo":1},{"store_id":2,"date":"2015-06-23","open":0}]}`,
		`{"store_id":1,"start_date":"2013-01-01","end_date":"2015-06-19"}`,
		`{}`, `[]`, `null`, `{"store_id":-1,"date":"9999-99-99"}`, `{"store_ids":[1e309]}`,
		`{"date":"2015-07-01","store_id":1,"stateholiday":"\u0000"}`, `{"store_id":1,"store_id":2}`,
	} {
		for endpoint := range uint8(3) {
			f.Add(endpoint, []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		h := newHarness(t)
		var r resp
		switch endpoint % 3 {
		case 0:
			r = h.do("f", "POST", "/predict", string(body))
		case 1:
			r = h.do("f", "POST", "/v1/forecasts", string(body))
		default:
			r = h.do("t", "POST", "/train", string(body), "Authorization", bearer)
		}
		if r.Code >= http.StatusInternalServerError {
			t.Fatalf("endpoint %d, body %q: %d %s", endpoint%3, body, r.Code, r.body)
		}
	})
}

func TestMethodNotAllowedNamesAllowedMethods(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	cases := []struct {
		server, method, target, allow string
	}{
		{"f", "TRACE", "/predict", "POST"},
		{"f", "DELETE", "/model/info", "GET"},
		{"t", "PUT", "/train", "POST"},
	}
	for _, c := range cases {
		r := h.do(c.server, c.method, c.target, "")
		if r.Code != http.StatusMethodNotAllowed || r.Header().Get("Allow") != c.allow {
			t.Errorf("%s %s: %d Allow %q, want 405 Allow %q", c.method, c.target, r.Code, r.Header().Get("Allow"), c.allow)
		}
	}
}
