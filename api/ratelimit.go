package api

import (
	"fmt"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/httprate"
	"github.com/prometheus/client_golang/prometheus"
)

// RateLimit configures the per-client request limit of one API listener.
// The zero value limits nothing.
type RateLimit struct {
	// PerSecond is the most requests one client may make per second
	// (httprate's sliding one-second window); 0 disables the limit. A
	// request beyond it gets 429 urn:storecast:problem:rate-limited with
	// Retry-After.
	PerSecond int
	// Exempt lists the client networks never limited (serve's default:
	// loopback, so the local stack's tools, load test and benchmarks are
	// not limited).
	Exempt []netip.Prefix
	// TrustedProxies lists the proxies (nginx in compose) whose
	// X-Forwarded-For names the client; without them the client is the
	// TCP peer. A request from elsewhere is keyed by its peer, so a client
	// cannot choose its key by sending the header itself.
	TrustedProxies []netip.Prefix
}

// unlimitedPaths are never limited: probes and scrapes must see the server
// as it is, not as a limited client would.
var unlimitedPaths = map[string]bool{"/health": true, "/ready": true, "/metrics": true}

// rateLimited returns the middleware that applies rl to server's requests
// and counts the refused ones in limited.
func rateLimited(server string, rl RateLimit, limited *prometheus.CounterVec) func(http.Handler) http.Handler {
	if rl.PerSecond <= 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	refused := limited.WithLabelValues(server)
	problem := Problem{Type: typeRateLimited, Title: "Too many requests", Status: http.StatusTooManyRequests,
		Detail: fmt.Sprintf("more than %d requests per second from this client; retry after the Retry-After header's seconds", rl.PerSecond)}
	lim := httprate.NewRateLimiter(rl.PerSecond, time.Second,
		httprate.WithKeyFuncs(func(r *http.Request) (string, error) {
			return httprate.CanonicalizeIP(middleware.GetClientIP(r.Context())), nil
		}),
		httprate.WithLimitHandler(func(w http.ResponseWriter, _ *http.Request) {
			refused.Inc()
			writeProblem(w, problem)
		}))
	resolve := middleware.ClientIPFromRemoteAddr
	if len(rl.TrustedProxies) > 0 {
		cidrs := make([]string, len(rl.TrustedProxies))
		for i, p := range rl.TrustedProxies {
			cidrs[i] = p.String()
		}
		resolve = middleware.ClientIPFromXFF(cidrs...)
	}
	return func(next http.Handler) http.Handler {
		limitedNext := lim.Handler(next)
		return resolve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if unlimitedPaths[r.URL.Path] || exempt(middleware.GetClientIPAddr(r.Context()), rl.Exempt) {
				next.ServeHTTP(w, r)
				return
			}
			limitedNext.ServeHTTP(w, r)
		}))
	}
}

// exempt reports whether ip lies in one of nets.
func exempt(ip netip.Addr, nets []netip.Prefix) bool {
	if !ip.IsValid() {
		return false
	}
	ip = ip.Unmap()
	for _, n := range nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// ParsePrefixes parses CIDRs (or single addresses) as flags give them;
// empty entries are skipped, so an empty flag means none.
func ParsePrefixes(cidrs []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, c := range cidrs {
		if c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			a, aerr := netip.ParseAddr(c)
			if aerr != nil {
				return nil, fmt.Errorf("parse network %q: %w", c, err)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
