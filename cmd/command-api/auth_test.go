package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wildcat-payments/wildcat/internal/auth"
)

func TestSignUpAndLogin(t *testing.T) {
	s := mustServer(t, nil)
	u := s.signUp("Alice")

	t.Run("Me", func(t *testing.T) {
		s := s.with(t)
		var me struct{ ID, Email, Name string }
		s.must(req{Method: "GET", Path: "/v1/me", Token: u.Token}, http.StatusOK).json(t, &me)
		if me.ID != u.ID || me.Email != u.Email || me.Name != "Alice" {
			t.Errorf("me = %+v, want %+v", me, u)
		}
	})
	t.Run("TokenShape", func(t *testing.T) {
		s := s.with(t)
		res := s.must(req{Method: "POST", Path: "/v1/auth/token", Body: map[string]string{"email": strings.ToUpper(u.Email), "password": u.Password}}, http.StatusOK)
		var tok struct {
			AccessToken string `json:"access_token"`
			TokenType   string `json:"token_type"`
			ExpiresIn   int    `json:"expires_in"`
		}
		res.json(t, &tok)
		if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 {
			t.Errorf("token_type %q expires_in %d, want Bearer 900", tok.TokenType, tok.ExpiresIn)
		}
		// The published JWKS verifies it; claims are as docs/command-api.md, *Security notes*, says.
		var jwks auth.JWKS
		s.must(req{Method: "GET", Path: "/.well-known/jwks.json"}, http.StatusOK).json(t, &jwks)
		pub, err := auth.ParseJWKS(mustJSON(t, jwks))
		if err != nil {
			t.Fatal(err)
		}
		var claims jwt.RegisteredClaims
		if _, err := jwt.ParseWithClaims(tok.AccessToken, &claims, func(*jwt.Token) (any, error) { return pub, nil },
			jwt.WithValidMethods([]string{"EdDSA"}), jwt.WithIssuer("wildcat"), jwt.WithAudience("wildcat-api")); err != nil {
			t.Fatalf("token does not verify with the JWKS: %v", err)
		}
		if claims.Subject != u.ID || claims.ID == "" || claims.IssuedAt == nil || claims.ExpiresAt.Sub(claims.IssuedAt.Time) != 15*time.Minute {
			t.Errorf("claims %+v", claims)
		}
	})
	t.Run("EmailTakenCaseInsensitively", func(t *testing.T) {
		s := s.with(t)
		before := s.counts()
		p := s.must(req{Method: "POST", Path: "/v1/users", Body: map[string]string{"email": strings.ToUpper(u.Email), "password": "another long password", "name": "Imposter"}}, http.StatusConflict).problem(t)
		if p.Code != "email_taken" {
			t.Errorf("code %q, want email_taken", p.Code)
		}
		s.assertCounts(before)
	})
	t.Run("OneAnswerForUnknownEmailAndWrongPassword", func(t *testing.T) {
		s := s.with(t)
		wrong := s.must(req{Method: "POST", Path: "/v1/auth/token", Body: map[string]string{"email": u.Email, "password": "not the password"}}, http.StatusUnauthorized)
		unknown := s.must(req{Method: "POST", Path: "/v1/auth/token", Body: map[string]string{"email": "nobody@example.com", "password": "not the password"}}, http.StatusUnauthorized)
		if string(wrong.Body) != string(unknown.Body) {
			t.Errorf("answers differ:\n%s\n%s", wrong.Body, unknown.Body)
		}
	})
	for _, tc := range []struct {
		name   string
		body   any
		fields []string
	}{
		{"ShortPassword", map[string]any{"email": "bob@example.com", "password": "short", "name": "Bob"}, []string{"password"}},
		{"LongPassword", map[string]any{"email": "bob@example.com", "password": strings.Repeat("p", 257), "name": "Bob"}, []string{"password"}},
		{"NoName", map[string]any{"email": "bob@example.com", "password": "long enough password"}, []string{"name"}},
		{"BlankName", map[string]any{"email": "bob@example.com", "password": "long enough password", "name": "   "}, []string{"name"}},
		{"BadEmail", map[string]any{"email": "Bob <bob@example.com>", "password": "long enough password", "name": "Bob"}, []string{"email"}},
		{"Everything", map[string]any{}, []string{"email", "password", "name"}},
		{"UnknownField", map[string]any{"email": "bob@example.com", "password": "long enough password", "name": "Bob", "admin": true}, []string{"admin"}},
	} {
		t.Run("SignUp"+tc.name, func(t *testing.T) {
			s := s.with(t)
			before := s.counts()
			p := s.must(req{Method: "POST", Path: "/v1/users", Body: tc.body}, http.StatusBadRequest).problem(t)
			if strings.Join(p.fields(), ",") != strings.Join(tc.fields, ",") {
				t.Errorf("fields %v, want %v", p.fields(), tc.fields)
			}
			s.assertCounts(before)
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTokenAttacks sends forged and invalid tokens: every one is a 401
// problem with WWW-Authenticate.
func TestTokenAttacks(t *testing.T) {
	s := mustServer(t, nil)
	u := s.signUp("Victim")
	priv, err := auth.LoadPrivateKey(s.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	pubDER, _ := x509.MarshalPKIXPublicKey(pub)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)

	now := time.Now()
	claims := func(mut func(c *jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{Subject: u.ID, Issuer: "wildcat", Audience: jwt.ClaimStrings{"wildcat-api"},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(5 * time.Minute)), ID: "jti"}
		if mut != nil {
			mut(&c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, key any, c jwt.RegisteredClaims) string {
		s, err := jwt.NewWithClaims(m, c).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	valid := sign(jwt.SigningMethodEdDSA, priv, claims(nil))
	s.must(req{Method: "GET", Path: "/v1/me", Token: valid}, http.StatusOK) // the control: a well-formed token passes

	parts := strings.Split(valid, ".")
	otherSub := base64.RawURLEncoding.EncodeToString(mustJSON(t, claims(func(c *jwt.RegisteredClaims) {
		c.Subject = "00000000-0000-4000-8000-000000000000"
	})))
	for _, tc := range []struct{ name, token string }{
		{"AlgNone", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))},
		{"HS256WithPublicKeyPEM", sign(jwt.SigningMethodHS256, pubPEM, claims(nil))},
		{"HS256WithPublicKeyBytes", sign(jwt.SigningMethodHS256, []byte(pub), claims(nil))},
		{"OtherKey", sign(jwt.SigningMethodEdDSA, otherKey, claims(nil))},
		{"Expired", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) {
			c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(-time.Minute))
		}))},
		{"NotYetValid", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Hour)) }))},
		{"IssuedInTheFuture", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }))},
		{"NoExpiry", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))},
		{"WrongIssuer", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "evil" }))},
		{"WrongAudience", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other-api"} }))},
		{"SubjectNotAUUID", sign(jwt.SigningMethodEdDSA, priv, claims(func(c *jwt.RegisteredClaims) { c.Subject = "' OR 1=1 --" }))},
		{"TamperedPayload", parts[0] + "." + otherSub + "." + parts[2]},
		{"TamperedSignature", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2]))},
		{"NoSignature", parts[0] + "." + parts[1] + "."},
		{"Garbage", "not-a-token"},
		{"Empty", " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := s.with(t)
			for _, path := range []string{"/v1/me", "/v1/customers"} {
				method := "GET"
				var body any
				if path == "/v1/customers" {
					method, body = "POST", map[string]string{"name": "Forged"}
				}
				res := s.must(req{Method: method, Path: path, Token: tc.token, Body: body}, http.StatusUnauthorized)
				res.problem(t)
				if !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", res.Header.Get("WWW-Authenticate"))
				}
			}
			if n := s.count("customers"); n != 0 {
				t.Errorf("%d customers created with a forged token", n)
			}
		})
	}
	t.Run("WrongScheme", func(t *testing.T) {
		s := s.with(t)
		s.must(req{Method: "GET", Path: "/v1/me", Header: map[string]string{"Authorization": "Basic " + valid}}, http.StatusUnauthorized).problem(t)
	})
}

