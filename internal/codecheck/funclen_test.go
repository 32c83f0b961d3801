package codecheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// maxLines is how long a function may be without a reason: past it a
// reader can no longer hold it in view. Tests are exempt (table-driven
// tests are long lists of cases).
const maxLines = 60

// TestFunctionLength fails for a non-test function longer than maxLines
// whose doc comment does not say why, in a line starting with "long:".
// Generated files are not read by people; they are skipped.
func TestFunctionLength(t *testing.T) {
	root := filepath.Join("..", "..")
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", ".run", ".git", "web", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		if ast.IsGenerated(f) { // "// Code generated … DO NOT EDIT." (client/*api)
			return nil
		}
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if lines > maxLines && !hasReason(fn.Doc) {
				rel, _ := filepath.Rel(root, path)
				t.Errorf("%s:%d: %s is %d lines (over %d): split it by what each part does, or say why not in a doc comment line starting with \"long:\"",
					rel, fset.Position(fn.Pos()).Line, fn.Name.Name, lines, maxLines)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func hasReason(doc *ast.CommentGroup) bool {
	if doc == nil {
		return false
	}
	for _, line := range strings.Split(doc.Text(), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "long:") {
			return true
		}
	}
	return false
}
