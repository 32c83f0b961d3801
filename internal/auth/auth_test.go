package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

const testUser = "123e4567-e89b-42d3-a456-426614174000"

func mustKey(t *testing.T) ed25519.PrivateKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "k.pem")
	if err := GenerateKeyFile(path); err != nil {
		t.Fatal(err)
	}
	k, err := LoadPrivateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestIssueVerify(t *testing.T) {
	key := mustKey(t)
	iss := NewIssuer(key, "wildcat", "api", 15*time.Minute)
	v := NewVerifier(iss.PublicKey(), "wildcat", "api")
	tok, err := iss.Issue(testUser)
	if err != nil {
		t.Fatal(err)
	}
	if uid, err := v.Verify(tok); err != nil || uid != testUser {
		t.Fatalf("Verify = %q, %v; want %q", uid, err, testUser)
	}
	pub, err := ParseJWKS(mustMarshal(t, NewJWKS(iss.PublicKey())))
	if err != nil || !pub.Equal(iss.PublicKey()) {
		t.Fatalf("JWKS round trip: %v", err)
	}
}

func TestVerifierRejects(t *testing.T) {
	key := mustKey(t)
	pub := key.Public().(ed25519.PublicKey)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	v := NewVerifier(pub, "wildcat", "api")
	now := time.Now()
	claims := func(mut func(*jwt.RegisteredClaims)) jwt.RegisteredClaims {
		c := jwt.RegisteredClaims{Subject: testUser, Issuer: "wildcat", Audience: jwt.ClaimStrings{"api"},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Minute))}
		if mut != nil {
			mut(&c)
		}
		return c
	}
	signWith := func(m jwt.SigningMethod, k any, c jwt.RegisteredClaims, header map[string]any) string {
		tok := jwt.NewWithClaims(m, c)
		for name, val := range header {
			tok.Header[name] = val
		}
		s, err := tok.SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sign := func(m jwt.SigningMethod, k any, c jwt.RegisteredClaims) string { return signWith(m, k, c, nil) }
	for _, tc := range []struct{ name, token string }{
		{"AlgNone", sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, claims(nil))},
		{"HS256KeyConfusion", sign(jwt.SigningMethodHS256, []byte(pub), claims(nil))},
		{"OtherKey", sign(jwt.SigningMethodEdDSA, other, claims(nil))},
		{"Expired", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Minute)) }))},
		{"NotBefore", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) }))},
		{"NoExpiry", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }))},
		{"WrongIssuer", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.Issuer = "x" }))},
		{"WrongAudience", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.Audience = nil }))},
		{"NoIssuedAt", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = nil }))},
		{"IssuedInTheFuture", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Hour)) }))},
		// RFC 7515 §4.1.11: a critical extension the verifier does not
		// understand (it understands none) makes the token invalid.
		{"UnknownCrit", signWith(jwt.SigningMethodEdDSA, key, claims(nil), map[string]any{"crit": []string{"exp-ext"}, "exp-ext": true})},
		{"EmptyCrit", signWith(jwt.SigningMethodEdDSA, key, claims(nil), map[string]any{"crit": []string{}})},
		{"BadSubject", sign(jwt.SigningMethodEdDSA, key, claims(func(c *jwt.RegisteredClaims) { c.Subject = "admin" }))},
		{"Garbage", "a.b.c"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, verify := range map[string]func(string) (string, error){"Verifier": v.Verify, "Cached": NewCachedVerifier(v, 10).Verify} {
				if _, err := verify(tc.token); domain.ErrorCode(err) != domain.EUNAUTHORIZED {
					t.Errorf("%s: err = %v, want unauthorized", name, err)
				}
			}
		})
	}
}

func TestCachedVerifier(t *testing.T) {
	key := mustKey(t)
	iss := NewIssuer(key, "wildcat", "api", time.Minute)
	c := NewCachedVerifier(NewVerifier(iss.PublicKey(), "wildcat", "api"), 2)
	now := time.Now()
	c.now = func() time.Time { return now }
	tok, _ := iss.Issue(testUser)
	for i := range 3 {
		if uid, err := c.Verify(tok); err != nil || uid != testUser {
			t.Fatalf("call %d: %q, %v", i, uid, err)
		}
	}
	if len(c.entries) != 1 {
		t.Fatalf("%d cached entries, want 1", len(c.entries))
	}
	t.Run("ServedFromCacheUntilExpiry", func(t *testing.T) {
		// A planted entry shows whether the cache or the verifier answered.
		const planted = "123e4567-e89b-42d3-a456-4266141740ff"
		c.entries[tok] = cachedToken{userID: planted, expires: now.Add(time.Second)}
		if uid, _ := c.Verify(tok); uid != planted {
			t.Errorf("a live entry was not served from the cache")
		}
		c.entries[tok] = cachedToken{userID: planted, expires: now}
		if uid, _ := c.Verify(tok); uid != testUser {
			t.Errorf("an expired entry was served: %q", uid)
		}
	})
	t.Run("Bounded", func(t *testing.T) {
		for _, u := range []string{"123e4567-e89b-42d3-a456-426614174001", "123e4567-e89b-42d3-a456-426614174002", "123e4567-e89b-42d3-a456-426614174003"} {
			tk, _ := iss.Issue(u)
			if uid, err := c.Verify(tk); err != nil || uid != u {
				t.Fatalf("%q, %v", uid, err)
			}
		}
		if len(c.entries) > 2 {
			t.Errorf("%d entries, limit 2", len(c.entries))
		}
	})
}

