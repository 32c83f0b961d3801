package queryhttp_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/httpapi/queryhttp"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/query/querytest"
)

// world is a small fixed read model: linked (L) and revoked (R) users on
// customer C1, the unlinked user (U) on C2.
type world struct {
	l, u, r string
	c1, c2  projection.CustomerDoc
	p1, p2  []projection.PaymentDoc
}

func newWorld(rnd *mrand.Rand) *world {
	w := &world{l: uuidFrom(rnd), u: uuidFrom(rnd), r: uuidFrom(rnd)}
	users := map[string]projection.CustomerUser{
		w.l: {ID: w.l, Name: "Linda Linked", Email: "l@example.com"},
		w.u: {ID: w.u, Name: "Uma Unlinked", Email: "u@example.com"},
		w.r: {ID: w.r, Name: "Rolf Revoked", Email: "r@example.com"},
	}
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	w.c1 = projection.CustomerDoc{ID: uuidFrom(rnd), Name: "Acme", CreatedAt: now, UpdatedAt: now,
		UserIDs: []string{w.l, w.r}, Users: []projection.CustomerUser{users[w.l], users[w.r]}}
	w.c2 = projection.CustomerDoc{ID: uuidFrom(rnd), Name: "Beta", CreatedAt: now, UpdatedAt: now,
		UserIDs: []string{w.u}, Users: []projection.CustomerUser{users[w.u]}}
	mk := func(c projection.CustomerDoc, u string, i int) projection.PaymentDoc {
		d := now.Add(time.Duration(i) * time.Hour)
		return projection.PaymentDoc{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: uuidFrom(rnd), PaymentRefID: uuidFrom(rnd), CustomerID: c.ID, UserID: u,
			Amount: int64(1000 + i), Currency: "DKK", ThirdParty: "Shop " + c.Name, Status: domain.StatusSucceeded,
			Date: d, CreatedAt: d, UpdatedAt: d}, CustomerName: c.Name, UserName: users[u].Name, UserEmail: users[u].Email,
			ExecutedBy: userExecutor(u, users[u].Name, users[u].Email)}}
	}
	for i := range 5 {
		w.p1 = append(w.p1, mk(w.c1, w.l, i))
	}
	// p1[0] went through the lifecycle: its timeline, as the projector
	// writes it.
	at := w.p1[0].CreatedAt
	processed := at.Add(1500 * time.Millisecond)
	w.p1[0].Attempts, w.p1[0].ProcessedAt = 1, &processed
	w.p1[0].Events = []projection.EventDoc{
		{ID: 11, Type: domain.EventPaymentCreated, Data: json.RawMessage(`{}`), CreatedAt: at},
		{ID: 12, Type: domain.EventPaymentProcessing, Data: json.RawMessage(`{"attempt":1}`), CreatedAt: at.Add(time.Second)},
		{ID: 15, Type: domain.EventPaymentSucceeded, Data: json.RawMessage(`{"attempt":1,"provider_reference":"ref <&> \u2028"}`), CreatedAt: processed},
	}
	for i := range 3 {
		w.p2 = append(w.p2, mk(w.c2, w.u, i))
	}
	return w
}

func (w *world) load(s *stack) {
	s.putCustomers(w.c1, w.c2)
	s.putPayments(append(slices.Clone(w.p1), w.p2...)...)
}

// visible is what one caller sees of C1 through every read.
type visible struct {
	search, summary, export int64
	read, customer          bool
}

func (s *stack) visibleOfC1(t *testing.T, w *world, user string) visible {
	t.Helper()
	tok := s.token(user)
	var v visible
	var page query.Page
	s.get(t, tok, "/v1/payments", url.Values{"customer_id": {w.c1.ID}}).decode(t, &page)
	v.search = page.Total
	var sum query.Summary
	s.get(t, tok, "/v1/payments/summary", url.Values{"customer_id": {w.c1.ID}}).decode(t, &sum)
	v.summary = sum.Count
	v.export = int64(len(s.exportCSV(t, tok, url.Values{"customer_id": {w.c1.ID}})) - 1)
	res := s.get(t, tok, "/v1/payments/"+w.p1[0].ID, nil)
	switch res.status {
	case http.StatusOK:
		v.read = true
	case http.StatusNotFound:
	default:
		t.Fatalf("read: status %d", res.status)
	}
	// The timeline is visible exactly when the payment is.
	if ev := s.get(t, tok, "/v1/payments/"+w.p1[0].ID+"/events", nil); ev.status != res.status {
		t.Fatalf("events: status %d, the payment's %d", ev.status, res.status)
	}
	var cs struct{ Data []query.Customer }
	s.get(t, tok, "/v1/customers", nil).decode(t, &cs)
	for _, c := range cs.Data {
		v.customer = v.customer || c.ID == w.c1.ID
	}
	return v
}

