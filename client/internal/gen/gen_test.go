package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates both packages in a temporary
// directory and fails if the committed files differ: someone changed an
// OpenAPI document (or the downgrade step) without `go generate ./client`.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to run oapi-codegen with")
	}
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, api := range APIs {
		t.Run(api.Package, func(t *testing.T) {
			if err := Generate(root, out, api); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(api.Package, api.Package+".gen.go")
			want, err := os.ReadFile(filepath.Join(out, name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(root, "client", name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("client/%s is stale: run `go generate ./client` (or client/generate.sh) and commit the result", name)
			}
		})
	}
}
