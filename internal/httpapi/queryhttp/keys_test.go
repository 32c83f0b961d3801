package queryhttp_test

import (
	"crypto/sha256"
	"encoding/hex"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/auth"
	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/projection"
	"github.com/wildcat-payments/wildcat/internal/query"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// mustKey returns a new API key secret and the key as the projector puts
// it in its customer's access document.
func mustKey(rnd *mrand.Rand, name string, scopes ...string) (string, projection.CustomerAPIKey) {
	b := []byte("wc_")
	for range 43 {
		b = append(b, base62[rnd.IntN(len(base62))])
	}
	secret := string(b)
	sum := sha256.Sum256(b)
	return secret, projection.CustomerAPIKey{ID: uuidFrom(rnd), Name: name, Prefix: secret[:12],
		Hash: hex.EncodeToString(sum[:]), Scopes: scopes}
}

// keyWorld is newWorld with two keys of C1 (one that reads, one that only
// writes) and a payment of C1 made with the reading key.
type keyWorld struct {
	*world
	read, write       string // secrets
	readKey, writeKey projection.CustomerAPIKey
	keyed             projection.PaymentDoc
}

func newKeyWorld(s *stack) *keyWorld {
	rnd := mrand.New(mrand.NewPCG(16, 16))
	w := &keyWorld{world: newWorld(rnd)}
	w.read, w.readKey = mustKey(rnd, "ERP sync", auth.ScopePaymentsRead, auth.ScopePaymentsWrite)
	w.write, w.writeKey = mustKey(rnd, "Shop checkout", auth.ScopePaymentsWrite)
	w.c1.APIKeys = []projection.CustomerAPIKey{w.readKey, w.writeKey}
	w.keyed = w.p1[4]
	w.keyed.ID, w.keyed.PaymentRefID = uuidFrom(rnd), uuidFrom(rnd)
	w.keyed.Date = w.keyed.Date.Add(time.Hour)
	w.keyed.ExecutedBy = domain.Executor{Type: domain.ExecutorAPIKey, ID: w.readKey.ID, Name: w.readKey.Name}
	w.p1 = append(w.p1, w.keyed)
	w.load(s)
	return w
}

func idsOf(ps []query.Payment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	slices.Sort(out)
	return out
}

func docIDs(ds []projection.PaymentDoc) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

// An API key with payments:read reads exactly its one customer, through
// every read, like a user linked to that customer only.
func TestAPIKeyReadsItsCustomer(t *testing.T) {
	s := mustStack(t, stackOptions{})
	w := newKeyWorld(s)
	t.Run("SearchSeesExactlyItsCustomer", func(t *testing.T) {
		var page query.Page
		res := s.get(t, w.read, "/v1/payments", url.Values{"limit": {"500"}})
		res.decode(t, &page)
		if res.status != http.StatusOK || !slices.Equal(idsOf(page.Data), docIDs(w.p1)) || page.Total != int64(len(w.p1)) {
			t.Fatalf("status %d, got %v (total %d), want C1's %v", res.status, idsOf(page.Data), page.Total, docIDs(w.p1))
		}
	})
	t.Run("CursorWalk", func(t *testing.T) {
		var got []query.Payment
		q := url.Values{"limit": {"2"}}
		for range 10 {
			var page query.Page
			s.get(t, w.read, "/v1/payments", q).decode(t, &page)
			got = append(got, page.Data...)
			if !page.HasMore {
				break
			}
			q.Set("cursor", *page.NextCursor)
		}
		if !slices.Equal(idsOf(got), docIDs(w.p1)) {
			t.Fatalf("walk %v, want %v", idsOf(got), docIDs(w.p1))
		}
	})
	t.Run("OtherCustomerFilterIsEmpty", func(t *testing.T) {
		var page query.Page
		s.get(t, w.read, "/v1/payments", url.Values{"customer_id": {w.c2.ID}}).decode(t, &page)
		var sum query.Summary
		s.get(t, w.read, "/v1/payments/summary", url.Values{"customer_id": {w.c2.ID}}).decode(t, &sum)
		if len(page.Data) != 0 || page.Total != 0 || sum.Count != 0 {
			t.Fatalf("search %d (total %d), summary %d; want nothing of C2", len(page.Data), page.Total, sum.Count)
		}
	})
	t.Run("OtherCustomersPaymentIsNotFound", func(t *testing.T) {
		for _, path := range []string{"/v1/payments/" + w.p2[0].ID, "/v1/payments/" + w.p2[0].ID + "/events"} {
			if res := s.get(t, w.read, path, nil); res.status != http.StatusNotFound || res.problem(t).Code != domain.ENOTFOUND {
				t.Fatalf("GET %s: %d %s, want 404 not_found", path, res.status, res.body)
			}
		}
		for _, path := range []string{"/v1/payments/" + w.p1[0].ID, "/v1/payments/" + w.p1[0].ID + "/events"} {
			if res := s.get(t, w.read, path, nil); res.status != http.StatusOK {
				t.Fatalf("GET %s: %d %s, want 200", path, res.status, res.body)
			}
		}
	})
	t.Run("SummaryExportAndCustomers", func(t *testing.T) {
		var sum query.Summary
		s.get(t, w.read, "/v1/payments/summary", nil).decode(t, &sum)
		rows := s.exportCSV(t, w.read, nil)
		var cs struct{ Data []query.Customer }
		res := s.get(t, w.read, "/v1/customers", nil)
		res.decode(t, &cs)
		if sum.Count != int64(len(w.p1)) || len(rows)-1 != len(w.p1) {
			t.Fatalf("summary %d, export %d rows; want %d", sum.Count, len(rows)-1, len(w.p1))
		}
		if len(cs.Data) != 1 || cs.Data[0].ID != w.c1.ID || len(cs.Data[0].Users) != 2 {
			t.Fatalf("customers %+v, want only C1 with its users", cs.Data)
		}
		if body := string(res.body); strings.Contains(body, w.readKey.Prefix) || strings.Contains(body, w.readKey.Hash) {
			t.Fatalf("customers list shows the keys: %s", body)
		}
	})
	t.Run("ReadYourWrites", func(t *testing.T) {
		s.setApplied(1 << 20)
		token := domain.EncodeConsistencyToken(1 << 20)
		var page query.Page
		res := s.get(t, w.read, "/v1/payments", url.Values{"consistency_token": {token}})
		res.decode(t, &page)
		if res.status != http.StatusOK || len(page.Data) != len(w.p1) {
			t.Fatalf("status %d, %d payments; want C1's %d", res.status, len(page.Data), len(w.p1))
		}
	})
}

// Every read needs payments:read; unknown and revoked keys are 401 like a
// bad token, a revocation within MaxScopeTTL of the read model having it.
func TestAPIKeyRefused(t *testing.T) {
	s := mustStack(t, stackOptions{})
	w := newKeyWorld(s)
	paths := []string{"/v1/payments", "/v1/payments/summary", "/v1/payments/export.csv",
		"/v1/payments/" + w.p1[0].ID, "/v1/payments/" + w.p1[0].ID + "/events", "/v1/customers"}
	t.Run("WithoutReadScopeIsForbidden", func(t *testing.T) {
		for _, path := range paths {
			res := s.get(t, w.write, path, nil)
			if res.status != http.StatusForbidden || res.problem(t).Code != "insufficient_scope" {
				t.Fatalf("GET %s: %d %s, want 403 insufficient_scope", path, res.status, res.body)
			}
		}
	})
	badToken := s.get(t, "not-a-token", "/v1/payments", nil).problem(t)
	t.Run("UnknownKeyIsUnauthorized", func(t *testing.T) {
		unknown, _ := mustKey(mrand.New(mrand.NewPCG(1, 2)), "x", auth.ScopePaymentsRead)
		for _, key := range []string{unknown, w.read[:12] + strings.Repeat("0", 34), "wc_"} {
			res := s.get(t, key, "/v1/payments", nil)
			if p := res.problem(t); res.status != http.StatusUnauthorized || p.Detail != badToken.Detail || p.Code != badToken.Code {
				t.Fatalf("%.12s…: %d %+v, want 401 like a bad token %+v", key, res.status, p, badToken)
			}
		}
	})
	t.Run("RevokedKeyIsUnauthorized", func(t *testing.T) {
		if res := s.get(t, w.read, "/v1/payments", nil); res.status != http.StatusOK {
			t.Fatalf("before the revocation: %d", res.status)
		}
		// The projector applied the revocation: the key left C1's access
		// document (refreshed).
		c1 := w.c1
		c1.APIKeys = []projection.CustomerAPIKey{w.writeKey}
		s.putCustomers(c1)
		time.Sleep(query.MaxScopeTTL)
		for _, path := range paths {
			if res := s.get(t, w.read, path, nil); res.status != http.StatusUnauthorized {
				t.Fatalf("GET %s %s after the revocation: %d, want 401", path, query.MaxScopeTTL, res.status)
			}
		}
	})
}

// executed_by is on every payment, filterable by user or key id, and in
// the CSV export.
func TestExecutedBy(t *testing.T) {
	s := mustStack(t, stackOptions{})
	w := newKeyWorld(s)
	tok := s.token(w.l)
	t.Run("FilterByKey", func(t *testing.T) {
		var page query.Page
		s.get(t, tok, "/v1/payments", url.Values{"executed_by": {strings.ToUpper(w.readKey.ID)}}).decode(t, &page)
		if len(page.Data) != 1 || page.Data[0].ID != w.keyed.ID {
			t.Fatalf("got %v, want only the keyed payment %s", idsOf(page.Data), w.keyed.ID)
		}
		want := domain.Executor{Type: domain.ExecutorAPIKey, ID: w.readKey.ID, Name: "ERP sync"}
		if got := page.Data[0].ExecutedBy; got != want {
			t.Fatalf("executed_by %+v, want %+v", got, want)
		}
	})
	t.Run("FilterByUserMatchesWhatTheUserExecuted", func(t *testing.T) {
		var page query.Page
		s.get(t, tok, "/v1/payments", url.Values{"executed_by": {w.l, w.u}, "limit": {"500"}}).decode(t, &page)
		// The keyed payment's user_id is the linked user too; it was executed by the key.
		want := docIDs(w.p1[:len(w.p1)-1])
		if !slices.Equal(idsOf(page.Data), want) {
			t.Fatalf("got %v, want %v", idsOf(page.Data), want)
		}
		for _, p := range page.Data {
			if e := p.ExecutedBy; e.Type != domain.ExecutorUser || e.ID != w.l || e.Name != "Linda Linked" || e.Email == nil || *e.Email != "l@example.com" {
				t.Fatalf("executed_by %+v, want the user", e)
			}
		}
		var sum query.Summary
		s.get(t, tok, "/v1/payments/summary", url.Values{"executed_by": {w.readKey.ID}}).decode(t, &sum)
		if sum.Count != 1 {
			t.Fatalf("summary of the key's payments: %d, want 1", sum.Count)
		}
	})
	t.Run("InvalidID", func(t *testing.T) {
		res := s.get(t, tok, "/v1/payments", url.Values{"executed_by": {"nope"}})
		if p := res.problem(t); res.status != http.StatusBadRequest || len(p.Errors) != 1 || p.Errors[0].Field != "executed_by" {
			t.Fatalf("%d %+v, want 400 naming executed_by", res.status, p)
		}
	})
	t.Run("CSVColumns", func(t *testing.T) {
		rows := s.exportCSV(t, tok, url.Values{"customer_id": {w.c1.ID}, "sort": {"-date"}})
		head := rows[0]
		col := func(name string) int { return slices.Index(head, name) }
		if col("executed_by_type") < 0 || col("executed_by_id") < 0 || col("executed_by_name") < 0 {
			t.Fatalf("header %v lacks the executed_by columns", head)
		}
		got := map[string][]string{}
		for _, r := range rows[1:] {
			got[r[col("id")]] = []string{r[col("executed_by_type")], r[col("executed_by_id")], r[col("executed_by_name")]}
		}
		if e := got[w.keyed.ID]; !slices.Equal(e, []string{"api_key", w.readKey.ID, "ERP sync"}) {
			t.Fatalf("keyed payment's executor cells %v", e)
		}
		if e := got[w.p1[0].ID]; !slices.Equal(e, []string{"user", w.l, "Linda Linked"}) {
			t.Fatalf("user payment's executor cells %v", e)
		}
	})
}

// Each API key may make API_KEY_RATE_LIMIT requests per window; users are
// not limited by it.
func TestAPIKeyRateLimit(t *testing.T) {
	s := mustStack(t, stackOptions{keyLimiter: auth.NewKeyedLimiter(2, time.Minute)})
	w := newKeyWorld(s)
	for i := range 2 {
		if res := s.get(t, w.read, "/v1/customers", nil); res.status != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, res.status)
		}
	}
	res := s.get(t, w.read, "/v1/customers", nil)
	if res.status != http.StatusTooManyRequests || res.problem(t).Code != domain.ERATELIMITED || res.header.Get("Retry-After") == "" {
		t.Fatalf("third request: %d %s (Retry-After %q), want 429 rate_limited with Retry-After", res.status, res.body, res.header.Get("Retry-After"))
	}
	for range 3 {
		if res := s.get(t, s.token(w.l), "/v1/customers", nil); res.status != http.StatusOK {
			t.Fatalf("user: %d, want users unlimited", res.status)
		}
	}
}