func TestPermissions(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{Options: query.Options{ScopeTTL: query.MaxScopeTTL}})
	w := newWorld(mrand.New(mrand.NewPCG(1, 2)))
	w.load(s)
	all := visible{search: 5, summary: 5, export: 5, read: true, customer: true}
	none := visible{}

	t.Run("Linked", func(t *testing.T) {
		if got := s.visibleOfC1(t, w, w.l); got != all {
			t.Fatalf("got %+v, want %+v", got, all)
		}
	})
	t.Run("Unlinked", func(t *testing.T) {
		if got := s.visibleOfC1(t, w, w.u); got != none {
			t.Fatalf("got %+v, want %+v", got, none)
		}
		// Without a customer filter the unlinked user sees only C2.
		var page query.Page
		s.get(t, s.token(w.u), "/v1/payments", url.Values{"limit": {"500"}}).decode(t, &page)
		if page.Total != 3 {
			t.Fatalf("total %d, want C2's 3", page.Total)
		}
		for _, p := range page.Data {
			if p.CustomerID != w.c2.ID {
				t.Fatalf("unlinked user sees %s of %s", p.ID, p.CustomerID)
			}
		}
		var sum query.Summary
		s.get(t, s.token(w.u), "/v1/payments/summary", nil).decode(t, &sum)
		if sum.Count != 3 || sum.SumByCurrency["DKK"] != 1000+1001+1002 {
			t.Fatalf("summary %+v, want C2's 3 payments", sum)
		}
	})
	t.Run("UnknownUser", func(t *testing.T) {
		if got := s.visibleOfC1(t, w, uuidFrom(mrand.New(mrand.NewPCG(9, 9)))); got != none {
			t.Fatalf("got %+v, want %+v", got, none)
		}
	})
	t.Run("Revoked", func(t *testing.T) {
		if got := s.visibleOfC1(t, w, w.r); got != all {
			t.Fatalf("before revocation got %+v, want %+v", got, all)
		}
		c1 := w.c1
		c1.UserIDs = []string{w.l}
		c1.Users = c1.Users[:1]
		s.putCustomers(c1) // what the projector does on unlink (refreshed)
		// Scopes are cached for at most ScopeTTL, so every read that starts
		// that long after the read model has the unlink must deny access.
		time.Sleep(query.MaxScopeTTL)
		if got := s.visibleOfC1(t, w, w.r); got != none {
			t.Fatalf("%s after revocation still %+v", query.MaxScopeTTL, got)
		}
		if got := s.visibleOfC1(t, w, w.l); got != all {
			t.Fatalf("the remaining linked user got %+v, want %+v", got, all)
		}
	})

	t.Run("Authentication", func(t *testing.T) {
		_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
		foreign, _ := auth.NewIssuer(otherKey, testIssuer, testAudience, time.Hour).Issue(w.l)
		expired, _ := auth.NewIssuer(otherKey, testIssuer, testAudience, -time.Hour).Issue(w.l)
		wrongAud, _ := auth.NewIssuer(otherKey, testIssuer, "other", time.Hour).Issue(w.l)
		for _, path := range []string{"/v1/payments", "/v1/payments/summary", "/v1/payments/export.csv", "/v1/payments/" + w.p1[0].ID, "/v1/customers"} {
			for name, tok := range map[string]string{"None": "", "ForeignKey": foreign, "Expired": expired, "WrongAudience": wrongAud, "Garbage": "x.y.z"} {
				t.Run(name+strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
					res := s.get(t, tok, path, nil)
					if res.status != http.StatusUnauthorized || res.header.Get("WWW-Authenticate") == "" {
						t.Fatalf("status %d, want 401 with WWW-Authenticate", res.status)
					}
				})
			}
		}
	})
}

func TestCustomersAndPayment(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{})
	w := newWorld(mrand.New(mrand.NewPCG(3, 4)))
	w.load(s)
	email := "shop@example.com"
	c3 := projection.CustomerDoc{ID: uuidFrom(mrand.New(mrand.NewPCG(5, 6))), Name: "aardvark", Email: &email,
		UserIDs: []string{w.l}, Users: []projection.CustomerUser{{ID: w.l, Name: "Linda Linked", Email: "l@example.com"}}}
	s.putCustomers(c3)

	t.Run("CustomersSortedByName", func(t *testing.T) {
		var cs struct{ Data []query.Customer }
		s.get(t, s.token(w.l), "/v1/customers", nil).decode(t, &cs)
		if len(cs.Data) != 2 || cs.Data[0].Name != "aardvark" || cs.Data[1].Name != "Acme" {
			t.Fatalf("got %+v, want aardvark, Acme", cs.Data)
		}
		if *cs.Data[0].Email != email || cs.Data[1].Email != nil {
			t.Fatalf("emails %v, %v", cs.Data[0].Email, cs.Data[1].Email)
		}
		if got := cs.Data[1].Users; len(got) != 2 || got[0].Name != "Linda Linked" || got[1].Email != "r@example.com" {
			t.Fatalf("users of Acme = %+v", got)
		}
	})
	t.Run("PaymentByID", func(t *testing.T) {
		var p query.Payment
		res := s.get(t, s.token(w.l), "/v1/payments/"+strings.ToUpper(w.p1[2].ID), nil)
		res.decode(t, &p)
		want := asPayments(w.p1[2:3])[0]
		if res.status != http.StatusOK || !reflect.DeepEqual(normalize(p), normalize(want)) {
			t.Fatalf("status %d\n got %+v\nwant %+v", res.status, p, want)
		}
	})
	t.Run("MissingPayment", func(t *testing.T) {
		res := s.get(t, s.token(w.l), "/v1/payments/"+uuidFrom(mrand.New(mrand.NewPCG(7, 7))), nil)
		if res.status != http.StatusNotFound || res.problem(t).Code != domain.ENOTFOUND {
			t.Fatalf("status %d %s, want 404", res.status, res.body)
		}
	})
	t.Run("Events", func(t *testing.T) {
		res := s.get(t, s.token(w.l), "/v1/payments/"+strings.ToUpper(w.p1[0].ID)+"/events", nil)
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		// Byte for byte: ids, types, data (HTML-unsafe characters escaped
		// as everywhere in the API) and times, oldest first.
		id := w.p1[0].ID
		want := `{"data":[{"id":11,"payment_id":"` + id + `","type":"payment.created","data":{},"created_at":"2024-05-01T12:00:00Z"},` +
			`{"id":12,"payment_id":"` + id + `","type":"payment.processing","data":{"attempt":1},"created_at":"2024-05-01T12:00:01Z"},` +
			`{"id":15,"payment_id":"` + id + `","type":"payment.succeeded","data":{"attempt":1,"provider_reference":"ref \u003c\u0026\u003e \u2028"},` +
			`"created_at":"2024-05-01T12:00:01.5Z"}]}` + "\n"
		if string(res.body) != want {
			// The engine may re-order an object's keys; compare values then.
			var got, exp any
			_ = json.Unmarshal(res.body, &got)
			_ = json.Unmarshal([]byte(want), &exp)
			if !reflect.DeepEqual(got, exp) || !strings.Contains(string(res.body), `\u003c\u0026\u003e \u2028`) {
				t.Fatalf("events\n got %s\nwant %s", res.body, want)
			}
		}
	})
	t.Run("EventsOfPaymentWithoutTimeline", func(t *testing.T) {
		var evs query.Events
		res := s.get(t, s.token(w.l), "/v1/payments/"+w.p1[1].ID+"/events", nil)
		res.decode(t, &evs)
		if res.status != http.StatusOK || evs.Data == nil || len(evs.Data) != 0 {
			t.Fatalf("status %d %s, want 200 and an empty list", res.status, res.body)
		}
	})
	t.Run("EventsNotVisible", func(t *testing.T) {
		for _, path := range []string{w.p2[0].ID, uuidFrom(mrand.New(mrand.NewPCG(7, 7)))} {
			res := s.get(t, s.token(w.l), "/v1/payments/"+path+"/events", nil)
			if res.status != http.StatusNotFound || res.problem(t).Code != domain.ENOTFOUND {
				t.Fatalf("status %d %s, want 404", res.status, res.body)
			}
		}
	})
	t.Run("PaymentsLeaveTheTimelineOut", func(t *testing.T) {
		for _, path := range []string{"/v1/payments/" + w.p1[0].ID, "/v1/payments"} {
			res := s.get(t, s.token(w.l), path, nil)
			if res.status != http.StatusOK || strings.Contains(string(res.body), `"events"`) || strings.Contains(string(res.body), "payment.created") {
				t.Fatalf("GET %s: status %d %s, want 200 without the timeline", path, res.status, res.body)
			}
		}
		var p query.Payment
		s.get(t, s.token(w.l), "/v1/payments/"+w.p1[0].ID, nil).decode(t, &p)
		if p.Attempts != 1 || p.ProcessedAt == nil || !p.ProcessedAt.Equal(*w.p1[0].ProcessedAt) {
			t.Fatalf("payment %+v, want attempts 1 and processed_at %v", p, w.p1[0].ProcessedAt)
		}
	})
}

