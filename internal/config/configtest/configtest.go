// Package configtest reads what each binary's Config takes from the
// environment, from the source: the `env:"NAME"` struct tags
// (github.com/caarlos0/env) of cmd/<name>/*.go and of the structs those embed
// from other packages of this module (projection.Config in the projector). The
// deployment tests (internal/composetest, internal/helmtest) check
// docker-compose.yml and the Helm chart against it, so neither can set a
// variable no binary reads, nor listen on a port the binary does not.
package configtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// module is this repository's module path: embedded structs from packages
// under it are followed.
const module = "github.com/wildcat-payments/wildcat/"

// RepoRoot walks up from the test's directory to the one holding go.mod.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

// EnvVars returns the environment variables binary name reads: the env tags
// of every struct in cmd/<name>/*.go (tests excluded), plus those of the
// structs they embed from this module's other packages, recursively. ok is
// false when cmd/<name>/config.go does not exist.
func EnvVars(tb testing.TB, name string) (vars map[string]bool, ok bool) {
	tb.Helper()
	root := RepoRoot(tb)
	dir := filepath.Join(root, "cmd", name)
	if _, err := os.Stat(filepath.Join(dir, "config.go")); err != nil {
		return nil, false
	}
	vars = map[string]bool{}
	r := reader{tb: tb, root: root, fset: token.NewFileSet(), seen: map[string]bool{}}
	for _, file := range r.parseDir(dir) {
		imports := importsOf(file)
		ast.Inspect(file, func(n ast.Node) bool {
			if field, ok := n.(*ast.Field); ok {
				r.field(field, dir, imports, vars)
			}
			return true
		})
	}
	if len(vars) == 0 {
		tb.Fatalf("cmd/%s: no env:\"NAME\" struct tags found; has the Config moved?", name)
	}
	return vars, true
}

// reader parses the packages of the module that Config structs embed.
type reader struct {
	tb   testing.TB
	root string
	fset *token.FileSet
	seen map[string]bool // "dir.Type" already collected
}

// field records field's env tag, and for an embedded struct of this module
// (Type or pkg.Type) the tags of that struct.
func (r *reader) field(field *ast.Field, dir string, imports map[string]string, vars map[string]bool) {
	if field.Tag != nil {
		if raw, err := strconv.Unquote(field.Tag.Value); err == nil {
			tag := reflect.StructTag(raw)
			if v, ok := tag.Lookup("env"); ok {
				if name, _, _ := strings.Cut(v, ","); name != "" {
					vars[tag.Get("envPrefix")+name] = true
				}
			}
		}
	}
	if len(field.Names) != 0 {
		return
	}
	switch t := field.Type.(type) {
	case *ast.Ident:
		r.structTags(dir, t.Name, vars)
	case *ast.SelectorExpr:
		pkg, ok := t.X.(*ast.Ident)
		if !ok {
			return
		}
		if path, ok := imports[pkg.Name]; ok && strings.HasPrefix(path, module) {
			r.structTags(filepath.Join(r.root, strings.TrimPrefix(path, module)), t.Sel.Name, vars)
		}
	}
}

// structTags collects the env tags of struct type typeName declared in dir.
func (r *reader) structTags(dir, typeName string, vars map[string]bool) {
	key := dir + "." + typeName
	if r.seen[key] {
		return
	}
	r.seen[key] = true
	for _, file := range r.parseDir(dir) {
		imports := importsOf(file)
		for _, decl := range file.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.TYPE {
				continue
			}
			for _, spec := range gen.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok || ts.Name.Name != typeName {
					continue
				}
				for _, f := range st.Fields.List {
					r.field(f, dir, imports, vars)
				}
			}
		}
	}
}

// parseDir parses the non-test Go files of dir.
func (r *reader) parseDir(dir string) []*ast.File {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		r.tb.Fatal(err)
	}
	var out []*ast.File
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(r.fset, f, nil, parser.SkipObjectResolution)
		if err != nil {
			r.tb.Fatalf("parse %s: %v", f, err)
		}
		out = append(out, file)
	}
	return out
}

// importsOf maps each import's local name to its path.
func importsOf(file *ast.File) map[string]string {
	out := map[string]string{}
	for _, imp := range file.Imports {
		path, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		name := filepath.Base(path)
		if imp.Name != nil {
			name = imp.Name.Name
		}
		out[name] = path
	}
	return out
}

// AddrVar returns the *_ADDR variable among vars: the binary's listen address.
func AddrVar(tb testing.TB, bin string, vars map[string]bool) string {
	tb.Helper()
	var found []string
	for v := range vars {
		if strings.HasSuffix(v, "_ADDR") {
			found = append(found, v)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("cmd/%s reads %d *_ADDR variables %v, want exactly 1", bin, len(found), found)
	}
	return found[0]
}

// SortedKeys returns m's keys in order, for messages.
func SortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
