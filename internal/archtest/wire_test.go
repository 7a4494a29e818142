package archtest

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEventsGoThroughTopics: every event's JSON is written and read in
// topics/ (its codecs and fast paths, which its fuzz tests hold to
// encoding/json). Outside topics, no production file may hand a topics
// type to encoding/json (json.Marshal, Unmarshal, an Encoder or Decoder),
// nor spell an event's JSON by hand (a literal starting `{"v":`, the first
// key of every event). Tests may: they compare against encoding/json.
func TestEventsGoThroughTopics(t *testing.T) {
	t.Parallel()
	pkgs := listExport(t)
	export := map[string]string{}
	for _, p := range pkgs {
		export[p.ImportPath] = p.Export
	}
	fset := token.NewFileSet()
	imp := importer.ForCompiler(fset, "gc", func(path string) (io.ReadCloser, error) {
		f, ok := export[path]
		if !ok || f == "" {
			return nil, fmt.Errorf("no export data for %s", path)
		}
		return os.Open(f)
	})
	topicsPath := module + "/topics"
	checked := 0
	for _, p := range pkgs {
		if !strings.HasPrefix(p.ImportPath, module+"/") && p.ImportPath != module {
			continue
		}
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		if within(rel, "topics") || len(p.GoFiles) == 0 {
			continue
		}
		var files []*ast.File
		for _, name := range p.GoFiles {
			f, err := parser.ParseFile(fset, filepath.Join(p.Dir, name), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, f)
		}
		info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}, Selections: map[*ast.SelectorExpr]*types.Selection{}}
		conf := types.Config{Importer: imp, Error: func(error) {}}
		if _, err := conf.Check(p.ImportPath, fset, files, info); err != nil {
			t.Fatalf("type-check %s: %v", rel, err)
		}
		checked++
		for _, f := range files {
			name := fset.Position(f.Pos()).Filename
			if strings.HasSuffix(name, ".gen.go") {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if n.Kind == token.STRING && (strings.HasPrefix(n.Value, "`{\"v\":") || strings.HasPrefix(n.Value, `"{\"v\":`)) {
						t.Errorf("%s: an event's JSON spelled by hand (%s); encode it with its topics codec", fset.Position(n.Pos()), n.Value)
					}
				case *ast.CallExpr:
					if fn := jsonFunc(info, n); fn != "" {
						for _, arg := range n.Args {
							if tn := topicsType(info.Types[arg].Type, topicsPath); tn != "" {
								t.Errorf("%s: %s of topics.%s outside topics; encode and decode events with their topics codec", fset.Position(n.Pos()), fn, tn)
							}
						}
					}
				}
				return true
			})
		}
	}
	if checked < 10 {
		t.Fatalf("type-checked only %d packages: the check is not looking", checked)
	}
}

// jsonFunc names the encoding/json function or method call is, or "".
func jsonFunc(info *types.Info, call *ast.CallExpr) string {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if s, ok := info.Selections[sel]; ok { // a method: (*json.Encoder).Encode, (*json.Decoder).Decode
		if fn, ok := s.Obj().(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == "encoding/json" && (fn.Name() == "Encode" || fn.Name() == "Decode") {
			return "json." + fn.Name()
		}
		return ""
	}
	if fn, ok := info.Uses[sel.Sel].(*types.Func); ok && fn.Pkg() != nil && fn.Pkg().Path() == "encoding/json" {
		switch fn.Name() {
		case "Marshal", "MarshalIndent", "Unmarshal":
			return "json." + fn.Name()
		}
	}
	return ""
}

// topicsType returns the name of the topics type t is (through pointers,
// slices, arrays and maps), or "".
func topicsType(t types.Type, topicsPath string) string {
	for t != nil {
		switch u := t.(type) {
		case *types.Pointer:
			t = u.Elem()
		case *types.Slice:
			t = u.Elem()
		case *types.Array:
			t = u.Elem()
		case *types.Map:
			t = u.Elem()
		case *types.Named:
			if obj := u.Obj(); obj.Pkg() != nil && obj.Pkg().Path() == topicsPath {
				return obj.Name()
			}
			return ""
		default:
			return ""
		}
	}
	return ""
}

type exportPkg struct {
	ImportPath string
	Dir        string
	Export     string
	GoFiles    []string
}

// listExport lists the module's packages and all their dependencies with
// their compiled export data (go list -export builds what the build cache
// lacks).
func listExport(t *testing.T) []exportPkg {
	t.Helper()
	return goList[exportPkg](t, "-export", "-deps", "-json=ImportPath,Dir,Export,GoFiles", module+"/...")
}
