// Package archtest enforces the folder map's dependency rules
// (docs/ARCHITECTURE.md): code in the middle never imports sideways, and
// the vocabulary packages stay leaves.
package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
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
	"forecasting":       {"forecasting", "topics", "features", "model", "internal/platform"},
	"views":             {"views", "topics", "features", "model", "internal/platform"},
	"publish":           {"publish", "topics", "internal/platform"},
	"sink":              {"sink", "topics", "internal/platform"},
	"processors":        {"processors", "topics", "features", "model", "forecasting", "internal/platform"},
	"ingest":            {"ingest", "topics", "internal/platform"},
	"api":               {"api", "topics", "views", "forecasting", "features", "model", "publish", "inspect", "history", "mlflow", "internal/platform"},
	"inspect":           {"inspect", "topics", "internal/platform"},
	"history":           {"history", "topics", "internal/platform"},
	"mlflow":            {"mlflow"},
	"web":               {"web"},
}

// belowAPI are the packages that must not depend on api, not even
// through another package: api is HTTP only, and everything it serves
// comes from them.
var belowAPI = []string{"processors", "views", "sink", "model", "features", "topics", "forecasting", "publish"}

// processWiring are the files of `storecast process`: its groups are built
// from processors, forecasting and views, never from api (which would
// register the API's metrics in the processors' /metrics).
var processWiring = []string{"cmd/storecast/process.go", "cmd/storecast/forecastgroup.go"}

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	return goList[pkg](t, "-json=ImportPath,Imports,Deps", module+"/...")
}

// goList runs `go list` with args in the module root and decodes its JSON
// stream into Ts.
func goList[T any](t *testing.T, args ...string) []T {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	var pkgs []T
	dec := json.NewDecoder(&out)
	for {
		var p T
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

func TestNothingBelowAPIDependsOnIt(t *testing.T) {
	t.Parallel()
	api := module + "/api"
	for _, p := range listPackages(t) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p.ImportPath, module), "/")
		for _, b := range belowAPI {
			if !within(rel, b) {
				continue
			}
			for _, d := range p.Deps {
				if d == api || strings.HasPrefix(d, api+"/") {
					t.Errorf("%s depends on %s: api is HTTP only; move what it needs below api", rel, strings.TrimPrefix(d, module+"/"))
				}
			}
		}
	}
}

func TestProcessWiringDoesNotImportAPI(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	for _, f := range processWiring {
		file, err := parser.ParseFile(fset, filepath.Join("../..", f), nil, parser.ImportsOnly)
		if err != nil {
			t.Fatalf("%s: %v (update processWiring when the process wiring moves)", f, err)
		}
		for _, imp := range file.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == module+"/api" || strings.HasPrefix(path, module+"/api/") {
				t.Errorf("%s imports %s: `storecast process` must not be wired from api", f, path)
			}
		}
	}
}
