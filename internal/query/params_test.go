package query_test

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/query"
)

// fields returns the names in an EINVALID error, or fails.
func fields(t *testing.T, err error) []string {
	t.Helper()
	var e *domain.Error
	if !errors.As(err, &e) || e.Code != domain.EINVALID {
		t.Fatalf("err = %v, want an EINVALID *domain.Error", err)
	}
	var out []string
	for _, f := range e.Fields {
		if !slices.Contains(out, f.Field) {
			out = append(out, f.Field)
		}
	}
	slices.Sort(out)
	return out
}

func TestParseSearch(t *testing.T) {
	t.Run("Defaults", func(t *testing.T) {
		req, err := query.ParseSearch(url.Values{}, "")
		if err != nil {
			t.Fatal(err)
		}
		if req.Sort != query.SortDateDesc || req.Limit != 50 || req.Cursor != "" || req.MinLSN != 0 {
			t.Fatalf("got %+v, want sort -date, limit 50, no cursor, no token", req)
		}
	})
	t.Run("ExactTotal", func(t *testing.T) {
		for _, tc := range []struct {
			name, value string
			want        bool
			bad         bool
		}{
			{"Absent", "", false, false},
			{"True", "true", true, false},
			{"False", "false", false, false},
			{"Yes", "yes", false, true},
			{"One", "1", false, true},
			{"UpperCase", "TRUE", false, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				req, err := query.ParseSearch(url.Values{"exact_total": {tc.value}}, "")
				if tc.bad {
					if got := fields(t, err); !slices.Equal(got, []string{"exact_total"}) {
						t.Fatalf("fields %v, want exact_total", got)
					}
					return
				}
				if err != nil || req.ExactTotal != tc.want {
					t.Fatalf("exact_total %v, %v; want %v", req.ExactTotal, err, tc.want)
				}
			})
		}
	})
	t.Run("EveryFilterNormalized", func(t *testing.T) {
		v := url.Values{
			"from":           {"2024-05-01T02:00:00+02:00"},
			"to":             {"2024-06-01T00:00:00.5Z"},
			"customer_id":    {"BBBBBBBB-0000-0000-0000-000000000000", "aaaaaaaa-0000-0000-0000-000000000000", "bbbbbbbb-0000-0000-0000-000000000000"},
			"user_id":        {"cccccccc-0000-0000-0000-000000000000"},
			"status":         {"succeeded", "pending", "succeeded"},
			"currency":       {"EUR", "DKK"},
			"payment_ref_id": {"DDDDDDDD-0000-0000-0000-000000000000"},
			"amount_min":     {"0"},
			"amount_max":     {"1000000000000000"},
			"q":              {"  acme invoice "},
			"sort":           {"-date"},
			"limit":          {"500"},
		}
		req, err := query.ParseSearch(v, domain.EncodeConsistencyToken(42))
		if err != nil {
			t.Fatal(err)
		}
		f := req.Filter
		if !f.From.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) || f.From.Location() != time.UTC {
			t.Errorf("from = %v, want 2024-05-01T00:00:00Z in UTC", f.From)
		}
		if !f.To.Equal(time.Date(2024, 6, 1, 0, 0, 0, 5e8, time.UTC)) {
			t.Errorf("to = %v", f.To)
		}
		if got := strings.Join(f.CustomerIDs, ","); got != "aaaaaaaa-0000-0000-0000-000000000000,bbbbbbbb-0000-0000-0000-000000000000" {
			t.Errorf("customer_id = %s, want sorted, lower case, de-duplicated", got)
		}
		if got := len(f.Statuses); got != 2 || f.Statuses[0] != domain.StatusPending {
			t.Errorf("statuses = %v, want [pending succeeded]", f.Statuses)
		}
		if got := strings.Join(f.Currencies, ","); got != "DKK,EUR" {
			t.Errorf("currencies = %s", got)
		}
		if f.PaymentRefID != "dddddddd-0000-0000-0000-000000000000" {
			t.Errorf("payment_ref_id = %s", f.PaymentRefID)
		}
		if *f.AmountMin != 0 || *f.AmountMax != domain.MaxAmount {
			t.Errorf("amounts = %d..%d", *f.AmountMin, *f.AmountMax)
		}
		if f.Text != "acme invoice" || req.Sort != query.SortDateDesc || req.Limit != 500 || req.MinLSN != 42 {
			t.Errorf("got %+v", req)
		}
	})
	t.Run("PlusAsSpaceInOffset", func(t *testing.T) {
		req, err := query.ParseSearch(url.Values{"from": {"2024-05-01T02:00:00 02:00"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if !req.Filter.From.Equal(time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("from = %v", req.Filter.From)
		}
	})
	t.Run("EmptyValuesAreAbsent", func(t *testing.T) {
		req, err := query.ParseSearch(url.Values{"from": {""}, "status": {""}, "q": {"   "}, "limit": {""}, "cursor": {""}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if req.Filter.From != nil || req.Filter.Statuses != nil || req.Filter.Text != "" || req.Limit != 50 {
			t.Errorf("got %+v, want defaults", req)
		}
	})
	t.Run("TokenParameterAndHeaderTakeTheLater", func(t *testing.T) {
		req, err := query.ParseSearch(url.Values{"consistency_token": {domain.EncodeConsistencyToken(7)}}, domain.EncodeConsistencyToken(9))
		if err != nil || req.MinLSN != 9 {
			t.Fatalf("MinLSN = %d, %v; want 9", req.MinLSN, err)
		}
	})

	bad := []struct {
		name  string
		v     url.Values
		token string
		want  string // comma-separated fields
	}{
		{"UnknownParameter", url.Values{"colour": {"red"}, "Status": {"pending"}}, "", "Status,colour"},
		{"BadFrom", url.Values{"from": {"2024-05-01"}}, "", "from"},
		{"BadTo", url.Values{"to": {"yesterday"}}, "", "to"},
		{"ToNotAfterFrom", url.Values{"from": {"2024-05-01T00:00:00Z"}, "to": {"2024-05-01T00:00:00Z"}}, "", "to"},
		{"RepeatedFrom", url.Values{"from": {"2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"}}, "", "from"},
		{"BadCustomerID", url.Values{"customer_id": {"42"}}, "", "customer_id"},
		{"BadUserID", url.Values{"user_id": {"' OR 1=1 --"}}, "", "user_id"},
		{"BadStatus", url.Values{"status": {"settled"}}, "", "status"},
		{"LowerCaseCurrency", url.Values{"currency": {"dkk"}}, "", "currency"},
		{"UnknownCurrency", url.Values{"currency": {"XXX"}}, "", "currency"},
		{"BadPaymentRef", url.Values{"payment_ref_id": {"abc"}}, "", "payment_ref_id"},
		{"NonNumericAmount", url.Values{"amount_min": {"12.50"}}, "", "amount_min"},
		{"NegativeAmount", url.Values{"amount_max": {"-1"}}, "", "amount_max"},
		{"HugeAmount", url.Values{"amount_max": {"99999999999999999999"}}, "", "amount_max"},
		{"MinAboveMax", url.Values{"amount_min": {"10"}, "amount_max": {"9"}}, "", "amount_max"},
		{"LongText", url.Values{"q": {strings.Repeat("x", 201)}}, "", "q"},
		{"ControlInText", url.Values{"q": {"a\x00b"}}, "", "q"},
		{"UnknownSort", url.Values{"sort": {"name"}}, "", "sort"},
		{"AmountSortWithoutCurrency", url.Values{"sort": {"amount"}}, "", "sort"},
		{"AmountSortAcrossCurrencies", url.Values{"sort": {"-amount"}, "currency": {"EUR", "DKK"}}, "", "sort"},
		{"LimitZero", url.Values{"limit": {"0"}}, "", "limit"},
		{"LimitTooLarge", url.Values{"limit": {"501"}}, "", "limit"},
		{"LimitNotANumber", url.Values{"limit": {"ten"}}, "", "limit"},
		{"CorruptCursor", url.Values{"cursor": {"not-a-cursor"}}, "", "cursor"},
		{"GarbageTokenParameter", url.Values{"consistency_token": {"0/16B3748"}}, "", "consistency_token"},
		{"GarbageTokenHeader", url.Values{}, "garbage", "consistency_token"},
		{"TZNotAllowed", url.Values{"tz": {"UTC"}}, "", "tz"},
		{"EverythingAtOnce", url.Values{
			"from": {"x"}, "to": {"y"}, "customer_id": {"x"}, "user_id": {"x"}, "status": {"x"}, "currency": {"x"},
			"payment_ref_id": {"x"}, "amount_min": {"x"}, "amount_max": {"x"}, "sort": {"x"}, "limit": {"x"},
			"cursor": {"x"}, "consistency_token": {"x"}, "nope": {"1"},
		}, "", "amount_max,amount_min,consistency_token,currency,cursor,customer_id,from,limit,nope,payment_ref_id,sort,status,to,user_id"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := query.ParseSearch(tc.v, tc.token)
			if got := strings.Join(fields(t, err), ","); got != tc.want {
				t.Fatalf("fields = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestParseSummary(t *testing.T) {
	t.Run("DefaultUTC", func(t *testing.T) {
		req, err := query.ParseSummary(url.Values{}, "")
		if err != nil || req.Location != time.UTC {
			t.Fatalf("got %v, %v; want UTC", req.Location, err)
		}
	})
	t.Run("Zone", func(t *testing.T) {
		req, err := query.ParseSummary(url.Values{"tz": {"Europe/Copenhagen"}}, "")
		if err != nil || req.Location.String() != "Europe/Copenhagen" {
			t.Fatalf("got %v, %v", req.Location, err)
		}
	})
	for _, tc := range []struct{ name, tz string }{
		{"Unknown", "Mars/Olympus"},
		{"Local", "Local"},
		{"Path", "../../etc/passwd"},
		{"Absolute", "/etc/localtime"},
		{"Offset", "+02:00"},
	} {
		t.Run("Bad"+tc.name, func(t *testing.T) {
			_, err := query.ParseSummary(url.Values{"tz": {tc.tz}}, "")
			if got := strings.Join(fields(t, err), ","); got != "tz" {
				t.Fatalf("fields = %s, want tz", got)
			}
		})
	}
	t.Run("NoSortLimitCursor", func(t *testing.T) {
		_, err := query.ParseSummary(url.Values{"sort": {"date"}, "limit": {"5"}, "cursor": {"x"}}, "")
		if got := strings.Join(fields(t, err), ","); got != "cursor,limit,sort" {
			t.Fatalf("fields = %s", got)
		}
	})
}

func TestParseExportAndRead(t *testing.T) {
	t.Run("ExportTakesSortNotLimit", func(t *testing.T) {
		req, err := query.ParseExport(url.Values{"sort": {"-amount"}, "currency": {"JPY"}}, "")
		if err != nil || req.Sort != query.SortAmountDesc {
			t.Fatalf("got %v, %v", req.Sort, err)
		}
		if !slices.Equal(req.Columns, query.ExportColumns) || req.Location != time.UTC {
			t.Errorf("columns %v, location %v; want every column in UTC", req.Columns, req.Location)
		}
		_, err = query.ParseExport(url.Values{"limit": {"5"}, "cursor": {"x"}}, "")
		if got := strings.Join(fields(t, err), ","); got != "cursor,limit" {
			t.Fatalf("fields = %s", got)
		}
	})
	t.Run("ExportColumnsAndZone", func(t *testing.T) {
		req, err := query.ParseExport(url.Values{"columns": {"date, amount,currency", "id"}, "tz": {"America/New_York"}}, "")
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(req.Columns, ","); got != "date,amount,currency,id" {
			t.Errorf("columns = %s, want date,amount,currency,id in the order asked", got)
		}
		if req.Location.String() != "America/New_York" {
			t.Errorf("location = %v", req.Location)
		}
	})
	for name, tc := range map[string]struct {
		v    url.Values
		want string
	}{
		"ErrUnknownColumn":        {url.Values{"columns": {"id,password_hash"}}, "columns"},
		"ErrDuplicateColumn":      {url.Values{"columns": {"id,id"}}, "columns"},
		"ErrUnknownZone":          {url.Values{"tz": {"Mars/Olympus"}}, "tz"},
		"ErrColumnsAndZone":       {url.Values{"columns": {"nope"}, "tz": {"../etc"}}, "columns,tz"},
		"ErrAmountSortNoCurrency": {url.Values{"sort": {"amount"}}, "sort"},
	} {
		t.Run("Export"+name, func(t *testing.T) {
			_, err := query.ParseExport(tc.v, "")
			if got := strings.Join(fields(t, err), ","); got != tc.want {
				t.Fatalf("fields = %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("ReadTakesOnlyToken", func(t *testing.T) {
		req, err := query.ParseRead(url.Values{"consistency_token": {domain.EncodeConsistencyToken(5)}}, "")
		if err != nil || req.MinLSN != 5 {
			t.Fatalf("got %d, %v", req.MinLSN, err)
		}
		_, err = query.ParseRead(url.Values{"status": {"pending"}}, "")
		if got := strings.Join(fields(t, err), ","); got != "status" {
			t.Fatalf("fields = %s", got)
		}
	})
	t.Run("MalformedQueryString", func(t *testing.T) {
		_, err := query.ParseQuery("status=%zz")
		if got := strings.Join(fields(t, err), ","); got != "query" {
			t.Fatalf("fields = %s", got)
		}
	})
}

func TestParseManyUnknownParameters(t *testing.T) {
	v := url.Values{}
	for i := range 100 {
		v.Set(fmt.Sprintf("p%03d", i), "1")
	}
	_, err := query.ParseSearch(v, "")
	var e *domain.Error
	if !errors.As(err, &e) || len(e.Fields) != 21 || e.Fields[20].Field != "query" {
		t.Fatalf("got %d field errors, want 20 named and one summary", len(e.Fields))
	}
}
