package model

import (
	"context"
	"errors"
)

// ErrFetch means a model's artifact could not be fetched from where its
// event points.
var ErrFetch = errors.New("artifact fetch failed")

// Fetcher fetches an artifact an event names by URI instead of carrying
// it (the trainer publishes large exports that way; mlflow.Client fetches
// runs:/ URIs). Implementations must be safe for concurrent use, must not
// return more than limit bytes and bound each fetch in time; the registry
// verifies the bytes exactly as an inline artifact (Load).
type Fetcher interface {
	Fetch(ctx context.Context, uri string, limit int64) ([]byte, error)
}