func TestValidation(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{})
	w := newWorld(mrand.New(mrand.NewPCG(5, 6)))
	w.load(s)
	tok := s.token(w.l)

	// A real cursor of the linked user, for the foreign-cursor cases.
	var page query.Page
	s.get(t, tok, "/v1/payments", url.Values{"limit": {"2"}, "sort": {"amount"}, "currency": {"DKK"}}).decode(t, &page)
	if page.NextCursor == nil {
		t.Fatal("no cursor")
	}
	cur := *page.NextCursor
	corrupt := []byte(cur)
	corrupt[len(corrupt)/2] ^= 1

	for _, tc := range []struct {
		name   string
		user   string
		path   string
		params url.Values
		raw    string // raw query string instead of params
		header string // X-Consistency-Token
		want   string
	}{
		{name: "UnknownParameters", path: "/v1/payments", params: url.Values{"page": {"2"}, "customer": {"x"}}, want: "customer,page"},
		{name: "BadDates", path: "/v1/payments", params: url.Values{"from": {"2024-13-01T00:00:00Z"}, "to": {"tomorrow"}}, want: "from,to"},
		{name: "BadUUIDs", path: "/v1/payments", params: url.Values{"customer_id": {"1"}, "user_id": {"2"}, "payment_ref_id": {"3"}}, want: "customer_id,payment_ref_id,user_id"},
		{name: "NonNumericAmounts", path: "/v1/payments", params: url.Values{"amount_min": {"1e3"}, "amount_max": {"ten"}}, want: "amount_max,amount_min"},
		{name: "LimitOutOfRange", path: "/v1/payments", params: url.Values{"limit": {"1000"}}, want: "limit"},
		{name: "UnknownSort", path: "/v1/payments", params: url.Values{"sort": {"-name"}}, want: "sort"},
		{name: "BadStatusAndCurrency", path: "/v1/payments", params: url.Values{"status": {"done"}, "currency": {"EURO"}}, want: "currency,status"},
		{name: "BadFailureCodeAndRefunded", path: "/v1/payments", params: url.Values{"failure_code": {"ok", strings.Repeat("x", 65)}, "refunded": {"yes"}}, want: "failure_code,refunded"},
		{name: "FailureCodeControlCharacter", path: "/v1/payments/summary", params: url.Values{"failure_code": {"a\x00b"}}, want: "failure_code"},
		{name: "RefundedTwice", path: "/v1/payments/export.csv", params: url.Values{"refunded": {"true", "false"}}, want: "refunded"},
		{name: "CursorOfAnotherLifecycleFilter", path: "/v1/payments", params: url.Values{"cursor": {cur}, "sort": {"amount"}, "currency": {"DKK"}, "refunded": {"false"}}, want: "cursor"},
		{name: "EventsBadID", path: "/v1/payments/not-a-uuid/events", want: "id"},
		{name: "EventsUnknownParameter", path: "/v1/payments/" + w.p1[0].ID + "/events", params: url.Values{"limit": {"5"}}, want: "limit"},
		{name: "CorruptCursor", path: "/v1/payments", params: url.Values{"cursor": {string(corrupt)}, "sort": {"amount"}, "currency": {"DKK"}, "limit": {"2"}}, want: "cursor"},
		{name: "CursorOfAnotherUser", user: w.r, path: "/v1/payments", params: url.Values{"cursor": {cur}, "sort": {"amount"}, "currency": {"DKK"}, "limit": {"2"}}, want: "cursor"},
		{name: "CursorOfAnotherSort", path: "/v1/payments", params: url.Values{"cursor": {cur}, "sort": {"-amount"}, "currency": {"DKK"}}, want: "cursor"},
		{name: "CursorOfAnotherQuery", path: "/v1/payments", params: url.Values{"cursor": {cur}, "sort": {"amount"}, "currency": {"DKK"}, "status": {"pending"}}, want: "cursor"},
		{name: "BadExactTotal", path: "/v1/payments", params: url.Values{"exact_total": {"yes"}}, want: "exact_total"},
		{name: "ExactTotalTwice", path: "/v1/payments", params: url.Values{"exact_total": {"true", "false"}}, want: "exact_total"},
		{name: "SummaryNoExactTotal", path: "/v1/payments/summary", params: url.Values{"exact_total": {"true"}}, want: "exact_total"},
		{name: "ExportNoExactTotal", path: "/v1/payments/export.csv", params: url.Values{"exact_total": {"true"}}, want: "exact_total"},
		{name: "GarbageTokenParameter", path: "/v1/payments", params: url.Values{"consistency_token": {"abc"}}, want: "consistency_token"},
		{name: "GarbageTokenHeader", path: "/v1/customers", header: "c1.xyz", want: "consistency_token"},
		{name: "MalformedQueryString", path: "/v1/payments", raw: "status=%zz", want: "query"},
		{name: "SummaryBadZone", path: "/v1/payments/summary", params: url.Values{"tz": {"Mars/Base"}}, want: "tz"},
		{name: "SummaryNoPaging", path: "/v1/payments/summary", params: url.Values{"limit": {"5"}, "sort": {"date"}}, want: "limit,sort"},
		{name: "ExportNoLimit", path: "/v1/payments/export.csv", params: url.Values{"limit": {"5"}}, want: "limit"},
		{name: "ExportBadFilters", path: "/v1/payments/export.csv", params: url.Values{"from": {"x"}, "amount_min": {"-5"}}, want: "amount_min,from"},
		{name: "PaymentBadID", path: "/v1/payments/not-a-uuid", want: "id"},
		{name: "PaymentUnknownParameter", path: "/v1/payments/" + w.p1[0].ID, params: url.Values{"expand": {"all"}}, want: "expand"},
		{name: "CustomersUnknownParameter", path: "/v1/customers", params: url.Values{"q": {"acme"}}, want: "q"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := tc.user
			if user == "" {
				user = w.l
			}
			var hdr []string
			if tc.header != "" {
				hdr = []string{"X-Consistency-Token", tc.header}
			}
			var res response
			if tc.raw != "" {
				res = s.getURL(t, s.token(user), s.url+tc.path+"?"+tc.raw, hdr...)
			} else {
				res = s.get(t, s.token(user), tc.path, tc.params, hdr...)
			}
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", res.status, res.body)
			}
			p := res.problem(t)
			var got []string
			for _, f := range p.Errors {
				if !slices.Contains(got, f.Field) {
					got = append(got, f.Field)
				}
			}
			slices.Sort(got)
			if strings.Join(got, ",") != tc.want || p.Code != domain.EINVALID {
				t.Fatalf("code %s fields %v, want invalid naming %s: %s", p.Code, got, tc.want, res.body)
			}
		})
	}
	t.Run("CursorOfSameQueryInOtherOrder", func(t *testing.T) {
		// Parameter order and id case do not change the query.
		q := url.Values{"sort": {"amount"}, "currency": {"DKK"}, "limit": {"2"}, "customer_id": {strings.ToUpper(w.c1.ID), w.c2.ID}}
		var first query.Page
		s.get(t, tok, "/v1/payments", q).decode(t, &first)
		raw := "customer_id=" + w.c2.ID + "&customer_id=" + w.c1.ID + "&limit=3&sort=amount&currency=DKK&cursor=" + url.QueryEscape(*first.NextCursor)
		res := s.getURL(t, tok, s.url+"/v1/payments?"+raw)
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
	})
}

