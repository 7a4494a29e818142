// Command featurelab computes, without Kafka, the training examples and
// the feature snapshots the features processor would emit for a Kaggle
// download, with the same features package, and writes them as NumPy
// arrays for offline feature and parameter experiments
// (trainer/tools/lab.py reads them). It is a research tool, not a
// benchmark: nothing it writes is used by the running system.
//
// Sales are applied store by store in date order, as the processor sees
// them; for each day the examples Completes (before it is applied) and
// AffectedDays (after) name are recomputed, and the last value of each
// (store, day) wins, as compaction keeps it.
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/storecast/storecast/features"
	"github.com/storecast/storecast/ingest"
	"github.com/storecast/storecast/topics"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "featurelab:", err)
		os.Exit(1)
	}
}

type snapFlag []string

func (s *snapFlag) String() string     { return strings.Join(*s, ",") }
func (s *snapFlag) Set(v string) error { *s = append(*s, v); return nil }

type table struct {
	x                          []float32
	store, date, asOf, horizon []int32
	label                      []float64
}

func (t *table) add(ex *topics.TrainingExample) {
	for _, v := range ex.Features.Values {
		t.x = append(t.x, float32(v))
	}
	t.store = append(t.store, int32(ex.Store))
	t.date = append(t.date, int32(ex.Date))
	t.asOf = append(t.asOf, int32(ex.AsOf))
	t.horizon = append(t.horizon, int32(ex.Horizon))
	t.label = append(t.label, ex.Label)
}

func run() error {
	data := flag.String("data", "../shared/data/rossmann", "folder with train.csv and store.csv")
	out := flag.String("out", ".state/featurelab", "output folder")
	end := flag.String("end", "2015-06-19", "last day of sales fed to the states")
	var snaps snapFlag
	flag.Var(&snaps, "snapshot", "name=AS_OF..LAST: features of the days AS_OF+1..LAST as of AS_OF, after every sale up to -end (repeatable)")
	flag.Parse()
	last, err := topics.ParseDate(*end)
	if err != nil {
		return fmt.Errorf("-end: %w", err)
	}
	specs, err := parseSnapshots(snaps)
	if err != nil {
		return err
	}
	t0 := time.Now()
	in, err := ingest.LoadKaggle(ingest.KaggleFiles{Store: filepath.Join(*data, "store.csv"), Train: filepath.Join(*data, "train.csv"), To: last})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "loaded %d sales of %d stores in %s\n", len(in.Sales), len(in.Stores), time.Since(t0).Round(time.Millisecond))
	infos := map[int]*features.Info{}
	for i := range in.Stores {
		inf := features.NewInfo(&in.Stores[i])
		infos[in.Stores[i].Store] = &inf
	}
	byStore := map[int][]topics.Sale{}
	for _, s := range in.Sales {
		byStore[s.Store] = append(byStore[s.Store], s)
	}
	type key struct{ store, day int32 }
	examples := map[key]topics.TrainingExample{}
	snapTables := make([]table, len(specs))
	days := make([]topics.Date, 0, 32)
	for store, sales := range byStore {
		inf := infos[store]
		var st features.State
		emit := func(days []topics.Date) error {
			for _, d := range days {
				ex, ok, err := st.Example(inf, d)
				if err != nil {
					return err
				}
				if ok {
					examples[key{int32(store), int32(d)}] = ex
				}
			}
			return nil
		}
		for i := range sales {
			f, err := features.FactOf(&sales[i])
			if err != nil {
				return fmt.Errorf("store %d day %s: %w", store, sales[i].Date, err)
			}
			// As the processor: the days f completes without reading it, before Apply.
			if err := emit(st.Completes(store, f.Date, days[:0])); err != nil {
				return err
			}
			ch := st.Apply(f)
			if !f.Trading() && ch.WasTrading {
				delete(examples, key{int32(store), int32(f.Date)})
			}
			if err := emit(st.AffectedDays(store, f.Date, ch, days[:0])); err != nil {
				return err
			}
		}
		for i, sp := range specs {
			snap := st.Snapshot(inf, &topics.FeatureSnapshotRequest{AsOf: sp.asOf, From: sp.asOf + 1, To: sp.to, Store: store})
			if snap.Error != "" {
				continue
			}
			for j := range snap.Examples {
				snapTables[i].add(&snap.Examples[j])
			}
		}
	}
	var ex table
	for _, e := range examples {
		ex.add(&e)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	if err := write(filepath.Join(*out, "examples"), &ex); err != nil {
		return err
	}
	for i, sp := range specs {
		if err := write(filepath.Join(*out, sp.name), &snapTables[i]); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "snapshot %s: %d rows\n", sp.name, len(snapTables[i].label))
	}
	meta, _ := json.Marshal(map[string]any{"schema": features.SchemaVersion, "names": features.Names()})
	fmt.Fprintf(os.Stderr, "%d examples in %s\n", len(ex.label), time.Since(t0).Round(time.Millisecond))
	return os.WriteFile(filepath.Join(*out, "meta.json"), meta, 0o644)
}

// snapshot is one -snapshot flag: the features of the days after asOf up
// to to, as of asOf, written under name.
type snapshot struct {
	name     string
	asOf, to topics.Date
}

// parseSnapshots parses the -snapshot flags (name=AS_OF..LAST), naming
// the bad one.
func parseSnapshots(flags []string) ([]snapshot, error) {
	out := make([]snapshot, 0, len(flags))
	for _, sp := range flags {
		name, spec, ok := strings.Cut(sp, "=")
		a, b, ok2 := strings.Cut(spec, "..")
		if !ok || !ok2 || name == "" {
			return nil, fmt.Errorf("-snapshot %q is not name=AS_OF..LAST", sp)
		}
		asOf, err := topics.ParseDate(a)
		if err != nil {
			return nil, fmt.Errorf("-snapshot %s: %w", sp, err)
		}
		to, err := topics.ParseDate(b)
		if err != nil {
			return nil, fmt.Errorf("-snapshot %s: %w", sp, err)
		}
		if to <= asOf {
			return nil, fmt.Errorf("-snapshot %s: the last day is not after the as-of day", sp)
		}
		out = append(out, snapshot{name: name, asOf: asOf, to: to})
	}
	return out, nil
}

func write(prefix string, t *table) error {
	n := len(t.label)
	cols := 0
	if n > 0 {
		cols = len(t.x) / n
	}
	if err := npy(prefix+"_x.npy", "<f4", []int{n, cols}, t.x); err != nil {
		return err
	}
	for name, v := range map[string][]int32{"store": t.store, "date": t.date, "as_of": t.asOf, "horizon": t.horizon} {
		if err := npy(prefix+"_"+name+".npy", "<i4", []int{n}, v); err != nil {
			return err
		}
	}
	return npy(prefix+"_label.npy", "<f8", []int{n}, t.label)
}

// npy writes a NumPy .npy file (format 1.0).
func npy(path, descr string, shape []int, data any) error {
	s := make([]string, len(shape))
	for i, d := range shape {
		s[i] = fmt.Sprint(d)
	}
	sh := strings.Join(s, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	h := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, sh)
	pad := 64 - (10+len(h)+1)%64
	h += strings.Repeat(" ", pad%64) + "\n"
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	if _, err := f.Write(append(hdr, h...)); err != nil {
		return err
	}
	return binary.Write(f, binary.LittleEndian, data)
}
