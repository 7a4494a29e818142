package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Limits on an artifact. They bound the work and memory a hostile or
// corrupt artifact can cause; real Storecast models are below them. The
// trainer's default model (two members and the older model blended in:
// four times the chosen trees) of 900 trees of depth 10 is about 80 MB of
// LightGBM text; eight members of 900 trees, the most a training request
// may ask for, with the blend about 320 MB.
const (
	MaxArtifactBytes = 512 << 20
	MaxTrees         = 100_000
	MaxLeaves        = 1 << 17
	MaxFeatures      = 10_000
)

// LightGBM decision_type bits (LightGBM's tree.h): bit 0 categorical,
// bit 1 default left, bits 2-3 the missing type (0 none, 1 zero, 2 NaN).
const (
	decisionCategorical = 1 << 0
	decisionDefaultLeft = 1 << 1
	decisionMissingMask = 3 << 2
	missingNaN          = 2 << 2
)

// lgModel is a LightGBM text model parsed and checked by this package. Only
// what leaves needs for a single-output regression model is kept; render
// writes it back in the canonical form leaves is given.
type lgModel struct {
	featureNames []string
	trees        []lgTree
}

type lgTree struct {
	splitFeature []int32
	threshold    []float64
	decisionType []uint32
	left, right  []int32
	leafValue    []float64
}

// parseLightGBM parses a LightGBM v2/v3 text model and checks that it is a
// sane single-output regression model over exactly len(wantFeatures)
// features named as wantFeatures (when wantFeatures is non-nil): header
// fields, tree count, every array's length, child indices that form one
// tree per block, finite numbers, no categorical splits.
func parseLightGBM(text []byte, wantFeatures []string) (*lgModel, error) {
	if len(text) > MaxArtifactBytes {
		return nil, fmt.Errorf("%w: %d bytes exceeds %d", ErrMalformed, len(text), MaxArtifactBytes)
	}
	for i, c := range text {
		if (c < 0x20 || c > 0x7e) && c != '\n' && c != '\r' && c != '\t' {
			return nil, fmt.Errorf("%w: byte %#x at offset %d is not printable ASCII", ErrMalformed, c, i)
		}
	}
	lines := strings.Split(string(text), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], "\r")
	}
	p := &lineReader{lines: lines}

	if first, ok := p.next(); !ok || strings.TrimSpace(first) != "tree" {
		return nil, fmt.Errorf("%w: first line is not \"tree\"", ErrMalformed)
	}
	header, err := p.block()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	m, nTrees, err := checkHeader(header, wantFeatures)
	if err != nil {
		return nil, err
	}
	nFeatures := len(m.featureNames)
	for {
		p.skipBlank()
		line, ok := p.next()
		if !ok {
			return nil, fmt.Errorf("%w: truncated after %d of %d trees (no \"end of trees\")", ErrMalformed, len(m.trees), nTrees)
		}
		if strings.TrimSpace(line) == "end of trees" {
			break
		}
		if want := fmt.Sprintf("Tree=%d", len(m.trees)); strings.TrimSpace(line) != want {
			return nil, fmt.Errorf("%w: line %d is %.40q, want %q", ErrMalformed, p.pos, line, want)
		}
		if len(m.trees) == nTrees {
			return nil, fmt.Errorf("%w: more trees than tree_sizes lists (%d)", ErrMalformed, nTrees)
		}
		fields, err := p.block()
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", len(m.trees), err)
		}
		t, err := parseTree(fields, nFeatures)
		if err != nil {
			return nil, fmt.Errorf("tree %d: %w", len(m.trees), err)
		}
		m.trees = append(m.trees, t)
	}
	if len(m.trees) != nTrees {
		return nil, fmt.Errorf("%w: %d trees, tree_sizes lists %d", ErrMalformed, len(m.trees), nTrees)
	}
	return m, nil
}