// TestTotalRelation runs with a total limit of 3 over the linked user's 5
// payments: beyond the limit total is the lower bound 3 ("gte"), at or
// below it exact, and exact_total=true always counts exactly without
// changing the rows or invalidating cursors. The summary stays exact.
func TestTotalRelation(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{Options: query.Options{TotalHitsLimit: 3}})
	w := newWorld(mrand.New(mrand.NewPCG(31, 32)))
	w.load(s)
	tok := s.token(w.l)
	search := func(t *testing.T, q url.Values) query.Page {
		t.Helper()
		res := s.get(t, tok, "/v1/payments", q)
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		var page query.Page
		res.decode(t, &page)
		return page
	}
	for _, tc := range []struct {
		name     string
		params   url.Values
		total    int64
		relation string
		rows     int
	}{
		{"BeyondLimit", url.Values{}, 3, query.TotalGreaterEqual, 5},
		{"BeyondLimitExactFalse", url.Values{"exact_total": {"false"}}, 3, query.TotalGreaterEqual, 5},
		{"ExactTotal", url.Values{"exact_total": {"true"}}, 5, query.TotalEqual, 5},
		{"AtLimit", url.Values{"amount_max": {"1002"}}, 3, query.TotalEqual, 3},
		{"BelowLimit", url.Values{"amount_max": {"1001"}}, 2, query.TotalEqual, 2},
		{"Empty", url.Values{"status": {"failed"}}, 0, query.TotalEqual, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := search(t, tc.params)
			if page.Total != tc.total || page.TotalRelation != tc.relation || len(page.Data) != tc.rows {
				t.Fatalf("total %d %q, %d rows; want %d %q, %d rows", page.Total, page.TotalRelation, len(page.Data), tc.total, tc.relation, tc.rows)
			}
		})
	}
	t.Run("CursorsIgnoreExactTotal", func(t *testing.T) {
		var ids []string
		cursor := ""
		for i, exact := range []string{"true", "", "false"} {
			q := url.Values{"limit": {"2"}, "sort": {"amount"}, "currency": {"DKK"}}
			if exact != "" {
				q.Set("exact_total", exact)
			}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			page := search(t, q)
			for _, p := range page.Data {
				ids = append(ids, p.ID)
			}
			if (i < 2) != page.HasMore {
				t.Fatalf("page %d: has_more %v", i, page.HasMore)
			}
			if page.NextCursor != nil {
				cursor = *page.NextCursor
			}
		}
		var want []string
		for _, p := range w.p1 {
			want = append(want, p.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("walk %v, want %v", ids, want)
		}
	})
	t.Run("SummaryExact", func(t *testing.T) {
		var sum query.Summary
		s.get(t, tok, "/v1/payments/summary", nil).decode(t, &sum)
		if sum.Count != 5 {
			t.Fatalf("summary count %d, want the exact 5", sum.Count)
		}
	})
}

