package benchkit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/storecast/storecast/internal/platform/kafka"
	"github.com/storecast/storecast/topics"
)

// ModelShape returns the number of trees of a LightGBM text model and the
// depth of its deepest tree (edges from the root to the deepest leaf).
func ModelShape(text []byte) (trees, maxDepth int, err error) {
	var left, right []int
	flush := func() error {
		if left == nil {
			return nil
		}
		if len(left) != len(right) {
			return fmt.Errorf("tree %d: %d left and %d right children", trees, len(left), len(right))
		}
		trees++
		if len(left) > 0 { // a tree of one leaf has no internal node
			maxDepth = max(maxDepth, depth(left, right, 0, 0))
		}
		left, right = nil, nil
		return nil
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "Tree="), line == "end of trees":
			if err := flush(); err != nil {
				return 0, 0, err
			}
			if strings.HasPrefix(line, "Tree=") {
				left, right = []int{}, []int{}
			}
		case left != nil && strings.HasPrefix(line, "left_child="):
			if left, err = intList(line); err != nil {
				return 0, 0, err
			}
		case left != nil && strings.HasPrefix(line, "right_child="):
			if right, err = intList(line); err != nil {
				return 0, 0, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	return trees, maxDepth, flush()
}

// depth is the depth of the subtree at internal node n (children < 0 are
// leaves), d the depth of n.
func depth(left, right []int, n, d int) int {
	if d > len(left) {
		return d // a cycle; the model loader refuses such a tree anyway
	}
	deepest := d + 1
	for _, c := range []int{left[n], right[n]} {
		if c >= 0 && c < len(left) {
			deepest = max(deepest, depth(left, right, c, d+1))
		}
	}
	return deepest
}

func intList(line string) ([]int, error) {
	_, vals, _ := strings.Cut(line, "=")
	var out []int
	for _, f := range strings.Fields(vals) {
		v, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("%.20s...: %w", line, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Services lists the stack's services that run now: every pid file under
// stateDir/run whose process is alive (deploy/local/lib.sh writes them),
// plus extra (what the benchmark started itself), sorted.
func Services(stateDir string, extra ...string) []string {
	out := append([]string(nil), extra...)
	files, _ := filepath.Glob(filepath.Join(stateDir, "run", "*.pid"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || syscall.Kill(pid, 0) != nil {
			continue
		}
		out = append(out, strings.TrimSuffix(filepath.Base(f), ".pid"))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// LatestModel returns the latest event of model name on a models topic
// (read only), or nil when the topic has none with an inline artifact.
func LatestModel(ctx context.Context, kc kafka.Config, topic, name string) (*topics.ModelEvent, error) {
	var last []byte
	err := kafka.ReadToHighWatermark(ctx, kc, topic, func(_ int32, _ int64, key, value []byte) error {
		if string(key) == name {
			last = value
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read model %s from %s: %w", name, topic, err)
	}
	if last == nil {
		return nil, nil
	}
	v, err := topics.ModelEventCodec{}.Decode(last)
	if err != nil {
		return nil, fmt.Errorf("model %s on %s: %w", name, topic, err)
	}
	ev, ok := v.(*topics.ModelEvent)
	if !ok {
		return nil, fmt.Errorf("model %s on %s decodes to %T", name, topic, v)
	}
	if len(ev.Artifact) == 0 {
		return nil, nil
	}
	return ev, nil
}
