package commandhttp

import (
	_ "embed"
	"fmt"
	"sync"

	"github.com/goccy/go-yaml"
)

// openAPIYAML is the hand-written OpenAPI 3.1 description of the command
// API. The end-to-end tests validate every response they receive against it.
//
//go:embed openapi.yaml
var openAPIYAML []byte

var openAPIJSON = sync.OnceValues(func() ([]byte, error) {
	b, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("commandhttp: openapi.yaml: %w", err)
	}
	return b, nil
})

// OpenAPIJSON returns the OpenAPI document as JSON, as served at
// /openapi.json.
func OpenAPIJSON() ([]byte, error) { return openAPIJSON() }
