package shapetest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/command"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi/commandhttp"
	"github.com/wildcat-payments/wildcat/internal/httpapi/queryhttp"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// The intended differences from domain.Payment's fields. Each is a
// decision; a new payment field either belongs in every shape or is added
// to one of these lists, with a reason.
var (
	// denormalized are copied into every payment document by the projector
	// from the payment's customer and user (domain.PaymentView); the read
	// side shows them, the write side does not have them.
	denormalized = []string{"customer_name", "user_name", "user_email"}
	// sortKeys are written by PaymentDoc.MarshalJSON and mapped for sorting
	// only (projection.IDSortKey); nothing decodes them.
	sortKeys = []string{"id_hi", "id_lo"}
	// fingerprint is appended to the written document by
	// projection.EncodeDocument and mapped as doc values only, for the
	// reconciler; nothing decodes it.
	fingerprint = []string{"fp"}
	// timeline is the payment's event timeline, which the projector puts on
	// the payment document; the query API serves it on its own
	// (GET /v1/payments/{id}/events) and leaves it out of payments.
	timeline = []string{"events"}
	// serverSet are set by the command side or the processor, never by the
	// client, so a new payment's input does not have them.
	serverSet = []string{"id", "user_id", "status", "created_at", "updated_at",
		"failure_code", "failure_message", "attempts", "processed_at", "amount_refunded"}
	// notExported are not columns of the CSV export (docs/query-api.md lists
	// them); failure_message is free text of the provider's, shown in the
	// API and the UI (the export has the code).
	notExported = []string{"created_at", "updated_at", "failure_message"}
	// csvOnly: the CSV writes the amount twice, as amount_minor (the
	// integer the JSON calls amount) and as amount (a decimal in the
	// currency's units).
	csvOnly = []string{"amount_minor"}
	// executor is who executed the payment (domain.Executor: its user, or
	// the API key it was made with, SPEC §10): built from the payment's
	// user or key on both sides; the CSV export spells it out in three
	// columns (csvExecutor).
	executor    = []string{"executed_by"}
	csvExecutor = []string{"executed_by_type", "executed_by_id", "executed_by_name"}
)

// TestPaymentShape compares every place a payment's fields are spelled
// out with domain.Payment's JSON fields.
func TestPaymentShape(t *testing.T) {
	base := goFields[domain.Payment](t)
	commandDoc, err := commandhttp.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	commandAPI, queryAPI := openAPI(t, commandDoc), openAPI(t, queryhttp.OpenAPI)
	for _, s := range []struct {
		name        string
		fields      []string
		extra, left []string // besides base, and of base not in it
	}{
		{"domain.PaymentView", goFields[domain.PaymentView](t), cat(denormalized, executor), nil},
		{"projection.PaymentDoc (decoded)", goFields[projection.PaymentDoc](t), cat(denormalized, executor, timeline), nil},
		{"projection.PaymentDoc (written)", written(t, indexed(t, docWithID())), cat(denormalized, executor, timeline, sortKeys, fingerprint), nil},
		{"projection.PaymentsMapping", mappingFields(t, projection.PaymentsMapping), cat(denormalized, executor, timeline, sortKeys, fingerprint), nil},
		{"query.Payment", goFields[query.Payment](t), cat(denormalized, executor), nil},
		{"query API OpenAPI Payment", queryAPI.properties(t, "Payment"), cat(denormalized, executor), nil},
		{"query API OpenAPI Payment (required)", queryAPI.required(t, "Payment"), cat(denormalized, executor), nil},
		{"query API CSV columns", queryhttp.CSVColumns, cat(denormalized, csvOnly, csvExecutor), notExported},
		{"commandhttp.PaymentJSON", goFields[commandhttp.PaymentJSON](t), executor, nil},
		{"command API OpenAPI Payment", commandAPI.properties(t, "Payment"), executor, nil},
		{"command API OpenAPI Payment (required)", commandAPI.required(t, "Payment"), executor, nil},
		{"command.PaymentInput", goFields[command.PaymentInput](t), nil, serverSet},
		{"command API OpenAPI NewPayment", commandAPI.properties(t, "NewPayment"), nil, serverSet},
	} {
		want := cat(slices.DeleteFunc(slices.Clone(base), func(f string) bool { return slices.Contains(s.left, f) }), s.extra)
		if missing, unexpected := compare(want, s.fields); len(missing)+len(unexpected) > 0 {
			t.Errorf("%s: missing %v, unexpected %v (domain.Payment has %v; the intended differences are listed in this test)",
				s.name, missing, unexpected, base)
		}
	}
	// additionalProperties: false makes the tests' response validation
	// fail on a field the API sends but its document does not describe.
	for _, s := range []struct {
		doc    document
		schema string
	}{{commandAPI, "Payment"}, {queryAPI, "Payment"}} {
		if ap, ok := s.doc.schema(t, s.schema)["additionalProperties"].(bool); !ok || ap {
			t.Errorf("OpenAPI schema %s allows additional properties", s.schema)
		}
	}
}