// TestLoginRateLimit: failed logins are limited per email and client
// address (that pair alone is blocked, the right password included), per
// email across every address (a slower throttle that a client which has
// logged in to the account before passes), and per client address.
func TestLoginRateLimit(t *testing.T) {
	s := mustServer(t, map[string]string{
		"LOGIN_CLIENT_LIMIT": "3", "LOGIN_CLIENT_WINDOW": "1h",
		"LOGIN_EMAIL_LIMIT": "6", "LOGIN_EMAIL_WINDOW": "1h",
		"LOGIN_ADDR_LIMIT": "6", "LOGIN_ADDR_WINDOW": "1h",
		"TRUSTED_PROXIES": "127.0.0.1"})
	login := func(s *server, email, password, addr string) response {
		return s.do(req{Method: "POST", Path: "/v1/auth/token", Body: map[string]string{"email": email, "password": password},
			Header: map[string]string{"X-Forwarded-For": addr}})
	}
	wantLimited := func(t *testing.T, res response) {
		t.Helper()
		if res.Status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", res.Status)
		}
		if p := res.problem(t); p.Code != "rate_limited" {
			t.Errorf("code %q", p.Code)
		}
		if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < 1 || ra > 3600 {
			t.Errorf("Retry-After %q, want seconds until the next attempt", res.Header.Get("Retry-After"))
		}
	}
	t.Run("AttackerCannotLockOwnerOut", func(t *testing.T) {
		s := s.with(t)
		u := s.signUp("Victim")
		// The attacker guesses from one address until that address is
		// blocked for this email, the right password included.
		for i := range 3 {
			if res := login(s, u.Email, "wrong password", "203.0.113.66"); res.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i, res.Status)
			}
		}
		wantLimited(t, login(s, strings.ToUpper(u.Email), u.Password, "203.0.113.66"))
		// The owner, from an address that never logged in before, is not
		// locked out.
		if res := login(s, u.Email, u.Password, "192.0.2.10"); res.Status != http.StatusOK {
			t.Fatalf("owner: status %d, want 200: %s", res.Status, res.Body)
		}
	})
	t.Run("GuessingStaysLimited", func(t *testing.T) {
		s := s.with(t)
		u := s.signUp("Target")
		// The owner has logged in from 192.0.2.20 before.
		if res := login(s, u.Email, u.Password, "192.0.2.20"); res.Status != http.StatusOK {
			t.Fatalf("status %d", res.Status)
		}
		// An attacker rotating addresses gets LOGIN_EMAIL_LIMIT guesses in
		// all, then every unknown address is refused, right password or not.
		for i := range 6 {
			addr := "198.51.100." + strconv.Itoa(10+i)
			if res := login(s, u.Email, "wrong password", addr); res.Status != http.StatusUnauthorized {
				t.Fatalf("guess %d: status %d, want 401", i, res.Status)
			}
		}
		wantLimited(t, login(s, u.Email, "wrong password", "198.51.100.99"))
		wantLimited(t, login(s, u.Email, u.Password, "198.51.100.98"))
		// The owner's known address still gets in.
		if res := login(s, u.Email, u.Password, "192.0.2.20"); res.Status != http.StatusOK {
			t.Fatalf("owner from a known address: status %d, want 200: %s", res.Status, res.Body)
		}
	})
	t.Run("PerAddress", func(t *testing.T) {
		s := s.with(t)
		for i := range 6 {
			if res := login(s, "guess"+strconv.Itoa(i)+"@example.com", "wrong password", "198.51.100.7"); res.Status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i, res.Status)
			}
		}
		if res := login(s, "another@example.com", "wrong password", "198.51.100.7"); res.Status != http.StatusTooManyRequests {
			t.Fatalf("status %d, want 429", res.Status)
		}
		if res := login(s, "another@example.com", "wrong password", "198.51.100.8"); res.Status != http.StatusUnauthorized {
			t.Fatalf("another address: status %d, want 401", res.Status)
		}
	})
}