func TestReadYourWrites(t *testing.T) {
	t.Parallel()
	const wait = 2 * time.Second
	s := mustStack(t, stackOptions{Options: query.Options{MaxWait: wait}})
	w := newWorld(mrand.New(mrand.NewPCG(7, 8)))
	w.load(s)
	s.setApplied(100)
	tok := s.token(w.l)
	token := domain.EncodeConsistencyToken

	t.Run("AlreadyApplied", func(t *testing.T) {
		res := s.get(t, tok, "/v1/payments", url.Values{"consistency_token": {token(100)}})
		if res.status != http.StatusOK {
			t.Fatalf("status %d, want 200", res.status)
		}
	})
	t.Run("AdvancedDuringWait", func(t *testing.T) {
		// The write becomes searchable 300ms later: a payment and the
		// position that covers it.
		late := w.p1[0]
		late.ID, late.PaymentRefID = uuidFrom(mrand.New(mrand.NewPCG(11, 12))), uuidFrom(mrand.New(mrand.NewPCG(13, 14)))
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(300 * time.Millisecond)
			s.putPayments(late)
			s.setApplied(200)
		}()
		start := time.Now()
		res := s.get(t, tok, "/v1/payments/"+late.ID, nil, "X-Consistency-Token", token(200))
		wg.Wait()
		if res.status != http.StatusOK {
			t.Fatalf("status %d: %s", res.status, res.body)
		}
		if d := time.Since(start); d < 300*time.Millisecond {
			t.Fatalf("answered after %s, before the position was applied", d)
		}
	})
	for _, path := range []string{"/v1/payments", "/v1/payments/summary", "/v1/payments/export.csv", "/v1/payments/" + w.p1[0].ID, "/v1/customers"} {
		t.Run("NeverApplied"+strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			res := s.get(t, tok, path, url.Values{"consistency_token": {token(1 << 40)}})
			d := time.Since(start)
			if res.status != http.StatusServiceUnavailable || res.header.Get("Retry-After") == "" {
				t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", res.status, res.header.Get("Retry-After"))
			}
			if d < wait || d > 3*wait {
				t.Fatalf("gave up after %s, want about the %s wait", d, wait)
			}
			if p := res.problem(t); p.Code != "consistency_timeout" {
				t.Fatalf("problem code %q", p.Code)
			}
		})
	}
	t.Run("NoStateYet", func(t *testing.T) {
		s2 := mustStack(t, stackOptions{Options: query.Options{MaxWait: 300 * time.Millisecond}})
		s2.engine(http.MethodDelete, "/"+projection.StateIndex(s2.prefix), nil)
		res := s2.get(t, s2.token(w.l), "/v1/customers", url.Values{"consistency_token": {token(1)}})
		if res.status != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", res.status)
		}
		res = s2.get(t, s2.token(w.l), "/v1/customers", url.Values{"consistency_token": {token(0)}})
		if res.status != http.StatusOK {
			t.Fatalf("token 0: status %d, want 200", res.status)
		}
	})
}

// TestCursorWalkUnderInserts walks every sort with small pages while
// payments are inserted throughout the range: no payment may appear twice,
// none that existed when the walk began may be missing, and the order
// must be strictly monotone.
func TestCursorWalkUnderInserts(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{})
	rnd := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 1))
	w := newWorld(rnd)
	s.putCustomers(w.c1)
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var existing []string
	mk := func(r *mrand.Rand) projection.PaymentDoc {
		d := start.Add(time.Duration(r.IntN(100_000)) * time.Second)
		p := w.p1[0]
		p.ID, p.PaymentRefID, p.Date, p.Amount = uuidFrom(r), uuidFrom(r), d, int64(1+r.IntN(50))
		return p
	}
	var docs []projection.PaymentDoc
	for range 500 {
		docs = append(docs, mk(rnd))
	}
	s.putPayments(docs...)
	for _, d := range docs {
		existing = append(existing, d.ID)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 2))
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			batch := make([]projection.PaymentDoc, 8)
			for i := range batch {
				batch[i] = mk(r)
			}
			s.putPayments(batch...)
			mu.Lock()
			for _, d := range batch {
				existing = append(existing, d.ID)
			}
			mu.Unlock()
		}
	}()
	defer func() { close(stop); wg.Wait() }()

	tok := s.token(w.l)
	for _, sort := range []query.Sort{query.SortDate, query.SortDateDesc, query.SortAmount, query.SortAmountDesc} {
		t.Run(string(sort), func(t *testing.T) {
			mu.Lock()
			before := slices.Clone(existing)
			mu.Unlock()
			params := url.Values{"sort": {string(sort)}, "limit": {"9"}}
			if sort.Field() == "amount" {
				params.Set("currency", "DKK") // every payment here is DKK; amounts sort within one currency
			}
			seen := map[string]bool{}
			var prev *query.SortKey
			inserted := 0
			for pages := 0; ; pages++ {
				var page query.Page
				res := s.get(t, tok, "/v1/payments", params)
				if res.status != http.StatusOK {
					t.Fatalf("status %d: %s", res.status, res.body)
				}
				res.decode(t, &page)
				for _, p := range page.Data {
					if seen[p.ID] {
						t.Fatalf("page %d: %s returned twice", pages, p.ID)
					}
					seen[p.ID] = true
					k := querytest.Key(sort, p)
					if prev != nil && querytest.Compare(sort, *prev, k) >= 0 {
						t.Fatalf("page %d: %+v does not come after %+v", pages, k, *prev)
					}
					prev = &k
				}
				if !page.HasMore {
					break
				}
				params.Set("cursor", *page.NextCursor)
			}
			for _, id := range before {
				if !seen[id] {
					t.Fatalf("%s existed when the walk began but was skipped", id)
				}
			}
			inserted = len(seen) - len(before)
			t.Logf("%d pre-existing, %d inserted during the walk were also seen", len(before), inserted)
		})
	}
	mu.Lock()
	total := len(existing)
	mu.Unlock()
	if total < 520 {
		t.Fatalf("only %d payments: the inserter did not run during the walks", total)
	}
}

