// Package downgrade rewrites an OpenAPI 3.1 document as OpenAPI 3.0.3, the
// version oapi-codegen reads. It converts what our documents use
// (type arrays with "null", const, examples, oneOf with a null branch,
// numeric exclusive bounds, $ref with sibling keywords) and refuses the
// 3.1 keywords it cannot express rather than dropping their meaning
// silently. It is a build step of the Go client, not a general converter.
package downgrade

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Version is the OpenAPI version of every document Downgrade writes.
const Version = "3.0.3"

// unsupported are JSON Schema 2020-12 keywords with no OpenAPI 3.0
// equivalent that would change what a value may be.
var unsupported = []string{"if", "then", "else", "dependentSchemas", "dependentRequired",
	"prefixItems", "unevaluatedProperties", "unevaluatedItems", "contains", "patternProperties", "$dynamicRef"}

// dropped are 3.1 keywords that only annotate or narrow names, and that a
// 3.0 consumer may ignore without accepting a wrong value in generated code.
var dropped = []string{"propertyNames", "$schema", "$id", "$comment", "contentMediaType", "contentEncoding"}

// Options adjust the output for the code generated from it.
type Options struct {
	// PlainFormats are string formats to remove, so that generated code
	// uses plain strings for them (e.g. "uuid", "email") instead of
	// library types. The values are unchanged; only their Go type is.
	PlainFormats []string
	// IntegerFormat, if set, is given to integers without a format:
	// "int64" makes oapi-codegen use int64 (money reaches 10^15) rather
	// than int.
	IntegerFormat string
}

// Downgrade returns doc (a 3.1 document as JSON) as an equivalent 3.0.3
// document, as indented JSON.
func Downgrade(doc []byte, opts Options) ([]byte, error) {
	var root map[string]any
	if err := json.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("downgrade: %w", err)
	}
	v, _ := root["openapi"].(string)
	if !strings.HasPrefix(v, "3.1.") {
		return nil, fmt.Errorf("downgrade: openapi %q is not 3.1", v)
	}
	root["openapi"] = Version
	delete(root, "jsonSchemaDialect")
	delete(root, "webhooks")
	if info, ok := root["info"].(map[string]any); ok {
		delete(info, "summary")
		if lic, ok := info["license"].(map[string]any); ok {
			delete(lic, "identifier")
		}
	}
	d := &downgrader{schemas: componentSchemas(root), opts: opts}
	if err := d.walk(root, ""); err != nil {
		return nil, err
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("downgrade: %w", err)
	}
	return append(out, '\n'), nil
}

func componentSchemas(root map[string]any) map[string]any {
	comp, _ := root["components"].(map[string]any)
	s, _ := comp["schemas"].(map[string]any)
	return s
}

type downgrader struct {
	schemas map[string]any // components.schemas, for inlining nullable refs
	opts    Options
}

