package query_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
	"github.com/wildcat-payments/wildcat/internal/query"
	"github.com/wildcat-payments/wildcat/internal/query/querytest"
)

const (
	alice = "aaaaaaaa-0000-0000-0000-00000000000a"
	bob   = "bbbbbbbb-0000-0000-0000-00000000000b"
	c1    = "c0000000-0000-0000-0000-000000000001"
	c2    = "c0000000-0000-0000-0000-000000000002"
	c3    = "c0000000-0000-0000-0000-000000000003"
)

func paymentID(i int) string { return fmt.Sprintf("00000000-0000-0000-0000-%012d", i) }

// newMemory links alice to c1 and c2 and bob to c3, with n payments spread
// over the three customers.
func newMemory(n int) *querytest.Memory {
	m := querytest.NewMemory()
	m.PutCustomer(query.Customer{ID: c1, Name: "beta", Users: []query.User{{ID: alice, Name: "Alice"}}})
	m.PutCustomer(query.Customer{ID: c2, Name: "Alpha", Users: []query.User{{ID: bob, Name: "Bob"}, {ID: alice, Name: "Alice"}}})
	m.PutCustomer(query.Customer{ID: c3, Name: "Gamma", Users: []query.User{{ID: bob, Name: "Bob"}}})
	for i := range n {
		m.PutPayment(query.Payment{PaymentView: domain.PaymentView{Payment: domain.Payment{
			ID: paymentID(i), PaymentRefID: paymentID(1000 + i), CustomerID: []string{c1, c2, c3}[i%3], UserID: alice,
			Amount: int64(100 + i%7), Currency: "DKK", Status: domain.StatusPending,
			Date: time.Date(2024, 1, 1, 0, 0, i%5, 0, time.UTC),
		}}})
	}
	return m
}

