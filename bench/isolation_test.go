// Package bench_test checks that the benchmarks under bench/ never touch
// the user's topics, groups or tables.
package bench_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/storecast/storecast/topics"
)

// defaultNames returns every production topic, table and group name.
func defaultNames() map[string]bool {
	out := map[string]bool{}
	v := reflect.ValueOf(topics.DefaultNames())
	for i := range v.NumField() {
		out[v.Field(i).String()] = true
	}
	return out
}

// nameConstants returns the identifiers of topics' constants whose value is
// a production name (topics.ForecastResults, topics.SalesStream, ...).
func nameConstants(t *testing.T, names map[string]bool) map[string]bool {
	t.Helper()
	fset := token.NewFileSet()
	files, err := filepath.Glob("../topics/*.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			vs, ok := n.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, id := range vs.Names {
				if i < len(vs.Values) {
					if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
						if s, err := strconv.Unquote(lit.Value); err == nil && names[s] {
							out[id.Name] = true
						}
					}
				}
			}
			return true
		})
	}
	if len(out) < 10 {
		t.Fatalf("found only %d name constants in topics/: %v", len(out), out)
	}
	return out
}

// suffixMarkers are the arguments that move a storecast command onto names
// of its own (suffixed topics and groups) or its own output topic.
var suffixMarkers = []string{"--names-suffix", "STORECAST_NAMES_SUFFIX=", "--forecast-log-topic"}

// TestBenchmarksUseTheirOwnNames fails when a benchmark main
//   - calls topics.DefaultNames() without suffixing the result on the spot
//     (topics.DefaultNames().WithSuffix(...)),
//   - names a production topic, table or group: a topics constant such as
//     topics.ForecastResults, or a string literal equal to one,
//   - starts a process (os/exec) in a file that never passes one of
//     suffixMarkers, so a storecast service it starts would use the user's
//     names.
func TestBenchmarksUseTheirOwnNames(t *testing.T) {
	names := defaultNames()
	consts := nameConstants(t, names)
	mains, err := filepath.Glob("*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	if len(mains) < 5 {
		t.Fatalf("found %d benchmark files, want every bench/*/*.go", len(mains))
	}
	for _, path := range mains {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		if readOnlyChecks[filepath.Dir(path)] {
			for _, v := range writes(t, path) {
				t.Errorf("%s", v)
			}
			continue
		}
		for _, v := range violations(t, path, names, consts) {
			t.Errorf("%s", v)
		}
	}
}

func violations(t *testing.T, path string, names, consts map[string]bool) []string {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	at := func(n ast.Node, format string) {
		out = append(out, fset.Position(n.Pos()).String()+": "+format)
	}
	suffixedCalls := map[ast.Node]bool{}
	execs := false
	markers := false
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "WithSuffix" {
				suffixedCalls[sel.X] = true
			}
			if isPkgSel(n.Fun, "topics", "DefaultNames") && !suffixedCalls[n] {
				at(n, "topics.DefaultNames() without .WithSuffix(...): a benchmark uses names of its own")
			}
			if isPkgSel(n.Fun, "exec", "Command") || isPkgSel(n.Fun, "exec", "CommandContext") {
				execs = true
			}
		case *ast.SelectorExpr:
			if id, ok := n.X.(*ast.Ident); ok && id.Name == "topics" && consts[n.Sel.Name] {
				at(n, "topics."+n.Sel.Name+" is a production name; use the suffixed names")
			}
		case *ast.BasicLit:
			if n.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(n.Value)
			if err != nil {
				return true
			}
			if names[s] {
				at(n, strconv.Quote(s)+" is a production topic or group name")
			}
			if slices.ContainsFunc(suffixMarkers, func(m string) bool { return strings.HasPrefix(s, m) }) {
				markers = true
			}
		}
		return true
	})
	if execs && !markers {
		out = append(out, path+": starts processes but never passes "+strings.Join(suffixMarkers, ", ")+
			": a storecast service it starts would read and write the user's topics")
	}
	return out
}

// readOnlyChecks are the folders under bench/ that read the user's world
// on purpose (bench/isolation compares it before and after the
// benchmarks): they may name production topics, but must not write.
var readOnlyChecks = map[string]bool{"isolation": true}

// writeCalls are the methods and functions that write to Kafka or
// PostgreSQL or start a process.
var writeCalls = []string{
	"NewSyncProducer", "NewAsyncProducer", "NewSyncProducerFromClient", "NewAsyncProducerFromClient",
	"CreateTopic", "DeleteTopic", "DeleteRecords", "CreatePartitions", "AlterConfig", "IncrementalAlterConfig",
	"DeleteConsumerGroup", "DeleteConsumerGroupOffset", "NewOffsetManagerFromClient", "NewConsumerGroup",
	"NewConsumerGroupFromClient", "Exec", "CopyFrom", "SendBatch", "Begin", "BeginTx", "Command", "CommandContext",
	"EnsureTopics",
}

// writes fails a read-only check that calls any of writeCalls.
func writes(t *testing.T, path string) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); ok && slices.Contains(writeCalls, sel.Sel.Name) {
			out = append(out, fset.Position(n.Pos()).String()+": "+sel.Sel.Name+" in a read-only check of the user's world")
		}
		return true
	})
	return out
}

func isPkgSel(e ast.Expr, pkg, name string) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == pkg && sel.Sel.Name == name
}

// TestViolationsAreFound: the check fails on each kind of violation.
func TestViolationsAreFound(t *testing.T) {
	names := defaultNames()
	consts := nameConstants(t, names)
	tests := []struct {
		name, src, want string
	}{
		{"unsuffixed names", `n := topics.DefaultNames(); _ = n`, "without .WithSuffix"},
		{"constant", `_ = topics.ForecastResults`, "topics.ForecastResults is a production name"},
		{"literal", `_ = "forecast_results"`, `"forecast_results" is a production`},
		{"service without suffix", `_ = exec.Command("storecast", "serve")`, "starts processes but never passes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "main.go")
			src := "package main\nfunc main() {\n" + tc.src + "\n}\n"
			if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(violations(t, path, names, consts), "\n")
			if !strings.Contains(got, tc.want) {
				t.Fatalf("violations %q, want one saying %q", got, tc.want)
			}
		})
	}
	for _, src := range []string{`_ = admin.DeleteTopic("x")`, `_, _ = conn.Exec(ctx, "DELETE FROM t")`, `_ = sarama.NewSyncProducer(nil, nil)`} {
		path := filepath.Join(t.TempDir(), "main.go")
		if err := os.WriteFile(path, []byte("package main\nfunc main() {\n"+src+"\n}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if len(writes(t, path)) == 0 {
			t.Errorf("the read-only check missed a write: %s", src)
		}
	}
	ok := "package main\nfunc main() {\n n := topics.DefaultNames().WithSuffix(\"bench-x\")\n _ = n.ForecastResults\n" +
		"_ = exec.Command(\"storecast\", \"serve\", \"--names-suffix\", \"x\")\n}\n"
	path := filepath.Join(t.TempDir(), "main.go")
	if err := os.WriteFile(path, []byte(ok), 0o600); err != nil {
		t.Fatal(err)
	}
	if v := violations(t, path, names, consts); len(v) > 0 {
		t.Fatalf("a suffixed benchmark was flagged: %v", v)
	}
}