// goFields returns the JSON members of struct type T (jsonFields). For a
// type without its own MarshalJSON they must be what encoding/json writes,
// in order, which checks jsonFields against the real thing.
func goFields[T any](t *testing.T) []string {
	t.Helper()
	var zero T
	fields := jsonFields(t, reflect.TypeFor[T]())
	if _, own := any(zero).(json.Marshaler); !own {
		if w := written(t, zero); !slices.Equal(fields, w) {
			t.Fatalf("%T: jsonFields %v, encoding/json writes %v", zero, fields, w)
		}
	}
	return fields
}

// jsonFields returns the names of the JSON object members encoding/json
// reads and writes for struct type typ, in its order: fields of embedded
// structs are promoted, and of two fields with one name the shallower wins.
// Two at the same depth (which encoding/json would drop) fail the test.
func jsonFields(t *testing.T, typ reflect.Type) []string {
	t.Helper()
	type field struct {
		name  string
		index []int
	}
	var fields []field
	var walk func(typ reflect.Type, index []int)
	walk = func(typ reflect.Type, index []int) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag := f.Tag.Get("json")
			name, _, _ := strings.Cut(tag, ",")
			at := append(slices.Clone(index), i)
			switch {
			case tag == "-":
			case f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct:
				walk(f.Type, at)
			case f.Anonymous && name == "" && f.Type.Kind() == reflect.Pointer:
				t.Fatalf("%v embeds a pointer (%v); this test reads embedded structs only", typ, f.Type)
			case !f.IsExported():
			case name == "":
				fields = append(fields, field{f.Name, at})
			default:
				fields = append(fields, field{name, at})
			}
		}
	}
	walk(typ, nil)
	depth := map[string]int{} // the shallowest field of each name
	for _, f := range fields {
		if d, ok := depth[f.name]; !ok || len(f.index) < d {
			depth[f.name] = len(f.index)
		}
	}
	fields = slices.DeleteFunc(fields, func(f field) bool { return len(f.index) != depth[f.name] })
	for i := 1; i < len(fields); i++ {
		if slices.ContainsFunc(fields[:i], func(g field) bool { return g.name == fields[i].name }) {
			t.Fatalf("%v: two fields named %q at one depth", typ, fields[i].name)
		}
	}
	slices.SortFunc(fields, func(a, b field) int { return slices.Compare(a.index, b.index) })
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// docWithID is a payment document that can be encoded: its sort keys
// need a UUID.
func docWithID() projection.PaymentDoc {
	var d projection.PaymentDoc
	d.ID = "0193a5b2-7c1d-7e4f-8a6b-000000000001"
	return d
}

// indexed returns v encoded as the projector indexes it.
func indexed(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, _, err := projection.EncodeDocument(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// written returns the members of v encoded as a JSON object, in order.
func written(t *testing.T, v any) []string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil { // the object's {
		t.Fatal(err)
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func mappingFields(t *testing.T, mapping string) []string {
	t.Helper()
	var m struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if err := json.Unmarshal([]byte(mapping), &m); err != nil {
		t.Fatal(err)
	}
	return keys(m.Mappings.Properties)
}

// document is a parsed OpenAPI document.
type document struct {
	Components struct {
		Schemas map[string]map[string]any `json:"schemas"`
	} `json:"components"`
}

func openAPI(t *testing.T, b []byte) document {
	t.Helper()
	var d document
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d document) schema(t *testing.T, name string) map[string]any {
	t.Helper()
	s, ok := d.Components.Schemas[name]
	if !ok {
		t.Fatalf("no OpenAPI schema %s", name)
	}
	return s
}

func (d document) properties(t *testing.T, name string) []string {
	t.Helper()
	props, _ := d.schema(t, name)["properties"].(map[string]any)
	return keys(props)
}

func (d document) required(t *testing.T, name string) []string {
	t.Helper()
	var names []string
	req, _ := d.schema(t, name)["required"].([]any)
	for _, r := range req {
		names = append(names, r.(string))
	}
	return names
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

func cat(lists ...[]string) []string { return slices.Concat(lists...) }

// compare returns the names of want missing from got and of got not in
// want (each name once; order ignored).
func compare(want, got []string) (missing, unexpected []string) {
	for _, w := range want {
		if !slices.Contains(got, w) && !slices.Contains(missing, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) && !slices.Contains(unexpected, g) {
			unexpected = append(unexpected, g)
		}
	}
	return missing, unexpected
}