func ids(ps []query.Payment) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestServiceScope(t *testing.T) {
	ctx := context.Background()
	m := newMemory(30)
	svc := query.NewService(m, query.Options{})

	t.Run("SearchOnlyLinkedCustomers", func(t *testing.T) {
		page, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Sort: query.SortDate, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 20 || len(page.Data) != 20 {
			t.Fatalf("total %d, %d rows; want 20 of c1 and c2", page.Total, len(page.Data))
		}
		for _, p := range page.Data {
			if p.CustomerID == c3 {
				t.Fatalf("alice sees %s of c3", p.ID)
			}
		}
	})
	t.Run("FilterOutsideScopeIsEmpty", func(t *testing.T) {
		before := m.Calls("Search")
		page, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Filter: query.Filter{CustomerIDs: []string{c3}}, Sort: query.SortDate, Limit: 10})
		if err != nil || page.Total != 0 || len(page.Data) != 0 || page.HasMore || page.NextCursor != nil || page.Data == nil {
			t.Fatalf("got %+v, %v; want an empty page", page, err)
		}
		if m.Calls("Search") != before {
			t.Fatal("an empty scope still asked the engine")
		}
	})
	t.Run("FilterIntersectsScope", func(t *testing.T) {
		page, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Filter: query.Filter{CustomerIDs: []string{c1, c3}}, Sort: query.SortDate, Limit: 500})
		if err != nil || page.Total != 10 {
			t.Fatalf("total %d, %v; want c1's 10", page.Total, err)
		}
	})
	t.Run("ReadOutsideScopeIsNotFound", func(t *testing.T) {
		if _, err := svc.Payment(ctx, query.UserCaller(alice), paymentID(2), query.ReadRequest{}); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("c3's payment: err = %v, want not_found", err)
		}
		if _, err := svc.Payment(ctx, query.UserCaller(alice), paymentID(999), query.ReadRequest{}); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("missing payment: err = %v, want not_found", err)
		}
		p, err := svc.Payment(ctx, query.UserCaller(alice), paymentID(1), query.ReadRequest{})
		if err != nil || p.ID != paymentID(1) {
			t.Fatalf("c2's payment: %v, %v", p.ID, err)
		}
		if _, err := svc.Payment(ctx, query.UserCaller(alice), "nope", query.ReadRequest{}); domain.ErrorCode(err) != domain.EINVALID {
			t.Fatalf("bad id: err = %v, want invalid", err)
		}
	})
	t.Run("SummaryScoped", func(t *testing.T) {
		s, err := svc.Summary(ctx, query.UserCaller(bob), query.SummaryRequest{Filter: query.Filter{CustomerIDs: []string{c1}}})
		if err != nil || s.Count != 0 || len(s.SumByCurrency) != 0 || s.CountByStatus["failed"] != 0 || len(s.CountByStatus) != len(domain.Statuses) || s.SuccessRate != nil || s.CountByFailureCode == nil {
			t.Fatalf("got %+v, %v; want an empty summary with every status", s, err)
		}
	})
	t.Run("ExportScoped", func(t *testing.T) {
		var got []string
		err := svc.Export(ctx, query.UserCaller(bob), query.ExportRequest{Sort: query.SortDate}, func(ps []query.Payment) error {
			got = append(got, ids(ps)...)
			return nil
		})
		if err != nil || len(got) != 20 {
			t.Fatalf("bob exported %d, %v; want c2's and c3's 20", len(got), err)
		}
	})
	t.Run("CustomersSortedByName", func(t *testing.T) {
		cs, err := svc.Customers(ctx, query.UserCaller(alice), query.ReadRequest{})
		if err != nil || len(cs) != 2 || cs[0].Name != "Alpha" || cs[1].Name != "beta" {
			t.Fatalf("got %+v, %v; want Alpha, beta", cs, err)
		}
		if cs[0].Users[0].Name != "Alice" {
			t.Fatalf("users of Alpha = %+v, want sorted by name", cs[0].Users)
		}
	})
	t.Run("NoCustomers", func(t *testing.T) {
		cs, err := svc.Customers(ctx, query.UserCaller("dddddddd-0000-0000-0000-00000000000d"), query.ReadRequest{})
		if err != nil || cs == nil || len(cs) != 0 {
			t.Fatalf("got %#v, %v; want an empty, non-nil list", cs, err)
		}
	})
}