func TestOpenAPIDocument(t *testing.T) {
	s := memoryStack(t, querytest.NewMemory(), query.Options{})
	res := s.get(t, "", "/openapi.json", nil)
	if res.status != http.StatusOK {
		t.Fatalf("status %d", res.status)
	}
	if string(res.body) != string(queryhttp.OpenAPI) {
		t.Fatal("served document differs from the embedded one")
	}
	sp := mustSpec(t)
	if sp.doc["openapi"] != "3.1.0" {
		t.Fatalf("openapi = %v, want 3.1.0", sp.doc["openapi"])
	}
	// The document itself is well-formed (references resolve, schemas are
	// schemas, parameters are complete).
	doc, err := openapi3.NewLoader().LoadFromData(queryhttp.OpenAPI)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid OpenAPI document: %v", err)
	}
	// Every operation documents exactly the parameters it accepts.
	params := sp.doc["components"].(map[string]any)["parameters"].(map[string]any)
	for path, op := range map[string]string{
		"/v1/payments": "search", "/v1/payments/summary": "summary", "/v1/payments/export.csv": "export",
		"/v1/payments/{id}": "read", "/v1/payments/{id}/events": "read", "/v1/customers": "read",
	} {
		t.Run(op+strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
			get := sp.doc["paths"].(map[string]any)[path].(map[string]any)["get"].(map[string]any)
			var documented []string
			for _, p := range get["parameters"].([]any) {
				p := p.(map[string]any)
				if ref, ok := p["$ref"].(string); ok {
					p = params[ref[strings.LastIndex(ref, "/")+1:]].(map[string]any)
				}
				if p["in"] == "query" {
					documented = append(documented, p["name"].(string))
				}
			}
			accepted := query.Parameters(op)
			slices.Sort(documented)
			slices.Sort(accepted)
			if !slices.Equal(documented, accepted) {
				t.Fatalf("documented %v, accepted %v", documented, accepted)
			}
		})
	}
}

// failingSearcher fails every Search after the first n.
type failingSearcher struct {
	*querytest.Memory
	mu sync.Mutex
	n  int
}

func (f *failingSearcher) Search(ctx context.Context, q query.SearchQuery) (query.SearchResult, error) {
	f.mu.Lock()
	f.n--
	fail := f.n < 0
	f.mu.Unlock()
	if fail {
		return query.SearchResult{}, fmt.Errorf("engine gone")
	}
	return f.Memory.Search(ctx, q)
}

func TestExportFailures(t *testing.T) {
	m := querytest.NewMemory()
	const user = "aaaaaaaa-0000-4000-8000-00000000000a"
	cid := "cccccccc-0000-4000-8000-00000000000c"
	m.PutCustomer(query.Customer{ID: cid, Name: "Acme", Users: []query.User{{ID: user}}})
	for i := range 5 {
		m.PutPayment(query.Payment{PaymentView: domain.PaymentView{Payment: domain.Payment{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i),
			CustomerID: cid, UserID: user, Amount: 1, Currency: "DKK", Status: domain.StatusPending, Date: time.Unix(int64(i), 0).UTC()}}})
	}
	t.Run("BeforeFirstRowIsAProblem", func(t *testing.T) {
		s := memoryStack(t, &failingSearcher{Memory: m, n: 0}, query.Options{ExportPageSize: 2})
		res := s.get(t, s.token(user), "/v1/payments/export.csv", nil)
		if res.status != http.StatusInternalServerError || strings.Contains(string(res.body), "engine gone") {
			t.Fatalf("status %d %s, want an opaque 500 problem", res.status, res.body)
		}
	})
	t.Run("AfterRowsTheDownloadBreaks", func(t *testing.T) {
		s := memoryStack(t, &failingSearcher{Memory: m, n: 1}, query.Options{ExportPageSize: 2})
		req, _ := http.NewRequest(http.MethodGet, s.url+"/v1/payments/export.csv", nil)
		req.Header.Set("Authorization", "Bearer "+s.token(user))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, err := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || err == nil {
			t.Fatalf("status %d, read error %v after %q; want 200 and a broken body", res.StatusCode, err, body)
		}
		if !strings.HasPrefix(string(body), "id,payment_ref_id,") {
			t.Fatalf("body %q, want the header and the first page", body)
		}
	})
}