func checkHeader(h map[string]string, wantFeatures []string) (*lgModel, int, error) {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: header: "+format, append([]any{ErrMalformed}, args...)...))
	}
	if v := h["version"]; v != "v2" && v != "v3" {
		bad("version %q is not v2 or v3", v)
	}
	if h["num_class"] != "1" {
		bad("num_class %q is not 1", h["num_class"])
	}
	if h["num_tree_per_iteration"] != "1" {
		bad("num_tree_per_iteration %q is not 1", h["num_tree_per_iteration"])
	}
	if _, ok := h["average_output"]; ok {
		bad("average_output (random forest) is not supported")
	}
	if o, ok := h["objective"]; ok && !strings.HasPrefix(o, "regression") {
		bad("objective %q is not a regression objective", o)
	}
	names := strings.Fields(h["feature_names"])
	if len(names) == 0 || len(names) > MaxFeatures {
		bad("feature_names lists %d names, want 1..%d", len(names), MaxFeatures)
	}
	maxIdx, err := strconv.Atoi(h["max_feature_idx"])
	if err != nil || maxIdx != len(names)-1 {
		bad("max_feature_idx %q does not match %d feature names", h["max_feature_idx"], len(names))
	}
	sizes := strings.Fields(h["tree_sizes"])
	if len(sizes) == 0 || len(sizes) > MaxTrees {
		bad("tree_sizes lists %d trees, want 1..%d", len(sizes), MaxTrees)
	}
	for _, s := range sizes {
		if n, err := strconv.Atoi(s); err != nil || n < 0 {
			bad("tree_sizes entry %.20q is not a size", s)
			break
		}
	}
	if len(errs) > 0 {
		return nil, 0, errors.Join(errs...)
	}
	if wantFeatures != nil {
		if err := sameNames(names, wantFeatures); err != nil {
			return nil, 0, fmt.Errorf("artifact feature_names: %w", err)
		}
	}
	return &lgModel{featureNames: names}, len(sizes), nil
}

// sameNames reports how got differs from want, wrapping ErrSchema.
func sameNames(got, want []string) error {
	if len(got) != len(want) {
		return fmt.Errorf("%w: %d features, want %d", ErrSchema, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			return fmt.Errorf("%w: feature %d is %q, want %q", ErrSchema, i, got[i], want[i])
		}
	}
	return nil
}

func parseTree(f map[string]string, nFeatures int) (lgTree, error) {
	var t lgTree
	if f["num_cat"] != "0" {
		return t, fmt.Errorf("%w: num_cat %q: categorical splits are not supported", ErrMalformed, f["num_cat"])
	}
	nLeaves, err := strconv.Atoi(f["num_leaves"])
	if err != nil || nLeaves < 1 || nLeaves > MaxLeaves {
		return t, fmt.Errorf("%w: num_leaves %.20q is not 1..%d", ErrMalformed, f["num_leaves"], MaxLeaves)
	}
	if t.leafValue, err = floats(f, "leaf_value", nLeaves); err != nil {
		return t, err
	}
	if nLeaves == 1 {
		return t, nil
	}
	n := nLeaves - 1
	if t.threshold, err = floats(f, "threshold", n); err != nil {
		return t, err
	}
	if t.splitFeature, err = ints(f, "split_feature", n, 0, int64(nFeatures-1)); err != nil {
		return t, err
	}
	dt, err := ints(f, "decision_type", n, 0, 15)
	if err != nil {
		return t, err
	}
	t.decisionType = make([]uint32, n)
	for i, d := range dt {
		if d&decisionCategorical != 0 || d&decisionMissingMask == decisionMissingMask {
			return t, fmt.Errorf("%w: decision_type %d of node %d is categorical or has an unknown missing type", ErrMalformed, d, i)
		}
		t.decisionType[i] = uint32(d)
	}
	if t.left, err = ints(f, "left_child", n, -int64(nLeaves), int64(n-1)); err != nil {
		return t, err
	}
	if t.right, err = ints(f, "right_child", n, -int64(nLeaves), int64(n-1)); err != nil {
		return t, err
	}
	return t, checkShape(t.left, t.right, nLeaves)
}

// checkShape walks the tree from internal node 0 and requires that every
// internal node and every leaf is reached exactly once: one rooted tree,
// no cycles, no shared or orphaned nodes.
func checkShape(left, right []int32, nLeaves int) error {
	seenNode := make([]bool, len(left))
	seenLeaf := make([]bool, nLeaves)
	seenNode[0] = true
	stack := []int32{0}
	reached := 1
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range [2]int32{left[n], right[n]} {
			if c < 0 {
				l := ^c
				if seenLeaf[l] {
					return fmt.Errorf("%w: leaf %d is reached twice", ErrMalformed, l)
				}
				seenLeaf[l] = true
				reached++
				continue
			}
			if seenNode[c] {
				return fmt.Errorf("%w: node %d is reached twice (cycle or shared child)", ErrMalformed, c)
			}
			seenNode[c] = true
			reached++
			stack = append(stack, c)
		}
	}
	// Every internal node reached once adds two children; the counts then
	// match only if nothing was left out.
	if reached != len(left)+nLeaves {
		return fmt.Errorf("%w: %d of %d nodes and leaves are reachable from the root", ErrMalformed, reached, len(left)+nLeaves)
	}
	return nil
}