// An API key sees exactly its one customer, whoever is linked to it, in
// every read; its cursors are its own.
func TestServiceKeyScope(t *testing.T) {
	ctx := context.Background()
	m := newMemory(30)
	svc := query.NewService(m, query.Options{ScopeTTL: query.MaxScopeTTL})
	key := query.KeyCaller("4e000000-0000-0000-0000-00000000004e", c3)
	t.Run("SearchSeesOnlyItsCustomer", func(t *testing.T) {
		page, err := svc.Search(ctx, key, query.SearchRequest{Sort: query.SortDate, Limit: 500})
		if err != nil || len(page.Data) != 10 {
			t.Fatalf("got %d, %v; want c3's 10", len(page.Data), err)
		}
		for _, p := range page.Data {
			if p.CustomerID != c3 {
				t.Fatalf("payment %s of %s, want only %s", p.ID, p.CustomerID, c3)
			}
		}
	})
	t.Run("OtherCustomerFilterIsEmpty", func(t *testing.T) {
		page, err := svc.Search(ctx, key, query.SearchRequest{Filter: query.Filter{CustomerIDs: []string{c1}}, Sort: query.SortDate, Limit: 10})
		if err != nil || len(page.Data) != 0 || page.Total != 0 {
			t.Fatalf("got %d (total %d), %v; want nothing", len(page.Data), page.Total, err)
		}
	})
	t.Run("PaymentOfAnotherCustomerIsNotFound", func(t *testing.T) {
		if _, err := svc.Payment(ctx, key, paymentID(0), query.ReadRequest{}); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("payment of c1: %v, want not_found", err)
		}
		if p, err := svc.Payment(ctx, key, paymentID(2), query.ReadRequest{}); err != nil || p.CustomerID != c3 {
			t.Fatalf("payment of c3: %+v, %v", p, err)
		}
		if _, err := svc.Events(ctx, key, paymentID(1), query.ReadRequest{}); domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Fatalf("events of c2's payment: %v, want not_found", err)
		}
	})
	t.Run("SummaryAndExport", func(t *testing.T) {
		s, err := svc.Summary(ctx, key, query.SummaryRequest{})
		if err != nil || s.Count != 10 {
			t.Fatalf("summary %+v, %v; want 10", s, err)
		}
		n := 0
		err = svc.Export(ctx, key, query.ExportRequest{Sort: query.SortDate}, func(ps []query.Payment) error { n += len(ps); return nil })
		if err != nil || n != 10 {
			t.Fatalf("exported %d, %v; want 10", n, err)
		}
	})
	t.Run("CustomersIsItsCustomer", func(t *testing.T) {
		cs, err := svc.Customers(ctx, key, query.ReadRequest{})
		if err != nil || len(cs) != 1 || cs[0].ID != c3 || len(cs[0].Users) != 1 {
			t.Fatalf("got %+v, %v; want only %s with its user", cs, err, c3)
		}
	})
	t.Run("CursorsAreTheKeys", func(t *testing.T) {
		page, err := svc.Search(ctx, key, query.SearchRequest{Sort: query.SortDate, Limit: 3})
		if err != nil || !page.HasMore {
			t.Fatal(page, err)
		}
		if _, err := svc.Search(ctx, key, query.SearchRequest{Sort: query.SortDate, Limit: 3, Cursor: *page.NextCursor}); err != nil {
			t.Fatalf("the key's own cursor: %v", err)
		}
		other := query.KeyCaller("4f000000-0000-0000-0000-00000000004f", c3)
		for _, c := range []query.Caller{other, query.UserCaller(bob)} {
			_, err := svc.Search(ctx, c, query.SearchRequest{Sort: query.SortDate, Limit: 3, Cursor: *page.NextCursor})
			if got := fields(t, err); !slices.Equal(got, []string{"cursor"}) {
				t.Fatalf("%+v with the key's cursor: fields %v, want cursor", c, got)
			}
		}
	})
	if n := m.Calls("LinkedCustomerIDs"); n != 0 {
		t.Errorf("LinkedCustomerIDs called %d times for a key, want 0 (its scope is its customer)", n)
	}
}

func TestServiceCursorWalk(t *testing.T) {
	ctx := context.Background()
	m := newMemory(50)
	svc := query.NewService(m, query.Options{})
	for _, sort := range []query.Sort{query.SortDate, query.SortDateDesc, query.SortAmount, query.SortAmountDesc} {
		t.Run(string(sort), func(t *testing.T) {
			want, _ := m.Search(ctx, query.SearchQuery{Filter: query.Filter{CustomerIDs: []string{c1, c2, c3}}, Sort: sort, Size: 1000})
			var got []string
			req := query.SearchRequest{Sort: sort, Limit: 7}
			for pages := 0; ; pages++ {
				page, err := svc.Search(ctx, query.UserCaller(bob), req)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, ids(page.Data)...)
				if !page.HasMore {
					break
				}
				req.Cursor = *page.NextCursor
			}
			var wantIDs []string
			for _, p := range want.Payments {
				if p.CustomerID != c1 {
					wantIDs = append(wantIDs, p.ID)
				}
			}
			if !slices.Equal(got, wantIDs) {
				t.Fatalf("walk = %v\nwant %v", got, wantIDs)
			}
		})
	}
	t.Run("CursorOfAnotherUser", func(t *testing.T) {
		page, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Sort: query.SortDate, Limit: 1})
		if err != nil || !page.HasMore {
			t.Fatal(err)
		}
		_, err = svc.Search(ctx, query.UserCaller(bob), query.SearchRequest{Sort: query.SortDate, Limit: 1, Cursor: *page.NextCursor})
		if got := fields(t, err); !slices.Equal(got, []string{"cursor"}) {
			t.Fatalf("fields = %v", got)
		}
	})
}

