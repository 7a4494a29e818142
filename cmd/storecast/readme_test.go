package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestReadmeDocumentsEveryVariable keeps README.md's configuration tables
// complete: every environment variable a command flag reads (env:"..." tags)
// and every STORECAST_ variable the local-stack scripts read must be named
// in README.md.
func TestReadmeDocumentsEveryVariable(t *testing.T) {
	t.Parallel()
	root := filepath.Join("..", "..")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatalf("read README.md: %v", err)
	}
	goTag := regexp.MustCompile(`env:"(STORECAST_[A-Z0-9_]+)"`)
	shellVar := regexp.MustCompile(`\$\{?(STORECAST_[A-Z0-9_]+)`)

	used := map[string]string{} // variable -> first file using it
	note := func(re *regexp.Regexp, path string) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			if _, ok := used[m[1]]; !ok {
				used[m[1]] = path
			}
		}
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		switch {
		case strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go"):
			note(goTag, path)
		case strings.HasSuffix(name, ".sh") && strings.Contains(filepath.ToSlash(path), "deploy/local/"):
			note(shellVar, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	if len(used) == 0 {
		t.Fatal("found no STORECAST_ variables: is the walk rooted at the repository?")
	}
	var missing []string
	for v, file := range used {
		if !regexp.MustCompile(`\b` + v + `\b`).Match(readme) {
			missing = append(missing, v+" (read in "+file+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("README.md does not document %s: add it to a configuration table with its default", m)
	}
}
