// Package auth issues and verifies Wildcat access tokens: JWTs signed with
// Ed25519 (EdDSA) via golang-jwt/jwt/v5. The command API holds the private
// key and issues; the query API holds only the public key (from a file or
// the command API's JWKS) and can verify but never mint. Verification pins
// the algorithm, issuer and audience and requires exp, iat and sub.
package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// LoadPrivateKey reads a PKCS#8 PEM Ed25519 private key (as written by
// `openssl genpkey -algorithm ed25519`).
func LoadPrivateKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read private key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("auth: private key file holds no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: parse private key: %w", err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("auth: private key is %T, want Ed25519", k)
	}
	return priv, nil
}

// LoadPublicKey reads a PKIX PEM Ed25519 public key.
func LoadPublicKey(path string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("auth: read public key: %w", err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("auth: public key file holds no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: parse public key: %w", err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("auth: public key is %T, want Ed25519", k)
	}
	return pub, nil
}

// GenerateKeyFile writes a new PKCS#8 PEM Ed25519 private key to path with
// mode 0600 unless the file exists. The local stack and tests use it.
func GenerateKeyFile(path string) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("auth: generate key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("auth: marshal key: %w", err)
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// KeyID derives a stable key id from a public key.
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Claims are the claims of a Wildcat access token.
type Claims struct {
	jwt.RegisteredClaims
}

// Issuer mints access tokens. It is safe for concurrent use.
type Issuer struct {
	key      ed25519.PrivateKey
	kid      string
	issuer   string
	audience string
	ttl      time.Duration
	now      func() time.Time
}

// NewIssuer returns an Issuer signing with key for the given issuer and
// audience; tokens live for ttl.
func NewIssuer(key ed25519.PrivateKey, issuer, audience string, ttl time.Duration) *Issuer {
	return &Issuer{key: key, kid: KeyID(key.Public().(ed25519.PublicKey)), issuer: issuer, audience: audience, ttl: ttl, now: time.Now}
}

// PublicKey returns the verification key.
func (i *Issuer) PublicKey() ed25519.PublicKey { return i.key.Public().(ed25519.PublicKey) }

// TTL returns the lifetime of issued tokens.
func (i *Issuer) TTL() time.Duration { return i.ttl }

// Issue returns a signed token for userID.
func (i *Issuer) Issue(userID string) (string, error) {
	now := i.now()
	var jti [16]byte
	if _, err := rand.Read(jti[:]); err != nil {
		return "", fmt.Errorf("auth: jti: %w", err)
	}
	claims := Claims{RegisteredClaims: jwt.RegisteredClaims{
		Subject:   userID,
		Issuer:    i.issuer,
		Audience:  jwt.ClaimStrings{i.audience},
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(i.ttl)),
		ID:        hex.EncodeToString(jti[:]),
	}}
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["kid"] = i.kid
	s, err := tok.SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return s, nil
}

// Verifier checks access tokens. It is safe for concurrent use.
type Verifier struct {
	key    ed25519.PublicKey
	parser *jwt.Parser
}

// NewVerifier returns a Verifier that accepts only EdDSA tokens signed by
// key with the given issuer and audience, and requires exp, iat (not in the
// future) and sub; a token with a crit header is refused.
func NewVerifier(key ed25519.PublicKey, issuer, audience string) *Verifier {
	return &Verifier{key: key, parser: jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5*time.Second),
	)}
}

// Verify checks token and returns the user id it was issued to. Every
// failure is an EUNAUTHORIZED *domain.Error without details of why.
func (v *Verifier) Verify(token string) (string, error) {
	claims, err := v.claims(token)
	if err != nil {
		return "", err
	}
	return claims.Subject, nil
}

var errCritical = errors.New("auth: unsupported critical header")

func (v *Verifier) claims(token string) (Claims, error) {
	var claims Claims
	_, err := v.parser.ParseWithClaims(token, &claims, func(t *jwt.Token) (any, error) {
		// RFC 7515 §4.1.11: a header listing critical extensions must be
		// rejected unless each is understood; we understand none (and an
		// empty list is malformed), so any crit header is refused.
		if _, ok := t.Header["crit"]; ok {
			return nil, errCritical
		}
		return v.key, nil
	})
	// jwt.WithIssuedAt only checks an iat that is present; ours is required.
	if err != nil || !domain.IsUUID(claims.Subject) || claims.ExpiresAt == nil || claims.IssuedAt == nil {
		return Claims{}, domain.Errorf(domain.EUNAUTHORIZED, "The access token is missing, invalid or expired.")
	}
	return claims, nil
}

// JWK is one JSON Web Key (RFC 8037 OKP) in a JWKS document.
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS is a JSON Web Key Set.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// NewJWKS returns the key set publishing pub.
func NewJWKS(pub ed25519.PublicKey) JWKS {
	return JWKS{Keys: []JWK{{Kty: "OKP", Crv: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), Kid: KeyID(pub), Alg: "EdDSA", Use: "sig"}}}
}

// ParseJWKS returns the first Ed25519 signing key of a JWKS document.
func ParseJWKS(b []byte) (ed25519.PublicKey, error) {
	var set JWKS
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("auth: parse jwks: %w", err)
	}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || (k.Use != "" && k.Use != "sig") {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("auth: jwks: bad Ed25519 key")
		}
		return ed25519.PublicKey(x), nil
	}
	return nil, errors.New("auth: jwks: no Ed25519 signing key")
}
