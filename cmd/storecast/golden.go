package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/storecast/storecast/model"
)

// GoldenCmd is `storecast golden DIR`: replays a trainer golden set
// (manifest.json, model.txt[.gz], rows.csv.gz) through leaves, exactly as
// serving loads and predicts, and fails when leaves and XGBoost disagree.
// The trainer runs it on every model before publishing it.
type GoldenCmd struct {
	Dir string `arg:"" help:"Folder holding manifest.json, model.txt (or model.txt.gz) and rows.csv.gz." type:"existingdir"`
}

// Run checks the golden set and prints {trees, rows, max_rel_diff} as JSON.
func (c *GoldenCmd) Run(_ context.Context, _ *Globals) error {
	g, err := model.ReadGolden(c.Dir)
	if err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	m, maxRel, err := g.Check()
	if err != nil {
		return fmt.Errorf("golden %s: %w", c.Dir, err)
	}
	out := map[string]any{"trees": m.Trees(), "rows": len(g.X), "max_rel_diff": maxRel}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return fmt.Errorf("golden: %w", err)
	}
	return nil
}
