package main

import (
	"context"
	"errors"
)

// ProcessCmd is `storecast process`.
type ProcessCmd struct{}

// Run runs the subcommand until ctx is done.
func (c *ProcessCmd) Run(ctx context.Context, g *Globals) error {
	_ = ctx
	_ = g
	return errors.New("process: not implemented yet")
}