func TestPasswordHasher(t *testing.T) {
	h, err := NewPasswordHasher(PasswordParams{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=8192,t=1,p=1$") {
		t.Errorf("encoded %q", enc)
	}
	if again, _ := h.Hash(ctx, "correct horse battery staple"); again == enc {
		t.Error("two hashes of one password are equal: no salt")
	}
	for _, tc := range []struct {
		name, hash, password string
		want                 bool
	}{
		{"Match", enc, "correct horse battery staple", true},
		{"Mismatch", enc, "correct horse battery stapl", false},
		{"Empty", enc, "", false},
		{"UnknownUserDummy", "", "correct horse battery staple", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Verify(ctx, tc.hash, tc.password)
			if err != nil || got != tc.want {
				t.Errorf("Verify = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	t.Run("HashWithOtherParamsStillVerifies", func(t *testing.T) {
		h2, _ := NewPasswordHasher(PasswordParams{MemoryKiB: 9 * 1024, Time: 2, Threads: 1}, 1)
		if ok, err := h2.Verify(ctx, enc, "correct horse battery staple"); !ok || err != nil {
			t.Errorf("Verify = %v, %v", ok, err)
		}
	})
	for _, bad := range []string{"plain", "$argon2id$v=19$m=8192,t=1,p=1$c2FsdA$", "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=18$m=8192,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"} {
		if _, err := h.Verify(ctx, bad, "x"); err == nil {
			t.Errorf("Verify(%q) accepted a malformed hash", bad)
		}
	}
	t.Run("WaitsForASlotUntilTheContextEnds", func(t *testing.T) {
		h1, _ := NewPasswordHasher(PasswordParams{MemoryKiB: 8 * 1024, Time: 1, Threads: 1}, 1)
		h1.slots <- struct{}{} // occupy the only slot
		ctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		defer cancel()
		if _, err := h1.Hash(ctx, "whatever password"); err == nil {
			t.Error("Hash did not give up when its context ended")
		}
	})
	if _, err := NewPasswordHasher(PasswordParams{MemoryKiB: 1, Time: 1, Threads: 1}, 1); err == nil {
		t.Error("NewPasswordHasher accepted 1 KiB")
	}
}

// BenchmarkPasswordDefault shows the cost of one login with the production
// parameters (it should be tens of milliseconds).
func BenchmarkPasswordDefault(b *testing.B) {
	h, err := NewPasswordHasher(DefaultPasswordParams, 1)
	if err != nil {
		b.Fatal(err)
	}
	enc, _ := h.Hash(context.Background(), "correct horse battery staple")
	for b.Loop() {
		_, _ = h.Verify(context.Background(), enc, "correct horse battery staple")
	}
}

func TestKeyedLimiter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := NewKeyedLimiter(3, time.Minute) // one token per 20 s
	l.now = func() time.Time { return now }
	for i := range 3 {
		if ok, _ := l.Take("a"); !ok {
			t.Fatalf("take %d refused", i)
		}
	}
	ok, wait := l.Take("a")
	if ok || wait <= 0 || wait > 20*time.Second {
		t.Fatalf("fourth take: ok %v wait %s, want refused with ≤ 20s", ok, wait)
	}
	if ok, _ := l.Take("b"); !ok {
		t.Fatal("another key is limited too")
	}
	l.Refund("a")
	if ok, _ := l.Take("a"); !ok {
		t.Fatal("a refunded token was not available")
	}
	now = now.Add(20 * time.Second)
	if ok, _ := l.Take("a"); !ok {
		t.Fatal("no token after the refill interval")
	}
	if ok, _ := l.Take("a"); ok {
		t.Fatal("two tokens after one refill interval")
	}
	t.Run("FullBucketsAreForgotten", func(t *testing.T) {
		now = now.Add(2 * time.Minute)
		l.Take("c")
		if _, kept := l.buckets["b"]; kept {
			t.Error("a refilled bucket was kept")
		}
	})
	t.Run("FailsClosedWhenFull", func(t *testing.T) {
		l := NewKeyedLimiter(1, time.Hour)
		l.maxKeys = 2
		l.Take("x")
		l.Take("y")
		if ok, _ := l.Take("z"); ok {
			t.Error("a new key was admitted past maxKeys")
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		l := NewKeyedLimiter(0, time.Minute)
		for range 100 {
			if ok, _ := l.Take("a"); !ok {
				t.Fatal("a disabled limiter refused")
			}
		}
	})
	if got := RetryAfterSeconds(1500 * time.Millisecond); got != 2 {
		t.Errorf("RetryAfterSeconds(1.5s) = %d, want 2", got)
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKnownClients(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	k := NewKnownClients(time.Hour)
	k.now = func() time.Time { return now }
	k.Remember("a@example.com 192.0.2.1")
	if !k.Known("a@example.com 192.0.2.1") || k.Known("a@example.com 192.0.2.2") {
		t.Fatalf("got known %v/%v, want true/false", k.Known("a@example.com 192.0.2.1"), k.Known("a@example.com 192.0.2.2"))
	}
	now = now.Add(time.Hour)
	if k.Known("a@example.com 192.0.2.1") {
		t.Errorf("known after the ttl")
	}
	k.maxKeys = 1
	k.Remember("b@example.com 192.0.2.1") // sweeps the expired entry first
	k.Remember("c@example.com 192.0.2.1") // full: not remembered
	if !k.Known("b@example.com 192.0.2.1") || k.Known("c@example.com 192.0.2.1") {
		t.Errorf("got b %v c %v, want true false", k.Known("b@example.com 192.0.2.1"), k.Known("c@example.com 192.0.2.1"))
	}
}