func TestCSVFormat(t *testing.T) {
	m := querytest.NewMemory()
	const user = "aaaaaaaa-0000-4000-8000-00000000000a"
	cid := "cccccccc-0000-4000-8000-00000000000c"
	m.PutCustomer(query.Customer{ID: cid, Name: "=cmd|' /C calc'!A0", Users: []query.User{{ID: user}}})
	processed := time.Date(2024, 5, 1, 14, 31, 0, 500000000, time.FixedZone("", 7200))
	m.PutPayment(query.Payment{PaymentView: domain.PaymentView{Payment: domain.Payment{
		ID: "00000000-0000-4000-8000-000000000001", PaymentRefID: "00000000-0000-4000-8000-0000000000ff",
		CustomerID: cid, UserID: user, Amount: 123456, Currency: "KWD", ThirdParty: "+45 12 34",
		Description: "say \"hi\", then\nleave", Status: domain.StatusSucceeded,
		Date:     time.Date(2024, 5, 1, 14, 30, 0, 123456000, time.FixedZone("", 7200)),
		Attempts: 1, ProcessedAt: &processed, AmountRefunded: 6000,
	}, CustomerName: "=cmd|' /C calc'!A0", UserName: "@admin", UserEmail: "-x@example.com",
		ExecutedBy: domain.Executor{Type: domain.ExecutorAPIKey, ID: "4e000000-0000-4000-8000-00000000004e", Name: "=ERP sync"}}})
	code, msg := "=HYPERLINK(\"x\")", "declined"
	m.PutPayment(query.Payment{PaymentView: domain.PaymentView{Payment: domain.Payment{
		ID: "00000000-0000-4000-8000-000000000002", PaymentRefID: "00000000-0000-4000-8000-0000000000fe",
		CustomerID: cid, UserID: user, Amount: 5, Currency: "DKK", ThirdParty: "x", Status: domain.StatusFailed,
		Date: time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC), FailureCode: &code, FailureMessage: &msg, Attempts: 3, ProcessedAt: &processed,
	}, CustomerName: "Shop", UserName: "Ann", UserEmail: "a@example.com", ExecutedBy: userExecutor(user, "Ann", "a@example.com")}})
	s := memoryStack(t, m, query.Options{})
	res := s.get(t, s.token(user), "/v1/payments/export.csv", nil)
	want := "id,payment_ref_id,date,customer_id,customer_name,user_id,user_name,user_email,third_party,description,amount_minor,amount,currency,status," +
		"failure_code,attempts,processed_at,amount_refunded,executed_by_type,executed_by_id,executed_by_name\n" +
		"00000000-0000-4000-8000-000000000001,00000000-0000-4000-8000-0000000000ff,2024-05-01T12:30:00.123456Z," + cid +
		",'=cmd|' /C calc'!A0," + user + ",'@admin,'-x@example.com,'+45 12 34,\"say \"\"hi\"\", then\nleave\",123456,123.456,KWD,succeeded," +
		",1,2024-05-01T12:31:00.5Z,6000,api_key,4e000000-0000-4000-8000-00000000004e,'=ERP sync\n" +
		"00000000-0000-4000-8000-000000000002,00000000-0000-4000-8000-0000000000fe,2024-04-01T00:00:00Z," + cid +
		",Shop," + user + ",Ann,a@example.com,x,,5,0.05,DKK,failed,\"'=HYPERLINK(\"\"x\"\")\",3,2024-05-01T12:31:00.5Z,0,user," + user + ",Ann\n"
	if string(res.body) != want {
		t.Fatalf("csv\n got %q\nwant %q", res.body, want)
	}
	if ct := res.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	t.Run("ChosenColumnsInAZone", func(t *testing.T) {
		// Copenhagen is UTC+2 in May and April (summer time): the instants carry that offset.
		res := s.get(t, s.token(user), "/v1/payments/export.csv",
			url.Values{"columns": {"date,amount,currency,processed_at"}, "tz": {"Europe/Copenhagen"}})
		want := "date,amount,currency,processed_at\n" +
			"2024-05-01T14:30:00.123456+02:00,123.456,KWD,2024-05-01T14:31:00.5+02:00\n" +
			"2024-04-01T02:00:00+02:00,0.05,DKK,2024-05-01T14:31:00.5+02:00\n"
		if res.status != http.StatusOK || string(res.body) != want {
			t.Fatalf("status %d csv\n got %q\nwant %q", res.status, res.body, want)
		}
	})
	t.Run("AmountSortInOneCurrency", func(t *testing.T) {
		res := s.get(t, s.token(user), "/v1/payments/export.csv", url.Values{"columns": {"id"}, "sort": {"-amount"}, "currency": {"DKK"}})
		if want := "id\n00000000-0000-4000-8000-000000000002\n"; string(res.body) != want {
			t.Fatalf("csv %q, want %q", res.body, want)
		}
	})
	for name, tc := range map[string]struct {
		path   string
		params url.Values
		want   string
	}{
		"ErrUnknownColumn":                 {"/v1/payments/export.csv", url.Values{"columns": {"id,secret"}}, "columns"},
		"ErrUnknownZone":                   {"/v1/payments/export.csv", url.Values{"tz": {"Europe/Atlantis"}}, "tz"},
		"ErrAmountSortAcrossCurrencies":    {"/v1/payments/export.csv", url.Values{"sort": {"amount"}}, "sort"},
		"ErrSearchAmountSortTwoCurrencies": {"/v1/payments", url.Values{"sort": {"-amount"}, "currency": {"DKK", "KWD"}}, "sort"},
	} {
		t.Run(name, func(t *testing.T) {
			res := s.get(t, s.token(user), tc.path, tc.params)
			if res.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", res.status, res.body)
			}
			p := res.problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.want || p.Code != domain.EINVALID {
				t.Fatalf("code %s errors %v, want invalid naming %s", p.Code, p.Errors, tc.want)
			}
		})
	}
	t.Run("EmptyExportHasHeader", func(t *testing.T) {
		res := s.get(t, s.token(user), "/v1/payments/export.csv", url.Values{"currency": {"EUR"}})
		if string(res.body) != strings.SplitAfter(want, "\n")[0] {
			t.Fatalf("body %q, want only the header", res.body)
		}
	})
}