func TestServiceScopeCache(t *testing.T) {
	ctx := context.Background()
	m := newMemory(3)
	var hits, misses int
	svc := query.NewService(m, query.Options{ScopeTTL: 150 * time.Millisecond, OnScopeLookup: func(cached bool) {
		if cached {
			hits++
		} else {
			misses++
		}
	}})
	var mu sync.Mutex
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	query.SetClock(svc, func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	search := func() int64 {
		page, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Sort: query.SortDate, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return page.Total
	}
	if got := search(); got != 2 {
		t.Fatalf("total = %d, want 2", got)
	}
	// Revoke alice from c2: cached for at most the TTL.
	m.PutCustomer(query.Customer{ID: c2, Name: "Alpha", Users: []query.User{{ID: bob}}})
	advance(149 * time.Millisecond)
	if got := search(); got != 2 || hits != 1 || misses != 1 {
		t.Fatalf("within the TTL: total %d, hits %d, misses %d; want the cached 2, 1 hit, 1 miss", got, hits, misses)
	}
	advance(time.Millisecond)
	if got := search(); got != 1 {
		t.Fatalf("after the TTL total = %d, want 1 (revocation applied)", got)
	}
	t.Run("TokenBypassesCache", func(t *testing.T) {
		m.PutCustomer(query.Customer{ID: c2, Name: "Alpha", Users: []query.User{{ID: bob}, {ID: alice}}})
		m.SetApplied(10)
		page, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Sort: query.SortDate, Limit: 10, MinLSN: 10})
		if err != nil || page.Total != 2 {
			t.Fatalf("total = %d, %v; want 2 right after the link", page.Total, err)
		}
	})
	t.Run("TTLCapped", func(t *testing.T) {
		m := newMemory(0)
		svc := query.NewService(m, query.Options{ScopeTTL: time.Hour})
		now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		query.SetClock(svc, func() time.Time { return now })
		if _, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Sort: query.SortDate, Limit: 1}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(query.MaxScopeTTL)
		if _, err := svc.Search(ctx, query.UserCaller(alice), query.SearchRequest{Sort: query.SortDate, Limit: 1}); err != nil {
			t.Fatal(err)
		}
		if got := m.Calls("LinkedCustomerIDs"); got != 2 {
			t.Fatalf("lookups = %d, want 2 (TTL capped at %s)", got, query.MaxScopeTTL)
		}
	})
}

func TestServiceWaitFor(t *testing.T) {
	ctx := context.Background()
	t.Run("AlreadyApplied", func(t *testing.T) {
		m := newMemory(0)
		m.SetApplied(100)
		svc := query.NewService(m, query.Options{MaxWait: time.Second})
		if err := svc.WaitFor(ctx, 100); err != nil {
			t.Fatal(err)
		}
		if err := svc.WaitFor(ctx, 50); err != nil {
			t.Fatal(err)
		}
		if got := m.Calls("AppliedLSN"); got != 1 {
			t.Fatalf("AppliedLSN calls = %d, want 1 (the second wait uses the known position)", got)
		}
	})
	t.Run("AdvancesDuringWait", func(t *testing.T) {
		m := newMemory(0)
		m.SetApplied(1)
		svc := query.NewService(m, query.Options{MaxWait: 2 * time.Second})
		go func() {
			time.Sleep(150 * time.Millisecond)
			m.SetApplied(200)
		}()
		start := time.Now()
		if err := svc.WaitFor(ctx, 200); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("returned after %s, before the position was applied", d)
		}
	})
	t.Run("Timeout", func(t *testing.T) {
		m := newMemory(0)
		svc := query.NewService(m, query.Options{MaxWait: 200 * time.Millisecond})
		start := time.Now()
		err := svc.WaitFor(ctx, 5)
		var e *domain.Error
		if !errors.As(err, &e) || e.Code != domain.EUNAVAILABLE || e.RetryAfter < 1 || e.Reason != "consistency_timeout" {
			t.Fatalf("err = %v, want unavailable with Retry-After", err)
		}
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Fatalf("gave up after %s, before the 200ms wait", d)
		}
	})
	t.Run("EngineError", func(t *testing.T) {
		m := newMemory(0)
		boom := errors.New("boom")
		m.FailWith(boom)
		svc := query.NewService(m, query.Options{})
		if err := svc.WaitFor(ctx, 5); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
	})
}

