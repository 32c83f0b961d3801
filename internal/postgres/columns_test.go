package postgres

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// TestPaymentColumns: the statements that read payments select a column
// for every field of domain.Payment (named like its JSON field, which is
// also what an idempotent replay decodes from to_jsonb), and the
// projector's document read adds exactly the view's denormalized names. A
// field added to the payment but not read here would stay zero silently
// (internal/shapetest checks the other places a payment is spelled out).
func TestPaymentColumns(t *testing.T) {
	fields := func(typ reflect.Type) []string {
		var names []string
		for i := range typ.NumField() {
			if f := typ.Field(i); !f.Anonymous {
				name := strings.Split(f.Tag.Get("json"), ",")[0]
				if name == "-" { // a column the JSON does not show
					name = f.Tag.Get("db")
				}
				names = append(names, name)
			}
		}
		return names
	}
	payment := fields(reflect.TypeFor[domain.Payment]())
	if cols := strings.Split(paymentColumns, ", "); !slices.Equal(cols, payment) {
		t.Errorf("paymentColumns %v, domain.Payment %v", cols, payment)
	}
	if n := len(paymentDest(&domain.Payment{})); n != len(payment) {
		t.Errorf("paymentDest scans %d columns, domain.Payment has %d fields", n, len(payment))
	}
	var docCols, names []string
	for _, c := range strings.Split(docPaymentColumns, ",") {
		c = strings.TrimSpace(c)
		if col, ok := strings.CutPrefix(c, "p."); ok {
			docCols = append(docCols, strings.TrimSuffix(col, "::text"))
		} else if !strings.HasPrefix(c, "''") { // coalesce(x.name, '') splits in two
			names = append(names, c)
		}
	}
	// The document read takes the payment's api_key_id (a field the JSON
	// does not name) with the key's name in docPaymentExecutor, which is
	// what executed_by, the view's last field, is built from.
	docPayment := slices.DeleteFunc(slices.Clone(payment), func(f string) bool { return f == "api_key_id" })
	extras := fields(reflect.TypeFor[domain.PaymentView]())
	if !slices.Equal(docCols, docPayment) || len(names)+1 != len(extras) || extras[len(extras)-1] != "executed_by" ||
		!strings.Contains(docPaymentExecutor, "p.api_key_id") {
		t.Errorf("docPaymentColumns reads %v and %d names; domain.PaymentView has %v and %v", docCols, len(names), docPayment, extras)
	}
}
