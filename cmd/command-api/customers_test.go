package main

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestCustomers(t *testing.T) {
	s := mustServer(t, map[string]string{"LINK_EMAIL_LIMIT": "5", "LINK_EMAIL_WINDOW": "1h"})
	owner := s.signUp("Owner")
	friend := s.signUp("Friend")

	t.Run("CreateGetPatch", func(t *testing.T) {
		s := s.with(t)
		res := s.must(req{Method: "POST", Path: "/v1/customers", Token: owner.Token, Body: map[string]any{"name": "  Corner Shop ", "email": "shop@example.com"}}, http.StatusCreated)
		var c customer
		res.json(t, &c)
		if c.Name != "Corner Shop" || c.Email == nil || *c.Email != "shop@example.com" || res.Header.Get("Location") != "/v1/customers/"+c.ID {
			t.Fatalf("created %+v (Location %q)", c, res.Header.Get("Location"))
		}
		var got customer
		s.must(req{Method: "GET", Path: "/v1/customers/" + c.ID, Token: owner.Token}, http.StatusOK).json(t, &got)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("got %+v, want %+v", got, c)
		}
		s.must(req{Method: "PATCH", Path: "/v1/customers/" + c.ID, Token: owner.Token, Body: map[string]any{"name": "Renamed"}}, http.StatusOK).json(t, &got)
		if got.Name != "Renamed" || got.Email == nil || *got.Email != "shop@example.com" {
			t.Errorf("after renaming: %+v", got)
		}
		s.must(req{Method: "PATCH", Path: "/v1/customers/" + c.ID, Token: owner.Token, Body: `{"email": null}`}, http.StatusOK).json(t, &got)
		if got.Name != "Renamed" || got.Email != nil {
			t.Errorf("after clearing the email: %+v", got)
		}
		for name, body := range map[string]string{
			"Empty": `{}`, "NullName": `{"name": null}`, "BlankName": `{"name": "  "}`, "BadEmail": `{"email": "nope"}`,
			"NumberName": `{"name": 5}`, "Unknown": `{"nom": "x"}`,
		} {
			before := s.counts()
			if res := s.do(req{Method: "PATCH", Path: "/v1/customers/" + c.ID, Token: owner.Token, Body: body}); res.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400: %s", name, res.Status, res.Body)
			}
			s.assertCounts(before)
		}
		for _, id := range []string{"not-a-uuid", "00000000-0000-4000-8000-000000000000", strings.ToUpper(c.ID) + "x"} {
			s.must(req{Method: "GET", Path: "/v1/customers/" + id, Token: owner.Token}, http.StatusNotFound).problem(t)
		}
		// Upper-case ids name the same customer.
		s.must(req{Method: "GET", Path: "/v1/customers/" + strings.ToUpper(c.ID), Token: owner.Token}, http.StatusOK)
	})

	t.Run("LinkUnlink", func(t *testing.T) {
		s := s.with(t)
		c := s.createCustomer(owner, "Shared")
		path := "/v1/customers/" + c.ID + "/users/"
		// Linking twice is fine and links once.
		for range 2 {
			if tok := s.must(req{Method: "PUT", Path: path + friend.ID, Token: owner.Token}, http.StatusNoContent).Header.Get("X-Consistency-Token"); tok == "" {
				t.Error("no consistency token")
			}
		}
		if n := s.linkCount(c.ID); n != 2 {
			t.Fatalf("%d links, want 2", n)
		}
		// The friend can now act on it, including unlinking the owner.
		s.must(req{Method: "GET", Path: "/v1/customers/" + c.ID, Token: friend.Token}, http.StatusOK)
		s.must(req{Method: "DELETE", Path: path + owner.ID, Token: friend.Token}, http.StatusNoContent)
		s.must(req{Method: "DELETE", Path: path + owner.ID, Token: friend.Token}, http.StatusNoContent) // idempotent
		s.must(req{Method: "GET", Path: "/v1/customers/" + c.ID, Token: owner.Token}, http.StatusNotFound)
		// The last link stays.
		if p := s.must(req{Method: "DELETE", Path: path + friend.ID, Token: friend.Token}, http.StatusConflict).problem(t); p.Code != "last_link" {
			t.Errorf("code %q, want last_link", p.Code)
		}
		if n := s.linkCount(c.ID); n != 1 {
			t.Errorf("%d links, want 1", n)
		}
		// Unknown users are 404 for both verbs.
		for _, m := range []string{"PUT", "DELETE"} {
			if p := s.must(req{Method: m, Path: path + "00000000-0000-4000-8000-000000000000", Token: friend.Token}, http.StatusNotFound).problem(t); p.Code != "user_not_found" {
				t.Errorf("%s unknown user: code %q", m, p.Code)
			}
			s.must(req{Method: m, Path: path + "not-a-uuid", Token: friend.Token}, http.StatusNotFound).problem(t)
		}
	})

	t.Run("ConcurrentUnlinksKeepOneLink", func(t *testing.T) {
		s := s.with(t)
		for round := range 5 {
			c := s.createCustomer(owner, "Race")
			s.must(req{Method: "PUT", Path: "/v1/customers/" + c.ID + "/users/" + friend.ID, Token: owner.Token}, http.StatusNoContent)
			var wg sync.WaitGroup
			statuses := make([]int, 2)
			for i, pair := range [][2]user{{owner, friend}, {friend, owner}} {
				wg.Go(func() {
					statuses[i] = s.do(req{Method: "DELETE", Path: "/v1/customers/" + c.ID + "/users/" + pair[1].ID, Token: pair[0].Token}).Status
				})
			}
			wg.Wait()
			if n := s.linkCount(c.ID); n != 1 {
				t.Fatalf("round %d: %d links left (statuses %v), want 1", round, n, statuses)
			}
		}
	})

	t.Run("LinkByEmail", func(t *testing.T) {
		s := s.with(t)
		c := s.createCustomer(owner, "By email")
		path := "/v1/customers/" + c.ID + "/users"
		s.must(req{Method: "POST", Path: path, Token: owner.Token, Body: map[string]string{"email": strings.ToUpper(friend.Email)}}, http.StatusNoContent)
		if n := s.linkCount(c.ID); n != 2 {
			t.Errorf("%d links, want 2", n)
		}
		if p := s.must(req{Method: "POST", Path: path, Token: owner.Token, Body: map[string]string{"email": "nobody@example.com"}}, http.StatusNotFound).problem(t); p.Code != "user_not_found" {
			t.Errorf("code %q, want user_not_found", p.Code)
		}
		s.must(req{Method: "POST", Path: path, Token: owner.Token, Body: map[string]string{"email": "not an email"}}, http.StatusBadRequest)
		// Five attempts per window were configured; two were spent (the
		// invalid email was refused before counting).
		for range 3 {
			s.must(req{Method: "POST", Path: path, Token: owner.Token, Body: map[string]string{"email": "nobody@example.com"}}, http.StatusNotFound)
		}
		res := s.must(req{Method: "POST", Path: path, Token: owner.Token, Body: map[string]string{"email": friend.Email}}, http.StatusTooManyRequests)
		if res.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	})
}

func (s *server) linkCount(customerID string) int {
	s.t.Helper()
	var n int
	if err := s.db.QueryRow(context.Background(), "SELECT count(*) FROM customer_users WHERE customer_id = $1", customerID).Scan(&n); err != nil {
		s.t.Fatal(err)
	}
	return n
}