func TestServiceExportPages(t *testing.T) {
	ctx := context.Background()
	m := newMemory(30)
	svc := query.NewService(m, query.Options{ExportPageSize: 4})
	var sizes []int
	var got []string
	err := svc.Export(ctx, query.UserCaller(alice), query.ExportRequest{Sort: query.SortAmountDesc}, func(ps []query.Payment) error {
		sizes = append(sizes, len(ps))
		got = append(got, ids(ps)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{4, 4, 4, 4, 4}) || len(got) != 20 {
		t.Fatalf("pages %v, %d rows; want 5 pages of 4", sizes, len(got))
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("%s exported twice", id)
		}
		seen[id] = true
	}
	t.Run("YieldErrorStops", func(t *testing.T) {
		stop := errors.New("stop")
		calls := 0
		err := svc.Export(ctx, query.UserCaller(alice), query.ExportRequest{Sort: query.SortDate}, func([]query.Payment) error { calls++; return stop })
		if !errors.Is(err, stop) || calls != 1 {
			t.Fatalf("err %v after %d calls, want stop after 1", err, calls)
		}
	})
}

func TestServiceTotalLimit(t *testing.T) {
	ctx := context.Background()
	m := newMemory(30) // alice sees 20
	for _, tc := range []struct {
		name     string
		limit    int
		exact    bool
		planned  int
		total    int64
		relation string
	}{
		{"Default", 0, false, query.DefaultTotalHitsLimit, 20, query.TotalEqual},
		{"BelowMatches", 7, false, 7, 7, query.TotalGreaterEqual},
		{"AtMatches", 20, false, 20, 20, query.TotalEqual},
		{"ExactTotal", 7, true, 0, 20, query.TotalEqual},
		{"CappedAtMax", 5_000_000, false, query.MaxTotalHitsLimit, 20, query.TotalEqual},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := query.NewService(m, query.Options{TotalHitsLimit: tc.limit})
			req := query.SearchRequest{Sort: query.SortDate, Limit: 5, ExactTotal: tc.exact}
			q, ok, err := svc.PlanSearch(ctx, query.UserCaller(alice), req)
			if err != nil || !ok || q.TotalLimit != tc.planned {
				t.Fatalf("planned total limit %d (ok %v, %v), want %d", q.TotalLimit, ok, err, tc.planned)
			}
			page, err := svc.Search(ctx, query.UserCaller(alice), req)
			if err != nil || page.Total != tc.total || page.TotalRelation != tc.relation || len(page.Data) != 5 {
				t.Fatalf("total %d %q, %d rows, %v; want %d %q, 5 rows", page.Total, page.TotalRelation, len(page.Data), err, tc.total, tc.relation)
			}
		})
	}
	t.Run("EmptyScopeIsExact", func(t *testing.T) {
		svc := query.NewService(m, query.Options{})
		page, err := svc.Search(ctx, query.UserCaller(paymentID(999)), query.SearchRequest{Sort: query.SortDate, Limit: 5})
		if err != nil || page.Total != 0 || page.TotalRelation != query.TotalEqual {
			t.Fatalf("total %d %q, %v; want 0 eq", page.Total, page.TotalRelation, err)
		}
	})
}
