package model

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// Golden is a parity set the trainer writes with every model: the
// artifact, what the trainer claims about it, input rows and XGBoost's own
// margins on them. Replaying the rows through leaves (Check) proves the
// exported model predicts what XGBoost predicts.
type Golden struct {
	Manifest GoldenManifest
	Text     []byte
	X        [][]float64
	Margin   []float64
}

// GoldenManifest is the trainer's manifest.json of a golden set.
type GoldenManifest struct {
	Format        string   `json:"format"`
	SHA256        string   `json:"sha256"`
	FeatureNames  []string `json:"feature_names"`
	FeatureSchema string   `json:"feature_schema"`
	Transform     string   `json:"target_transform"`
	Rows          int      `json:"rows"`
	Trees         int      `json:"trees"`
}

// GoldenTolerance is the largest relative difference between leaves and
// XGBoost margins Check accepts (XGBoost sums leaves in float32, leaves in
// float64).
const GoldenTolerance = 1e-4

// ErrParity means leaves and XGBoost disagree on a golden row.
var ErrParity = errors.New("leaves and xgboost disagree")

// Meta returns the Meta the manifest claims.
func (g *Golden) Meta() Meta {
	return Meta{
		Name: "golden", Version: "1", SHA256: g.Manifest.SHA256, Format: g.Manifest.Format,
		Transform: g.Manifest.Transform, FeatureNames: g.Manifest.FeatureNames, FeatureSchema: g.Manifest.FeatureSchema,
	}
}

// ReadGolden reads dir/manifest.json, the artifact dir/model.txt (or
// model.txt.gz) and the rows dir/rows.csv.gz: gzipped CSV, one column per
// feature in manifest order (empty for missing), then xgb_margin.
func ReadGolden(dir string) (*Golden, error) {
	g := &Golden{}
	mb, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	if err := json.Unmarshal(mb, &g.Manifest); err != nil {
		return nil, fmt.Errorf("golden manifest: %w", err)
	}
	if g.Text, err = os.ReadFile(filepath.Join(dir, "model.txt")); errors.Is(err, os.ErrNotExist) {
		g.Text, err = readGzip(filepath.Join(dir, "model.txt.gz"))
	}
	if err != nil {
		return nil, fmt.Errorf("golden model: %w", err)
	}
	rows, err := readGzip(filepath.Join(dir, "rows.csv.gz"))
	if err != nil {
		return nil, fmt.Errorf("golden rows: %w", err)
	}
	if g.X, g.Margin, err = parseGoldenRows(rows, g.Manifest.FeatureNames); err != nil {
		return nil, fmt.Errorf("golden rows: %w", err)
	}
	return g, nil
}

func readGzip(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return io.ReadAll(zr)
}

func parseGoldenRows(data []byte, names []string) (x [][]float64, margin []float64, err error) {
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, nil, err
	}
	n := len(names)
	if len(recs) == 0 || len(recs[0]) != n+1 || recs[0][n] != "xgb_margin" {
		return nil, nil, fmt.Errorf("header does not match the manifest's %d features", n)
	}
	for i, name := range names {
		if recs[0][i] != name {
			return nil, nil, fmt.Errorf("column %d is %q, manifest says %q", i, recs[0][i], name)
		}
	}
	for line, r := range recs[1:] {
		row := make([]float64, n)
		for i := range row {
			if r[i] == "" {
				row[i] = math.NaN()
				continue
			}
			if row[i], err = strconv.ParseFloat(r[i], 64); err != nil {
				return nil, nil, fmt.Errorf("row %d: %w", line+1, err)
			}
		}
		m, err := strconv.ParseFloat(r[n], 64)
		if err != nil {
			return nil, nil, fmt.Errorf("row %d: %w", line+1, err)
		}
		x = append(x, row)
		margin = append(margin, m)
	}
	return x, margin, nil
}

// Check loads the golden artifact (see Load) and replays every row through
// leaves. It returns the model and the largest relative difference from
// XGBoost's margins, and an ErrParity error when one exceeds
// GoldenTolerance.
func (g *Golden) Check() (m *Model, maxRel float64, err error) {
	m, err = Load(g.Text, g.Meta(), g.Manifest.FeatureNames)
	if err != nil {
		return nil, 0, err
	}
	if len(g.X) != g.Manifest.Rows {
		return m, 0, fmt.Errorf("golden: %d rows, the manifest says %d", len(g.X), g.Manifest.Rows)
	}
	bad := 0
	for i, x := range g.X {
		got, err := m.PredictMargin(x)
		if err != nil {
			return m, maxRel, fmt.Errorf("golden row %d: %w", i, err)
		}
		rel := math.Abs(got-g.Margin[i]) / math.Max(math.Abs(g.Margin[i]), 1e-12)
		maxRel = math.Max(maxRel, rel)
		if rel > GoldenTolerance {
			bad++
		}
	}
	if bad > 0 {
		return m, maxRel, fmt.Errorf("%w on %d of %d golden rows (max relative difference %.3g > %g)", ErrParity, bad, len(g.X), maxRel, GoldenTolerance)
	}
	return m, maxRel, nil
}
