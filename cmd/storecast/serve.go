package main

import (
	"context"
	"errors"
)

// ServeCmd is `storecast serve`.
type ServeCmd struct{}

// Run runs the subcommand until ctx is done.
func (c *ServeCmd) Run(ctx context.Context, g *Globals) error {
	_ = ctx
	_ = g
	return errors.New("serve: not implemented yet")
}