// TestClientAddressFromTrustedProxiesOnly: X-Forwarded-For names the client
// only when the TCP peer is in TRUSTED_PROXIES (none by default); anyone else
// cannot pick the address their failures are counted against.
func TestClientAddressFromTrustedProxiesOnly(t *testing.T) {
	limits := map[string]string{"LOGIN_ADDR_LIMIT": "2", "LOGIN_ADDR_WINDOW": "1h"}
	guess := func(s *server, i int) int {
		return s.do(req{Method: "POST", Path: "/v1/auth/token",
			Body:   map[string]string{"email": "guess" + strconv.Itoa(i) + "@example.com", "password": "wrong password"},
			Header: map[string]string{"X-Forwarded-For": "192.0.2." + strconv.Itoa(i+1)}}).Status
	}
	for _, tc := range []struct {
		name    string
		trusted string
		want    int // status of the third guess from a new forwarded address
	}{
		{"DefaultTrustsNobody", "", http.StatusTooManyRequests},
		{"OtherProxyNotBelieved", "10.0.0.0/8", http.StatusTooManyRequests},
		{"TrustedProxyBelieved", "127.0.0.1,::1", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range limits {
				env[k] = v
			}
			if tc.trusted != "" {
				env["TRUSTED_PROXIES"] = tc.trusted
			}
			s := mustServer(t, env)
			for i := range 2 {
				if got := guess(s, i); got != http.StatusUnauthorized {
					t.Fatalf("guess %d: status %d, want 401", i, got)
				}
			}
			if got := guess(s, 2); got != tc.want {
				t.Errorf("third guess from a new forwarded address: status %d, want %d", got, tc.want)
			}
		})
	}
}