// TestBounds pins the edges the random oracle rarely hits: from is
// inclusive and to exclusive at millisecond precision, amount bounds are
// inclusive.
func TestBounds(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{})
	rnd := mrand.New(mrand.NewPCG(21, 22))
	w := newWorld(rnd)
	s.putCustomers(w.c1)
	at := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	mk := func(name string, d time.Time, amount int64) projection.PaymentDoc {
		p := w.p1[0]
		p.ID, p.PaymentRefID, p.Date, p.Amount, p.ThirdParty = uuidFrom(rnd), uuidFrom(rnd), d, amount, name
		return p
	}
	s.putPayments(
		mk("before", at.Add(-time.Millisecond), 99),
		mk("at", at, 100),
		mk("within", at.Add(500*time.Microsecond), 101), // same millisecond as "at"
		mk("after", at.Add(time.Millisecond), 102),
	)
	tok := s.token(w.l)
	for _, tc := range []struct {
		name   string
		params url.Values
		want   string
	}{
		{"FromInclusive", url.Values{"from": {"2024-05-01T12:00:00Z"}}, "after,at,within"},
		{"ToExclusive", url.Values{"to": {"2024-05-01T12:00:00Z"}}, "before"},
		{"ToNextMillisecond", url.Values{"to": {"2024-05-01T12:00:00.001Z"}}, "at,before,within"},
		{"SubMillisecondIgnored", url.Values{"from": {"2024-05-01T12:00:00.000900Z"}}, "after,at,within"},
		{"OffsetZone", url.Values{"from": {"2024-05-01T14:00:00+02:00"}, "to": {"2024-05-01T14:00:00.001+02:00"}}, "at,within"},
		{"AmountInclusive", url.Values{"amount_min": {"100"}, "amount_max": {"101"}}, "at,within"},
		{"AmountExact", url.Values{"amount_min": {"102"}, "amount_max": {"102"}}, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var page query.Page
			s.get(t, tok, "/v1/payments", tc.params).decode(t, &page)
			var got []string
			for _, p := range page.Data {
				got = append(got, p.ThirdParty)
			}
			slices.Sort(got)
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
}

// TestSummaryZeroDays pins the histogram's zero days against the real
// engine: the days between the first and the last payment, and every day
// of from..to when both are given, in the requested zone.
func TestSummaryZeroDays(t *testing.T) {
	t.Parallel()
	s := mustStack(t, stackOptions{})
	rnd := mrand.New(mrand.NewPCG(23, 24))
	w := newWorld(rnd)
	s.putCustomers(w.c1)
	mk := func(d time.Time, amount int64, currency string) projection.PaymentDoc {
		p := w.p1[0]
		p.ID, p.PaymentRefID, p.Date, p.Amount, p.Currency = uuidFrom(rnd), uuidFrom(rnd), d, amount, currency
		return p
	}
	s.putPayments(
		mk(time.Date(2024, 5, 2, 10, 0, 0, 0, time.UTC), 100, "DKK"),
		mk(time.Date(2024, 5, 2, 11, 0, 0, 0, time.UTC), 5, "JPY"),
		// 23:30 UTC on the 4th is the 5th in Copenhagen (UTC+2).
		mk(time.Date(2024, 5, 4, 23, 30, 0, 0, time.UTC), 300, "DKK"),
	)
	tok := s.token(w.l)
	type day struct {
		date  string
		count int64
		sums  string
	}
	for _, tc := range []struct {
		name   string
		params url.Values
		want   []day
	}{
		{"GapsBetweenPayments", url.Values{"tz": {"UTC"}}, []day{{"2024-05-02", 2, "DKK=100,JPY=5"}, {"2024-05-03", 0, ""}, {"2024-05-04", 1, "DKK=300"}}},
		{"GapsInAZone", url.Values{"tz": {"Europe/Copenhagen"}}, []day{{"2024-05-02", 2, "DKK=100,JPY=5"}, {"2024-05-03", 0, ""}, {"2024-05-04", 0, ""}, {"2024-05-05", 1, "DKK=300"}}},
		{"FromToBounds", url.Values{"tz": {"Europe/Copenhagen"}, "from": {"2024-04-29T22:00:00Z"}, "to": {"2024-05-06T22:00:00Z"}, "currency": {"JPY"}},
			[]day{{"2024-04-30", 0, ""}, {"2024-05-01", 0, ""}, {"2024-05-02", 1, "JPY=5"}, {"2024-05-03", 0, ""}, {"2024-05-04", 0, ""}, {"2024-05-05", 0, ""}, {"2024-05-06", 0, ""}}},
		{"NothingMatchesWithinBounds", url.Values{"from": {"2024-06-01T00:00:00Z"}, "to": {"2024-06-03T00:00:00Z"}}, []day{{"2024-06-01", 0, ""}, {"2024-06-02", 0, ""}}},
		{"NothingMatches", url.Values{"currency": {"EUR"}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sum query.Summary
			s.get(t, tok, "/v1/payments/summary", tc.params).decode(t, &sum)
			var got []day
			for _, d := range sum.Histogram {
				var sums []string
				for c, v := range d.SumByCurrency {
					sums = append(sums, fmt.Sprintf("%s=%d", c, v))
				}
				slices.Sort(sums)
				got = append(got, day{d.Date, d.Count, strings.Join(sums, ",")})
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("histogram %v, want %v", got, tc.want)
			}
		})
	}
}
