// Package logging builds the slog logger every Storecast command injects.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Config selects the log level and format.
type Config struct {
	Level  string
	Format string
}

// New returns a logger writing to w.
func New(w io.Writer, c Config) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(strings.ToUpper(c.Level))); err != nil {
		return nil, fmt.Errorf("log level %q: %w", c.Level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch c.Format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q is not text or json", c.Format)
	}
}
