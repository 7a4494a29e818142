package testkit

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// LightGBMModel returns a synthetic LightGBM v3 text model over
// featureNames: trees complete binary trees of the given depth, with
// random splits, NaN going left, and small leaf values (a log1p target
// around 8). Its size grows with trees × 2^depth: about 70 kB per
// depth-10 tree. The same arguments give the same bytes.
func LightGBMModel(featureNames []string, trees, depth int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	nodes := 1<<depth - 1
	leaves := nodes + 1
	var body strings.Builder
	sizes := make([]string, trees)
	ints := func(n int, f func(i int) int) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.Itoa(f(i)))
		}
		return b.String()
	}
	floats := func(n int, f func(i int) float64) string {
		var b strings.Builder
		for i := range n {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatFloat(f(i), 'g', 10, 64))
		}
		return b.String()
	}
	child := func(c int) int {
		if c < nodes {
			return c
		}
		return -(c - nodes) - 1
	}
	for t := range trees {
		var tb strings.Builder
		fmt.Fprintf(&tb, "Tree=%d\nnum_leaves=%d\nnum_cat=0\n", t, leaves)
		fmt.Fprintf(&tb, "split_feature=%s\n", ints(nodes, func(int) int { return r.IntN(len(featureNames)) }))
		fmt.Fprintf(&tb, "split_gain=%s\n", ints(nodes, func(int) int { return 0 }))
		fmt.Fprintf(&tb, "threshold=%s\n", floats(nodes, func(int) float64 { return r.Float64() * 1000 }))
		fmt.Fprintf(&tb, "decision_type=%s\n", ints(nodes, func(int) int { return 10 }))
		fmt.Fprintf(&tb, "left_child=%s\n", ints(nodes, func(i int) int { return child(2*i + 1) }))
		fmt.Fprintf(&tb, "right_child=%s\n", ints(nodes, func(i int) int { return child(2*i + 2) }))
		base := 0.0
		if t == 0 {
			base = 8
		}
		fmt.Fprintf(&tb, "leaf_value=%s\n", floats(leaves, func(int) float64 { return base + (r.Float64()-0.5)*0.01 }))
		tb.WriteString("shrinkage=1\n\n\n")
		sizes[t] = strconv.Itoa(tb.Len())
		body.WriteString(tb.String())
	}
	var out strings.Builder
	fmt.Fprintf(&out, "tree\nversion=v3\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=%d\nobjective=regression\n", len(featureNames)-1)
	fmt.Fprintf(&out, "feature_names=%s\nfeature_infos=%s\ntree_sizes=%s\n\n", strings.Join(featureNames, " "),
		strings.TrimSpace(strings.Repeat("none ", len(featureNames))), strings.Join(sizes, " "))
	out.WriteString(body.String())
	out.WriteString("end of trees\n")
	return []byte(out.String())
}
