package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// PasswordParams are the argon2id cost parameters of new hashes. Existing
// hashes keep the parameters encoded in them, so raising the cost later does
// not invalidate stored passwords.
type PasswordParams struct {
	MemoryKiB uint32 // memory per hash in KiB
	Time      uint32 // passes over the memory
	Threads   uint8  // lanes
}

// DefaultPasswordParams follow the OWASP argon2id recommendation (19 MiB, two
// passes, one lane): about 25 ms per hash on a 2-core machine.
var DefaultPasswordParams = PasswordParams{MemoryKiB: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Upper bounds accepted when parsing a stored hash, so a corrupted row
	// cannot make a login allocate gigabytes.
	maxMemoryKiB = 1 << 20
	maxTime      = 16
)

// PasswordHasher hashes and verifies passwords with argon2id, encoded in the
// PHC string format ($argon2id$v=19$m=…,t=…,p=…$salt$hash). At most
// maxConcurrent hashes run at once, bounding memory and CPU under a burst of
// logins; callers wait for a slot until their context ends. It is safe for
// concurrent use.
type PasswordHasher struct {
	params PasswordParams
	slots  chan struct{}
	dummy  string
}

// NewPasswordHasher returns a hasher for new hashes with p, running at most
// maxConcurrent hashes at once (≤ 0 means 2).
func NewPasswordHasher(p PasswordParams, maxConcurrent int) (*PasswordHasher, error) {
	if p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB || p.Time < 1 || p.Time > maxTime || p.Threads < 1 {
		return nil, fmt.Errorf("auth: argon2id parameters out of range: %+v", p)
	}
	if maxConcurrent <= 0 {
		maxConcurrent = 2
	}
	h := &PasswordHasher{params: p, slots: make(chan struct{}, maxConcurrent)}
	var pw [24]byte
	_, _ = rand.Read(pw[:])
	dummy, err := h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(pw[:]))
	if err != nil {
		return nil, err
	}
	h.dummy = dummy
	return h, nil
}

func (h *PasswordHasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("auth: waiting to hash: %w", ctx.Err())
	}
}

func (h *PasswordHasher) release() { <-h.slots }

// Hash returns the encoded argon2id hash of password with a fresh random salt.
func (h *PasswordHasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.MemoryKiB, h.params.Threads, keyLen)
	h.release()
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, h.params.MemoryKiB, h.params.Time, h.params.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify reports whether password matches encoded, comparing in constant
// time. An empty encoded hash (the caller found no such user) is compared
// against a dummy hash of the same cost and always reports false, so the
// time taken does not reveal whether an account exists.
func (h *PasswordHasher) Verify(ctx context.Context, encoded, password string) (bool, error) {
	unknown := encoded == ""
	if unknown {
		encoded = h.dummy
	}
	p, salt, want, err := parseHash(encoded)
	if err != nil {
		return false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, uint32(len(want)))
	h.release()
	match := subtle.ConstantTimeCompare(got, want) == 1
	return match && !unknown, nil
}

var errBadHash = errors.New("auth: stored password hash is malformed")

func parseHash(s string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, errBadHash
	}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil {
		return p, nil, nil, errBadHash
	}
	if threads < 1 || threads > 255 || p.MemoryKiB < 8*threads || p.MemoryKiB > maxMemoryKiB || p.Time < 1 || p.Time > maxTime {
		return p, nil, nil, errBadHash
	}
	p.Threads = uint8(threads)
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errBadHash
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errBadHash
	}
	return p, salt, key, nil
}
