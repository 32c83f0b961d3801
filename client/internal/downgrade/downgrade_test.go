package downgrade_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"

	"github.com/wildcat-payments/wildcat/client/internal/downgrade"
)

// schemaOf downgrades a document whose only content is components.schemas.S
// = schema, and returns what S became.
func schemaOf(t *testing.T, schema string, extra map[string]string, opts downgrade.Options) (map[string]any, error) {
	t.Helper()
	schemas := `"S": ` + schema
	for name, s := range extra {
		schemas += `, "` + name + `": ` + s
	}
	doc := `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {}, "components": {"schemas": {` + schemas + `}}}`
	out, err := downgrade.Downgrade([]byte(doc), opts)
	if err != nil {
		return nil, err
	}
	var got struct {
		OpenAPI    string `json:"openapi"`
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.OpenAPI != downgrade.Version {
		t.Errorf("openapi = %q, want %q", got.OpenAPI, downgrade.Version)
	}
	return got.Components.Schemas["S"], nil
}

func TestDowngradeSchemas(t *testing.T) {
	timestamp := map[string]string{"Timestamp": `{"type": "string", "format": "date-time"}`, "Obj": `{"type": "object"}`}
	for _, tc := range []struct {
		name, in, want string
		opts           downgrade.Options
	}{
		{"NullableTypeArray", `{"type": ["string", "null"], "format": "date-time"}`, `{"type": "string", "format": "date-time", "nullable": true}`, downgrade.Options{}},
		{"TypeArrayWithoutNull", `{"type": ["integer"]}`, `{"type": "integer"}`, downgrade.Options{}},
		{"NullOnly", `{"type": "null"}`, `{"nullable": true}`, downgrade.Options{}},
		{"Const", `{"const": "Bearer"}`, `{"type": "string", "enum": ["Bearer"]}`, downgrade.Options{}},
		{"ConstTyped", `{"type": "string", "const": "x"}`, `{"type": "string", "enum": ["x"]}`, downgrade.Options{}},
		{"Examples", `{"type": "string", "examples": ["a", "b"]}`, `{"type": "string", "example": "a"}`, downgrade.Options{}},
		{"ExclusiveBounds", `{"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}`,
			`{"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 1, "exclusiveMaximum": true}`, downgrade.Options{}},
		{"PropertyNamesDropped", `{"type": "object", "propertyNames": {"pattern": "^[A-Z]{3}$"}, "additionalProperties": {"type": "integer"}}`,
			`{"type": "object", "additionalProperties": {"type": "integer"}}`, downgrade.Options{}},
		{"RefSiblingsDropped", `{"$ref": "#/components/schemas/Timestamp", "description": "when"}`, `{"$ref": "#/components/schemas/Timestamp"}`, downgrade.Options{}},
		{"OneOfNullPrimitiveRefInlined", `{"oneOf": [{"$ref": "#/components/schemas/Timestamp"}, {"type": "null"}], "description": "d"}`,
			`{"type": "string", "format": "date-time", "nullable": true, "description": "d"}`, downgrade.Options{}},
		{"OneOfNullObjectRef", `{"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Obj"}]}`,
			`{"allOf": [{"$ref": "#/components/schemas/Obj"}], "nullable": true}`, downgrade.Options{}},
		{"OneOfNullInline", `{"oneOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}`, `{"type": "integer", "minimum": 1, "nullable": true}`, downgrade.Options{}},
		{"OneOfKept", `{"oneOf": [{"type": "integer"}, {"type": "string"}]}`, `{"oneOf": [{"type": "integer"}, {"type": "string"}]}`, downgrade.Options{}},
		{"NestedProperties", `{"type": "object", "properties": {"type": {"type": ["string", "null"]}, "items": {"type": "array", "items": {"const": 1}}}}`,
			`{"type": "object", "properties": {"type": {"type": "string", "nullable": true}, "items": {"type": "array", "items": {"type": "number", "enum": [1]}}}}`, downgrade.Options{}},
		{"PlainFormats", `{"type": "object", "properties": {"id": {"type": "string", "format": "uuid"}, "at": {"type": "string", "format": "date-time"}}}`,
			`{"type": "object", "properties": {"id": {"type": "string"}, "at": {"type": "string", "format": "date-time"}}}`, downgrade.Options{PlainFormats: []string{"uuid"}}},
		{"IntegerFormat", `{"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": ["integer", "null"], "format": "int32"}}}`,
			`{"type": "object", "properties": {"a": {"type": "integer", "format": "int64"}, "b": {"type": "integer", "format": "int32", "nullable": true}}}`, downgrade.Options{IntegerFormat: "int64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := schemaOf(t, tc.in, timestamp, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				t.Errorf("got %s, want %s", g, tc.want)
			}
		})
	}
}

func TestDowngradeRefuses(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"SeveralTypes", `{"type": ["string", "integer"]}`, "several non-null types"},
		{"IfThen", `{"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}`, `"if"`},
		{"PrefixItems", `{"type": "array", "prefixItems": [{"type": "string"}]}`, `"prefixItems"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := schemaOf(t, tc.in, nil, downgrade.Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got error %v, want one containing %s", err, tc.want)
			}
		})
	}
	t.Run("NotOpenAPI31", func(t *testing.T) {
		_, err := downgrade.Downgrade([]byte(`{"openapi": "3.0.3"}`), downgrade.Options{})
		if err == nil {
			t.Error("got no error for a 3.0 document")
		}
	})
}

func TestDowngradeDocumentFields(t *testing.T) {
	in := `{"openapi": "3.1.0", "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info": {"title": "t", "version": "1", "summary": "s", "license": {"name": "MIT", "identifier": "MIT"}},
		"webhooks": {}, "paths": {}}`
	out, err := downgrade.Downgrade([]byte(in), downgrade.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"openapi": "3.0.3", "info": map[string]any{"title": "t", "version": "1", "license": map[string]any{"name": "MIT"}}, "paths": map[string]any{}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestDowngradeOurDocuments downgrades both APIs' documents and checks that
// the results are valid OpenAPI 3.0 documents with every operation kept.
func TestDowngradeOurDocuments(t *testing.T) {
	root := filepath.Join("..", "..", "..", "internal", "httpapi")
	for _, tc := range []struct{ name, path string }{
		{"Command", filepath.Join(root, "commandhttp", "openapi.yaml")},
		{"Query", filepath.Join(root, "queryhttp", "openapi.json")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(tc.path)
			if err != nil {
				t.Fatal(err)
			}
			if strings.HasSuffix(tc.path, ".yaml") {
				if src, err = yaml.YAMLToJSON(src); err != nil {
					t.Fatal(err)
				}
			}
			out, err := downgrade.Downgrade(src, downgrade.Options{PlainFormats: []string{"uuid", "email"}})
			if err != nil {
				t.Fatal(err)
			}
			in31, err := openapi3.NewLoader().LoadFromData(src)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := openapi3.NewLoader().LoadFromData(out)
			if err != nil {
				t.Fatalf("the downgraded document does not load: %v", err)
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Errorf("the downgraded document is invalid: %v", err)
			}
			if got, want := len(doc.Paths.Map()), len(in31.Paths.Map()); got != want {
				t.Errorf("got %d paths, want %d", got, want)
			}
			if strings.Contains(string(out), `"null"`) || strings.Contains(string(out), `"const"`) {
				t.Errorf("the downgraded document still has 3.1 null types or const")
			}
		})
	}
}
