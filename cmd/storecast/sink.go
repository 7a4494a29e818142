package main

import (
	"context"
	"errors"
)

// SinkCmd is `storecast sink`.
type SinkCmd struct{}

// Run runs the subcommand until ctx is done.
func (c *SinkCmd) Run(ctx context.Context, g *Globals) error {
	_ = ctx
	_ = g
	return errors.New("sink: not implemented yet")
}
