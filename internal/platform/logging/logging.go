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

// Goka bridges goka's logger interface (Print, Println, Printf) to slog at
// debug level: goka is chatty about rebalances and recovery.
type Goka struct{ L *slog.Logger }

// Print implements goka.Logger.
func (g Goka) Print(v ...any) { g.L.Debug(fmt.Sprint(v...)) }

// Println implements goka.Logger.
func (g Goka) Println(v ...any) { g.L.Debug(strings.TrimSuffix(fmt.Sprintln(v...), "\n")) }

// Printf implements goka.Logger.
func (g Goka) Printf(format string, v ...any) { g.L.Debug(fmt.Sprintf(format, v...)) }
