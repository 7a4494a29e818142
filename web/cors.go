package web

import (
	"net"
	"net/http"
	"slices"
	"strings"
)

// Origins returns the browser origins of a dashboard listening on addr: its
// own, and for a loopback address the other loopback spellings (127.0.0.1,
// localhost) with the same port. An empty addr (dashboard off) has none.
func Origins(addr string) []string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || addr == "" {
		return nil
	}
	hosts := []string{host}
	if host == "127.0.0.1" || host == "localhost" || host == "::1" || host == "" {
		hosts = []string{"127.0.0.1", "localhost", "::1"}
	}
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, "http://"+net.JoinHostPort(h, port))
	}
	return out
}

// CORS lets browsers on the given origins (the dashboard's) call h, and no
// other origin: a preflight from another origin gets 403, a request from one
// gets no Access-Control-Allow-Origin (the browser then hides the answer).
// Requests without an Origin header (curl, servers) pass unchanged.
func CORS(origins []string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if origin == "" {
			h.ServeHTTP(w, r)
			return
		}
		w.Header().Add("Vary", "Origin")
		allowed := slices.Contains(origins, origin)
		preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		if preflight {
			w.Header().Add("Vary", "Access-Control-Request-Method")
			w.Header().Add("Vary", "Access-Control-Request-Headers")
			if !allowed {
				http.Error(w, "origin not allowed", http.StatusForbidden)
				return
			}
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Allow-Methods", strings.Join([]string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete}, ", "))
			w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
			w.Header().Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", origin)
			w.Header().Set("Access-Control-Expose-Headers", "Location, Retry-After")
		}
		h.ServeHTTP(w, r)
	})
}
