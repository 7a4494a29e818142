package main

import (
	"context"
	"errors"
)

// TopicsCmd is `storecast topics`.
type TopicsCmd struct{}

// Run runs the subcommand until ctx is done.
func (c *TopicsCmd) Run(ctx context.Context, g *Globals) error {
	_ = ctx
	_ = g
	return errors.New("topics: not implemented yet")
}