// walk rewrites every schema object under v in place. Schema objects are
// recognised by their keywords; a map of property names is walked like any
// other map, and its values are schemas.
func (d *downgrader) walk(v any, path string) error {
	switch x := v.(type) {
	case map[string]any:
		if isSchema(x) {
			if err := d.schema(x, path); err != nil {
				return err
			}
		}
		for k, child := range x {
			if err := d.walk(child, path+"/"+k); err != nil {
				return err
			}
		}
	case []any:
		for i, child := range x {
			if err := d.walk(child, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// isSchema reports whether m looks like a schema object rather than, say,
// a map of property names (whose values are schemas) or a parameter. It is
// a heuristic that holds for our documents: no property is named after a
// schema keyword other than "type", and a property called "type" is an
// object, never a string or an array.
func isSchema(m map[string]any) bool {
	if _, ok := m["in"]; ok { // a parameter or header object
		return false
	}
	if _, ok := m["$ref"].(string); ok {
		return true
	}
	switch m["type"].(type) {
	case string, []any:
		return true
	}
	if _, ok := m["properties"].(map[string]any); ok {
		return true
	}
	for _, k := range []string{"const", "oneOf", "anyOf", "allOf", "enum", "exclusiveMinimum", "exclusiveMaximum", "items"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// schema rewrites one schema object (not its children).
func (d *downgrader) schema(m map[string]any, path string) error {
	for _, k := range unsupported {
		if _, ok := m[k]; ok {
			return fmt.Errorf("downgrade: %s: %q has no OpenAPI 3.0 equivalent", path, k)
		}
	}
	for _, k := range dropped {
		delete(m, k)
	}
	if ref, ok := m["$ref"].(string); ok {
		// 3.0 ignores the siblings of $ref; drop them (they are annotations
		// in our documents) so that loaders do not warn.
		clear(m)
		m["$ref"] = ref
		return nil
	}
	if t, ok := m["type"].([]any); ok {
		if err := typeArray(m, t, path); err != nil {
			return err
		}
	} else if m["type"] == "null" {
		delete(m, "type")
		m["nullable"] = true
	}
	if c, ok := m["const"]; ok {
		delete(m, "const")
		m["enum"] = []any{c}
		if _, typed := m["type"]; !typed {
			if t := jsonType(c); t != "" {
				m["type"] = t
			}
		}
	}
	if ex, ok := m["examples"].([]any); ok {
		delete(m, "examples")
		if len(ex) > 0 {
			m["example"] = ex[0]
		}
	}
	// 3.1: exclusiveMinimum: 5; 3.0: minimum: 5, exclusiveMinimum: true.
	for k, bound := range map[string]string{"exclusiveMinimum": "minimum", "exclusiveMaximum": "maximum"} {
		if n, ok := m[k].(float64); ok {
			m[bound] = n
			m[k] = true
		}
	}
	if f, ok := m["format"].(string); ok && slices.Contains(d.opts.PlainFormats, f) {
		delete(m, "format")
	}
	if _, ok := m["format"]; !ok && m["type"] == "integer" && d.opts.IntegerFormat != "" {
		m["format"] = d.opts.IntegerFormat
	}
	d.nullableOneOf(m)
	return nil
}

// typeArray turns `type: [X, "null"]` into `type: X, nullable: true`.
func typeArray(m map[string]any, t []any, path string) error {
	var types []string
	nullable := false
	for _, e := range t {
		s, _ := e.(string)
		if s == "null" {
			nullable = true
			continue
		}
		types = append(types, s)
	}
	switch len(types) {
	case 0:
		delete(m, "type")
	case 1:
		m["type"] = types[0]
	default:
		return fmt.Errorf("downgrade: %s: type %v: several non-null types have no OpenAPI 3.0 equivalent", path, t)
	}
	if nullable {
		m["nullable"] = true
	}
	return nil
}

// nullableOneOf turns `oneOf: [S, {type: "null"}]` into S made nullable:
// a primitive component is inlined (oapi-codegen then makes the field a
// pointer), anything else becomes `allOf: [S], nullable: true`.
func (d *downgrader) nullableOneOf(m map[string]any) {
	branches, ok := m["oneOf"].([]any)
	if !ok || len(branches) != 2 {
		return
	}
	i := slices.IndexFunc(branches, func(b any) bool {
		bm, _ := b.(map[string]any)
		return len(bm) == 1 && (bm["type"] == "null" || bm["nullable"] == true)
	})
	if i < 0 {
		return
	}
	other, _ := branches[1-i].(map[string]any)
	delete(m, "oneOf")
	m["nullable"] = true
	if ref, ok := other["$ref"].(string); ok {
		if target, ok := d.schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any); ok && isPrimitive(target) {
			for k, v := range target {
				if _, set := m[k]; !set {
					m[k] = v
				}
			}
			return
		}
		m["allOf"] = []any{other}
		return
	}
	for k, v := range other {
		if _, set := m[k]; !set {
			m[k] = v
		}
	}
}

func isPrimitive(s map[string]any) bool {
	switch s["type"] {
	case "string", "integer", "number", "boolean":
		return true
	}
	return false
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		return "number"
	}
	return ""
}
