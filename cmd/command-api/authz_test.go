package main

import (
	"net/http"
	"testing"
)

// TestAuthorizationMatrix runs every customer-scoped endpoint as a linked
// user, a user who was linked and is not any more, a user who never was,
// and without a token. Only the linked user gets through; the others get 404
// (401 without a token), and nothing is written.
func TestAuthorizationMatrix(t *testing.T) {
	s := mustServer(t, nil)
	owner := s.signUp("Owner")
	former := s.signUp("Former")
	stranger := s.signUp("Stranger")
	target := s.signUp("Target")
	c := s.createCustomer(owner, "Shop")
	s.must(req{Method: "PUT", Path: "/v1/customers/" + c.ID + "/users/" + former.ID, Token: owner.Token}, http.StatusNoContent)
	s.must(req{Method: "DELETE", Path: "/v1/customers/" + c.ID + "/users/" + former.ID, Token: owner.Token}, http.StatusNoContent)

	endpoints := []struct {
		name   string
		req    func(tok string) req
		wantOK int
	}{
		{"GetCustomer", func(tok string) req { return req{Method: "GET", Path: "/v1/customers/" + c.ID, Token: tok} }, http.StatusOK},
		{"PatchCustomer", func(tok string) req {
			return req{Method: "PATCH", Path: "/v1/customers/" + c.ID, Token: tok, Body: map[string]any{"name": "Renamed"}}
		}, http.StatusOK},
		{"LinkUser", func(tok string) req {
			return req{Method: "PUT", Path: "/v1/customers/" + c.ID + "/users/" + target.ID, Token: tok}
		}, http.StatusNoContent},
		{"LinkUserByEmail", func(tok string) req {
			return req{Method: "POST", Path: "/v1/customers/" + c.ID + "/users", Token: tok, Body: map[string]any{"email": target.Email}}
		}, http.StatusNoContent},
		{"UnlinkUser", func(tok string) req {
			return req{Method: "DELETE", Path: "/v1/customers/" + c.ID + "/users/" + target.ID, Token: tok}
		}, http.StatusNoContent},
		{"CreatePayment", func(tok string) req {
			return req{Method: "POST", Path: "/v1/payments", Token: tok, Body: newPayment(c.ID)}
		}, http.StatusCreated},
		{"CreatePaymentBatch", func(tok string) req {
			return req{Method: "POST", Path: "/v1/payments/batch", Token: tok,
				Body: map[string]any{"payments": []any{newPayment(c.ID), newPayment(c.ID)}}}
		}, http.StatusCreated},
	}
	callers := []struct {
		name  string
		token string
		want  func(ok int) int
	}{
		{"Linked", owner.Token, func(ok int) int { return ok }},
		{"Unlinked", former.Token, func(int) int { return http.StatusNotFound }},
		{"NeverLinked", stranger.Token, func(int) int { return http.StatusNotFound }},
		{"NoToken", "", func(int) int { return http.StatusUnauthorized }},
	}
	for _, caller := range callers {
		for _, ep := range endpoints {
			t.Run(caller.name+"/"+ep.name, func(t *testing.T) {
				s := s.with(t)
				before := s.counts()
				r := ep.req(caller.token)
				res := s.do(r)
				want := caller.want(ep.wantOK)
				if res.Status != want {
					t.Fatalf("%s %s as %s: status %d, want %d: %s", r.Method, r.Path, caller.name, res.Status, want, res.Body)
				}
				if want >= 400 {
					p := res.problem(t)
					if want == http.StatusNotFound && p.Code != "customer_not_found" {
						t.Errorf("code %q, want customer_not_found", p.Code)
					}
					s.assertCounts(before)
				}
			})
		}
	}
	// The unlinked users still cannot see the customer after all this, and
	// the rename by the owner stuck.
	var got customer
	s.must(req{Method: "GET", Path: "/v1/customers/" + c.ID, Token: owner.Token}, http.StatusOK).json(t, &got)
	if got.Name != "Renamed" {
		t.Errorf("name %q, want Renamed", got.Name)
	}
}
