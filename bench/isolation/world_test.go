package main

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func world() World {
	return World{
		Topics: map[string][]int64{"forecast_results": {10, 12}, "models": {2}},
		Groups: map[string]map[string][]int64{"storecast-sink": {"forecast_results": {10, 12}}},
		Tables: map[string]map[string]string{
			"forecast_results": {"rows": "22", "max_forecast_id": "f9"},
			"rossman_sales":    {"rows": "970379", "max_date": "2015-06-19"},
		},
		SinkOffsets:   map[string]int64{"storecast-sink forecast_results/0": 10},
		SandboxTopics: []string{"models-bench-train"},
	}
}

func TestCompare(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *World)
		want   []string // the What of each difference, in order
	}{
		{"same", func(*World) {}, nil},
		{"services and time do not count", func(w *World) { w.Services, w.At, w.LoadAvg = []string{"serve"}, "later", "9" }, nil},
		{"a record in a partition", func(w *World) { w.Topics["forecast_results"] = []int64{10, 13} },
			[]string{"topic forecast_results high watermarks"}},
		{"a new user topic", func(w *World) { w.Topics["train_requests"] = []int64{0} },
			[]string{"topic train_requests high watermarks"}},
		{"a topic deleted", func(w *World) { delete(w.Topics, "models") }, []string{"topic models high watermarks"}},
		{"a group moved", func(w *World) { w.Groups["storecast-sink"]["forecast_results"] = []int64{11, 12} },
			[]string{"consumer group storecast-sink offsets on forecast_results"}},
		{"a new group on a user topic", func(w *World) { w.Groups["x"] = map[string][]int64{"models": {1}} },
			[]string{"consumer group x"}},
		{"rows", func(w *World) { w.Tables["forecast_results"]["rows"] = "23" }, []string{"table forecast_results rows"}},
		{"a larger key", func(w *World) { w.Tables["rossman_sales"]["max_date"] = "2015-06-20" },
			[]string{"table rossman_sales max_date"}},
		{"sink offsets", func(w *World) { w.SinkOffsets["storecast-sink forecast_results/0"] = 11 },
			[]string{"sink_offsets storecast-sink forecast_results/0"}},
		{"sandboxes are not the user's world", func(w *World) { w.SandboxTopics = append(w.SandboxTopics, "x-bench-1") }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			after := world()
			tc.change(&after)
			got := compare(world(), after)
			var what []string
			for _, d := range got {
				what = append(what, d.What)
				if d.Before == d.After {
					t.Errorf("difference %q with equal sides %q", d.What, d.Before)
				}
			}
			if strings.Join(what, "|") != strings.Join(tc.want, "|") {
				t.Fatalf("differences %v, want %v", what, tc.want)
			}
		})
	}
}

func TestLeftovers(t *testing.T) {
	before, after := world(), world()
	before.At, after.At = "2026-12-01T22:00:00Z", "2026-12-01T23:00:00Z"
	during := time.Date(2026, 12, 1, 22, 30, 0, 0, time.UTC)
	ns, s := strconv.FormatInt(during.UnixNano(), 10), strconv.FormatInt(during.Unix(), 10)
	earlier := strconv.FormatInt(during.Add(-2*time.Hour).UnixNano(), 10)
	after.SandboxTopics = []string{"forecast_results-bench-predict-" + ns, "models-bench-train",
		"storecast-features-bench-" + ns + "-table", "training_examples-bench-train-f2", "models-bench-x-" + earlier}
	after.SandboxGroups = []string{"storecast-features-bench-" + ns}
	after.SandboxDatabases = []string{"bench_sink_bench_sink_" + s}
	ours, others := leftovers(before, after)
	wantOurs := []string{"sandbox topic forecast_results-bench-predict-" + ns, "sandbox topic storecast-features-bench-" + ns + "-table",
		"sandbox consumer group storecast-features-bench-" + ns, "sandbox database bench_sink_bench_sink_" + s}
	wantOthers := []string{"sandbox topic training_examples-bench-train-f2", "sandbox topic models-bench-x-" + earlier}
	for _, c := range []struct {
		name string
		got  []Difference
		want []string
	}{{"this run's", ours, wantOurs}, {"others'", others, wantOthers}} {
		var what []string
		for _, d := range c.got {
			what = append(what, d.What)
		}
		if strings.Join(what, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s leftovers %v, want %v", c.name, what, c.want)
		}
	}
	if ours, others := leftovers(after, after); len(ours)+len(others) != 0 {
		t.Errorf("sandboxes present before are not left behind by this run: %v %v", ours, others)
	}
}

func TestSandboxAndUserNames(t *testing.T) {
	user := userTopics()
	for _, tc := range []struct {
		name    string
		sandbox bool
	}{
		{"forecast_results", false},
		{"forecast_results-bench-predict-1796154084804279117", true},
		{"storecast-features-bench-train-table", true},
		{"bench_sink_bench_1", true},
		{"storecast", false},
	} {
		if got := sandboxName(tc.name); got != tc.sandbox {
			t.Errorf("sandboxName(%q) = %v", tc.name, got)
		}
	}
	if !userGroup("storecast-sink", nil, user) || !userGroup("storecast-trainer", map[string][]int64{"train_requests": {4}}, user) {
		t.Error("the sink's or the trainer's group is not the user's")
	}
	if userGroup("storecast-trainer-test-1", map[string][]int64{"train_requests-test-1": {4}}, user) {
		t.Error("a test's group on suffixed topics counted as the user's")
	}
}
