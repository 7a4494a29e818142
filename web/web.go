// Package web serves the Storecast dashboard: the React bundle that
// `make web` builds into dist/app, embedded in the binary, on its own
// listener (127.0.0.1:8000 by default), plus /config.json, which tells the
// bundle where the forecast and training APIs answer.
//
// The bundle is embedded from dist/, which always holds a committed
// README.md, so `go build ./...` works on a fresh clone without Node: such a
// binary serves a page that says how to build the dashboard (Built reports
// which one is embedded). The browser calls the APIs on their own listeners;
// CORS lets only the dashboard's origin do so.
package web

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

// app is the bundle's folder inside dist.
const app = "dist/app"

// Built reports whether the binary embeds a built dashboard (make web ran
// before go build).
func Built() bool {
	_, err := fs.Stat(dist, app+"/index.html")
	return err == nil
}

// Config is what the dashboard's handler needs.
type Config struct {
	// ForecastAddr and TrainAddr are the listen addresses of the two APIs
	// (host:port). An unspecified host (":4242", "0.0.0.0:4242") becomes
	// the host the browser reached the dashboard on.
	ForecastAddr string
	TrainAddr    string
	Logger       *slog.Logger
}

// NewHandler returns the dashboard: the bundle's files, index.html for every
// other GET path (client-side routes), /config.json and /health.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.ForecastAddr == "" || cfg.TrainAddr == "" {
		return nil, errors.New("web: the forecast and training API addresses are required")
	}
	for _, a := range []string{cfg.ForecastAddr, cfg.TrainAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("web: api address %q: %w", a, err)
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	root, err := fs.Sub(dist, app)
	if err != nil {
		return nil, fmt.Errorf("web: bundle: %w", err)
	}
	index, err := fs.ReadFile(root, "index.html")
	if err != nil {
		index = []byte(placeholder)
		log.Warn("dashboard bundle not built into this binary: serving a placeholder page (run make web, then make build)")
	}
	files := http.FileServerFS(root)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
	})
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"forecast_api": apiURL(cfg.ForecastAddr, r.Host),
			"train_api":    apiURL(cfg.TrainAddr, r.Host),
		})
	})
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if strings.HasPrefix(p, ".") || strings.Contains(p, "/.") {
				http.NotFound(w, r)
				return
			}
			if st, err := fs.Stat(root, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					// Vite names assets by content hash.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				files.ServeHTTP(w, r)
				return
			}
			if strings.HasPrefix(p, "assets/") || path.Ext(p) != "" {
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(index)
	})
	return securityHeaders(mux), nil
}

// apiURL is the base URL the browser calls an API at.
func apiURL(addr, requestHost string) string {
	host, port, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = requestHost
		if h, _, err := net.SplitHostPort(requestHost); err == nil {
			host = h
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// securityHeaders sets the headers every dashboard answer carries.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("X-Frame-Options", "DENY")
		w.Header().Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Storecast dashboard</title></head>
<body><main><h1>Storecast dashboard</h1>
<p>This binary was built without the dashboard bundle. Run <code>make web</code> (needs Node.js and npm), then
<code>make build</code>, and restart <code>storecast serve</code>.</p>
<p>The forecast API's documentation is at <code>/docs</code> on its own listener.</p></main></body></html>
`
