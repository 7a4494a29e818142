// Package archtest enforces the folder map's dependency rules
// (docs/ARCHITECTURE.md): code in the middle never imports sideways, and
// the vocabulary packages stay leaves.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/storecast/storecast"

// rules maps a package prefix (relative to the module) to the module
// package prefixes it may import. Packages not listed may import anything.
var rules = map[string][]string{
	"topics":            {"topics"},
	"features":          {"features", "topics"},
	"model":             {"model", "topics"},
	"internal/platform": {"internal/platform"},
	"views":             {"views", "topics", "features", "internal/platform"},
	"sink":              {"sink", "topics", "internal/platform"},
	"processors":        {"processors", "topics", "features", "model", "internal/platform"},
	"ingest":            {"ingest", "topics", "internal/platform"},
	"api":               {"api", "topics", "views", "features", "model", "internal/platform"},
}

type pkg struct {
	ImportPath string
	Imports    []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	cmd.Dir = "../.."
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func within(rel, prefix string) bool {
	return rel == prefix || strings.HasPrefix(rel, prefix+"/")
}

func TestDependencyDirection(t *testing.T) {
	t.Parallel()
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, imp := range p.Imports {
			if within(strings.TrimPrefix(imp, module+"/"), "internal/testkit") && !within(rel, "internal/testkit") {
				t.Errorf("%s imports internal/testkit: only _test.go files may", rel)
			}
		}
		var allowed []string
		var rule string
		for prefix, a := range rules {
			if within(rel, prefix) && len(prefix) > len(rule) {
				rule, allowed = prefix, a
			}
		}
		if rule == "" {
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			irel := strings.TrimPrefix(imp, module+"/")
			ok := false
			for _, a := range allowed {
				ok = ok || within(irel, a)
			}
			if !ok {
				t.Errorf("%s imports %s: %s/ may import only %v", rel, irel, rule, allowed)
			}
		}
	}
}
