package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wildcat-payments/wildcat/internal/testenv"
)

// TestWritesDuringDatabaseOutage: with PostgreSQL stopped (a private
// cluster, stopped the way an operator or a crash does), a payment write is
// 503 `unavailable` with Retry-After, never 500; once the cluster is back
// the client's retry with the same Idempotency-Key creates the payment once.
func TestWritesDuringDatabaseOutage(t *testing.T) {
	c := testenv.MustCluster(t)
	admin := c.AdminURL()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE outage OWNER wildcat"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	dbURL := "postgres://wildcat:wildcat@127.0.0.1:" + strconv.Itoa(c.Port) + "/outage?sslmode=disable"
	s := mustServer(t, map[string]string{"DATABASE_URL": dbURL, "REQUEST_TIMEOUT": "5s"})
	u := s.signUp("Outage")
	cust := s.createCustomer(u, "Shop")
	body, _ := json.Marshal(newPayment(cust.ID))
	post := func() (*http.Response, []byte) {
		req, _ := http.NewRequest("POST", s.base+"/v1/payments", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+u.Token)
		req.Header.Set("Idempotency-Key", "outage-1")
		res, err := s.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(res.Body)
		return res, b.Bytes()
	}

	c.MustRun("stop") // fast shutdown: sessions get 57P01, then connections are refused
	for i := range 3 {
		res, b := post()
		if res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("attempt %d while down: status %d, want 503: %s", i, res.StatusCode, b)
		}
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q, want seconds", res.Header.Get("Retry-After"))
		}
		var p problem
		if err := json.Unmarshal(b, &p); err != nil || p.Status != 503 {
			t.Errorf("body %s, want a 503 problem", b)
		}
	}
	c.MustRun("start")
	var first []byte
	for i := range 2 {
		res, b := post()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("retry %d after recovery: status %d, want 201: %s", i, res.StatusCode, b)
		}
		if i == 0 {
			first = b
		} else if !bytes.Equal(first, b) || res.Header.Get("Idempotent-Replayed") != "true" {
			t.Errorf("second retry not a replay of the first: %s / %s", first, b)
		}
	}
}
