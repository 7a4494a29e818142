package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HealthCmd is `storecast health URL`: a container healthcheck for images
// without a shell or curl (the distroless storecast image). It exits 0 when
// URL answers 2xx within the timeout.
type HealthCmd struct {
	URL     string        `arg:"" help:"URL to GET, e.g. http://127.0.0.1:9102/readyz."`
	Timeout time.Duration `help:"How long the request may take." default:"3s" env:"STORECAST_HEALTH_TIMEOUT"`
}

// Run performs one request.
func (c *HealthCmd) Run(ctx context.Context, _ *Globals) error {
	return checkHealth(ctx, http.DefaultClient, c.URL, c.Timeout)
}

// checkHealth GETs url and reports anything but a 2xx answer.
func checkHealth(ctx context.Context, client *http.Client, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("health: %s answered %s", url, resp.Status)
	}
	return nil
}
