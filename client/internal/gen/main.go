// Command gen regenerates the Go client's generated packages
// (client/commandapi, client/queryapi) from the APIs' OpenAPI 3.1
// documents: it downgrades each document to OpenAPI 3.0 (package
// downgrade), because oapi-codegen reads 3.0 only, and runs oapi-codegen
// (the version pinned in tools/go.mod) on the result.
//
// Run it from anywhere in the repository:
//
//	go run ./client/internal/gen
//
// or `go generate ./client`, or client/generate.sh.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml"

	"github.com/wildcat-payments/wildcat/client/internal/downgrade"
)

// API is one generated package.
type API struct {
	Package string // also the directory under client/
	Spec    string // the OpenAPI 3.1 document, relative to the repository root
}

// APIs are the packages gen writes.
var APIs = []API{
	{Package: "commandapi", Spec: "internal/httpapi/commandhttp/openapi.yaml"},
	{Package: "queryapi", Spec: "internal/httpapi/queryhttp/openapi.json"},
}

// plainFormats are generated as plain strings: ids are strings on both
// APIs (the query document spells UUIDs as a pattern, the command document
// as a format; one Go type for both keeps the client's types uniform).
var plainFormats = []string{"uuid", "email", "uri"}

func main() {
	root := flag.String("root", "", "the repository root (default: found from the working directory)")
	out := flag.String("out", "", "where the packages go (default: <root>/client)")
	flag.Parse()
	if err := run(*root, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(root, out string) error {
	if root == "" {
		var err error
		if root, err = findRoot(); err != nil {
			return err
		}
	}
	if out == "" {
		out = filepath.Join(root, "client")
	}
	for _, api := range APIs {
		if err := Generate(root, out, api); err != nil {
			return err
		}
	}
	return nil
}

// Generate writes <out>/<api.Package>/<api.Package>.gen.go.
func Generate(root, out string, api API) error {
	src, err := os.ReadFile(filepath.Join(root, api.Spec))
	if err != nil {
		return err
	}
	if strings.HasSuffix(api.Spec, ".yaml") {
		if src, err = yaml.YAMLToJSON(src); err != nil {
			return fmt.Errorf("%s: %w", api.Spec, err)
		}
	}
	doc30, err := downgrade.Downgrade(src, downgrade.Options{PlainFormats: plainFormats, IntegerFormat: "int64"})
	if err != nil {
		return fmt.Errorf("%s: %w", api.Spec, err)
	}
	tmp, err := os.MkdirTemp("", "wildcat-gen-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	spec := filepath.Join(tmp, api.Package+".openapi-3.0.json")
	if err := os.WriteFile(spec, doc30, 0o644); err != nil {
		return err
	}
	dir := filepath.Join(out, api.Package)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	cfg := filepath.Join(tmp, "oapi-codegen.yaml")
	if err := os.WriteFile(cfg, []byte(config(api, filepath.Join(dir, api.Package+".gen.go"))), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("go", "tool", "-modfile="+filepath.Join(root, "tools", "go.mod"), "oapi-codegen", "-config", cfg, spec)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = os.Stdout, &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("oapi-codegen %s: %w\n%s", api.Spec, err, stderr.Bytes())
	}
	return nil
}

// config is oapi-codegen's configuration for api. Optional fields stay
// pointers: with omitempty/omitzero instead, `"enabled": false` or an
// empty description in a PATCH could not be sent. Both documents name a
// schema and a parameter alike (Status and status), which oapi-codegen
// resolves by suffixing one of them.
func config(api API, out string) string {
	return fmt.Sprintf(`package: %s
output: %q
generate:
  models: true
  client: true
output-options:
  resolve-type-name-collisions: true
`, api.Package, out)
}

// findRoot returns the directory of the main module's go.mod above the
// working directory.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.HasPrefix(b, []byte("module github.com/wildcat-payments/wildcat\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the wildcat repository (no go.mod of github.com/wildcat-payments/wildcat above the working directory)")
		}
		dir = parent
	}
}