func fieldTokens(f map[string]string, key string, n int) ([]string, error) {
	v, ok := f[key]
	if !ok {
		return nil, fmt.Errorf("%w: no %s", ErrMalformed, key)
	}
	toks := strings.Fields(v)
	if len(toks) != n {
		return nil, fmt.Errorf("%w: %s has %d values, want %d", ErrMalformed, key, len(toks), n)
	}
	return toks, nil
}

func floats(f map[string]string, key string, n int) ([]float64, error) {
	toks, err := fieldTokens(f, key, n)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	for i, s := range toks {
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: %s[%d] = %.20q is not a finite number", ErrMalformed, key, i, s)
		}
		out[i] = x
	}
	return out, nil
}

func ints(f map[string]string, key string, n int, lo, hi int64) ([]int32, error) {
	toks, err := fieldTokens(f, key, n)
	if err != nil {
		return nil, err
	}
	out := make([]int32, n)
	for i, s := range toks {
		x, err := strconv.ParseInt(s, 10, 32)
		if err != nil || x < lo || x > hi {
			return nil, fmt.Errorf("%w: %s[%d] = %.20q is not an integer in %d..%d", ErrMalformed, key, i, s, lo, hi)
		}
		out[i] = int32(x)
	}
	return out, nil
}

// lineReader walks the lines of a text model.
type lineReader struct {
	lines []string
	pos   int
}

func (r *lineReader) next() (string, bool) {
	if r.pos >= len(r.lines) {
		return "", false
	}
	r.pos++
	return r.lines[r.pos-1], true
}

func (r *lineReader) skipBlank() {
	for r.pos < len(r.lines) && strings.TrimSpace(r.lines[r.pos]) == "" {
		r.pos++
	}
}

// block reads key=value lines up to a blank line or the end. A key may
// appear once; a line must hold exactly one '='.
func (r *lineReader) block() (map[string]string, error) {
	m := make(map[string]string)
	for {
		line, ok := r.next()
		line = strings.TrimSpace(line)
		if !ok || line == "" {
			return m, nil
		}
		k, v, found := strings.Cut(line, "=")
		if !found || k == "" || strings.Contains(v, "=") {
			return nil, fmt.Errorf("%w: line %d (%.40q) is not key=value", ErrMalformed, r.pos, line)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("%w: line %d repeats key %q", ErrMalformed, r.pos, k)
		}
		m[k] = v
	}
}

// render writes m in the canonical LightGBM v3 text that leaves is given:
// only fields this package checked, numbers in shortest round-trip form.
func (m *lgModel) render() []byte { return m.renderTrees(0, len(m.trees)) }

// renderTrees renders trees [from, to) as a model of their own: the sum of
// the parts' outputs is the whole model's.
func (m *lgModel) renderTrees(from, to int) []byte {
	var trees []string
	for i, t := range m.trees[from:to] {
		var b strings.Builder
		fmt.Fprintf(&b, "Tree=%d\nnum_leaves=%d\nnum_cat=0\n", i, len(t.leafValue))
		if len(t.leafValue) > 1 {
			writeInts(&b, "split_feature", t.splitFeature)
			writeFloats(&b, "threshold", t.threshold)
			b.WriteString("decision_type=")
			for j, d := range t.decisionType {
				if j > 0 {
					b.WriteByte(' ')
				}
				b.WriteString(strconv.FormatUint(uint64(d), 10))
			}
			b.WriteByte('\n')
			writeInts(&b, "left_child", t.left)
			writeInts(&b, "right_child", t.right)
		}
		writeFloats(&b, "leaf_value", t.leafValue)
		b.WriteString("shrinkage=1\n\n\n")
		trees = append(trees, b.String())
	}
	var out bytes.Buffer
	out.WriteString("tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n")
	fmt.Fprintf(&out, "max_feature_idx=%d\nobjective=regression\nfeature_names=%s\ntree_sizes=", len(m.featureNames)-1, strings.Join(m.featureNames, " "))
	for i, t := range trees {
		if i > 0 {
			out.WriteByte(' ')
		}
		out.WriteString(strconv.Itoa(len(t)))
	}
	out.WriteString("\n\n")
	for _, t := range trees {
		out.WriteString(t)
	}
	out.WriteString("end of trees\n")
	return out.Bytes()
}

func writeInts(b *strings.Builder, key string, xs []int32) {
	b.WriteString(key)
	b.WriteByte('=')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(int64(x), 10))
	}
	b.WriteByte('\n')
}

func writeFloats(b *strings.Builder, key string, xs []float64) {
	b.WriteString(key)
	b.WriteByte('=')
	for i, x := range xs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
	}
	b.WriteByte('\n')
}
