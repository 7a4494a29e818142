package main

import (
	"context"
	"errors"
)

// ProduceCmd is `storecast produce`.
type ProduceCmd struct{}

// Run runs the subcommand until ctx is done.
func (c *ProduceCmd) Run(ctx context.Context, g *Globals) error {
	_ = ctx
	_ = g
	return errors.New("produce: not implemented yet")
}
