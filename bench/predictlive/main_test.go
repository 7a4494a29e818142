package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestPipelineCommand(t *testing.T) {
	tests := []struct {
		name        string
		nice, procs int
		wantArgs    []string
		wantEnv     string // "" : the environment is inherited as it is
	}{
		{"as is", 0, 0, []string{"bin/storecast", "sink", "run"}, ""},
		{"niced", 10, 0, []string{"nice", "-n", "10", "bin/storecast", "sink", "run"}, ""},
		{"one proc", 0, 1, []string{"bin/storecast", "sink", "run"}, "GOMAXPROCS=1"},
		{"both", 5, 1, []string{"nice", "-n", "5", "bin/storecast", "sink", "run"}, "GOMAXPROCS=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := pipelineCommand("bin/storecast", tc.nice, tc.procs, "sink", "run")
			if !slices.Equal(cmd.Args, tc.wantArgs) {
				t.Errorf("args %q, want %q", cmd.Args, tc.wantArgs)
			}
			if tc.wantEnv == "" && cmd.Env != nil {
				t.Errorf("env set: %q", cmd.Env)
			}
			if tc.wantEnv != "" && !slices.ContainsFunc(cmd.Env, func(e string) bool { return e == tc.wantEnv }) {
				t.Errorf("env lacks %s", tc.wantEnv)
			}
		})
	}
}

func TestNiceness(t *testing.T) {
	// nice(1) without a command prints the niceness it runs at.
	out, err := pipelineCommand("nice", 3, 0).Output()
	if err != nil {
		t.Fatalf("nice(1): %v", err)
	}
	got := strings.TrimSpace(string(out))
	if want := niceness() + 3; got != strconv.Itoa(want) {
		t.Fatalf("a pipeline command runs at niceness %s, want %d (the bench's %d + 3)", got, want, niceness())
	}
}
