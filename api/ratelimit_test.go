package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"testing"

	"github.com/storecast/storecast/internal/testkit"
)

// doFrom serves one request from the TCP peer addr (with an optional
// X-Forwarded-For) and validates the answer against the spec.
func (h *harness) doFrom(server, addr, xff, method, target string) resp {
	h.t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = addr
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return h.serve(server, req, "")
}

// untilLimited sends requests from addr until the first 429 (at most
// 10,000) and returns how many were answered before it, failing when none
// was refused. At 5 per second the limit is reached within the first
// second on any machine, so the count is exact: the sliding window never
// refuses below the limit.
func (h *harness) untilLimited(server, addr, xff, target string) (int, resp) {
	h.t.Helper()
	for n := range 10_000 {
		r := h.doFrom(server, addr, xff, http.MethodGet, target)
		switch r.Code {
		case http.StatusOK:
		case http.StatusTooManyRequests:
			return n, r
		default:
			h.t.Fatalf("GET %s from %s → %d %s", target, addr, r.Code, r.body)
		}
	}
	h.t.Fatalf("10,000 requests from %s and none refused", addr)
	return 0, resp{}
}

func TestRateLimit(t *testing.T) {
	const perSecond = 5
	limit := RateLimit{
		PerSecond:      perSecond,
		Exempt:         []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}
	h := newHarness(t, func(_ *harness, fc *ForecastConfig, tc *TrainConfig) { fc.RateLimit, tc.RateLimit = limit, limit })

	t.Run("429 problem with Retry-After past the limit", func(t *testing.T) {
		n, r := h.untilLimited("f", "192.0.2.1:1234", "", "/model/info")
		if n < perSecond {
			t.Errorf("refused after %d requests, want at least %d", n, perSecond)
		}
		p := r.json(t)
		if p["type"] != "urn:storecast:problem:rate-limited" || p["status"] != float64(429) {
			t.Errorf("problem = %v", p)
		}
		if got := r.Header().Get("Retry-After"); got != "1" {
			t.Errorf("Retry-After = %q, want 1", got)
		}
		if got := testkit.Metric(t, h.reg, "storecast_api_rate_limited_total", "server", "forecast"); got != 1 {
			t.Errorf("rate_limited_total{forecast} = %v, want 1", got)
		}
	})
	t.Run("probes and scrapes are never limited", func(t *testing.T) {
		for _, path := range []string{"/health", "/ready", "/metrics"} {
			if r := h.doFrom("f", "192.0.2.1:1234", "", http.MethodGet, path); r.Code != http.StatusOK {
				t.Errorf("GET %s from a limited client → %d, want 200", path, r.Code)
			}
		}
	})
	t.Run("each client has its own limit", func(t *testing.T) {
		if r := h.doFrom("f", "192.0.2.2:1234", "", http.MethodGet, "/model/info"); r.Code != http.StatusOK {
			t.Errorf("another client → %d, want 200", r.Code)
		}
	})
	t.Run("each listener has its own limit", func(t *testing.T) {
		if r := h.doFrom("t", "192.0.2.1:1234", "", http.MethodGet, "/train/unknown"); r.Code != http.StatusNotFound {
			t.Errorf("training API for a client limited on the forecast API → %d, want 404", r.Code)
		}
	})
	t.Run("exempt networks are never limited", func(t *testing.T) {
		for i := range 20 * perSecond {
			if r := h.doFrom("f", "127.0.0.1:5555", "", http.MethodGet, "/model/info"); r.Code != http.StatusOK {
				t.Fatalf("request %d from loopback → %d, want 200", i, r.Code)
			}
		}
	})
	t.Run("behind a trusted proxy the forwarded client is the key", func(t *testing.T) {
		n, _ := h.untilLimited("f", "10.0.0.9:80", "198.51.100.7", "/model/info")
		if n < perSecond {
			t.Errorf("refused after %d requests, want at least %d", n, perSecond)
		}
		if r := h.doFrom("f", "10.0.0.9:80", "198.51.100.8", http.MethodGet, "/model/info"); r.Code != http.StatusOK {
			t.Errorf("another client through the same proxy → %d, want 200", r.Code)
		}
	})
	t.Run("an untrusted peer cannot choose its key", func(t *testing.T) {
		// 192.0.2.1 is limited (above); a forwarded header does not help.
		if r := h.doFrom("f", "192.0.2.1:1234", "198.51.100.99", http.MethodGet, "/model/info"); r.Code != http.StatusTooManyRequests {
			t.Errorf("limited client with its own X-Forwarded-For → %d, want 429", r.Code)
		}
	})
}

func TestRateLimitOff(t *testing.T) {
	h := newHarness(t) // zero RateLimit
	for i := range 200 {
		if r := h.doFrom("f", "192.0.2.1:1234", "", http.MethodGet, "/model/info"); r.Code != http.StatusOK {
			t.Fatalf("request %d → %d without a limit", i, r.Code)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name    string
		in      []string
		want    []string
		wantErr bool
	}{
		{"loopback default", []string{"127.0.0.0/8", "::1/128"}, []string{"127.0.0.0/8", "::1/128"}, false},
		{"empty flag", []string{""}, nil, false},
		{"single address", []string{"10.1.2.3"}, []string{"10.1.2.3/32"}, false},
		{"host bits masked", []string{"10.1.2.3/8"}, []string{"10.0.0.0/8"}, false},
		{"garbage", []string{"10.0.0.0/8", "nope"}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			var s []string
			for _, p := range got {
				s = append(s, p.String())
			}
			if !slices.Equal(s, tt.want) {
				t.Errorf("got %v, want %v", s, tt.want)
			}
		})
	}
}

func TestExempt(t *testing.T) {
	nets, _ := ParsePrefixes([]string{"127.0.0.0/8", "::1/128"})
	tests := []struct {
		ip   string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true}, // v4 on a dual-stack listener
		{"192.0.2.1", false},
		{"::2", false},
	}
	for _, tt := range tests {
		if got := exempt(netip.MustParseAddr(tt.ip), nets); got != tt.want {
			t.Errorf("exempt(%s) = %v, want %v", tt.ip, got, tt.want)
		}
	}
	if exempt(netip.Addr{}, nets) {
		t.Error("an unknown client is exempt")
	}
}
