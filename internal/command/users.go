package command

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// SignUp creates a user. clientAddr is the caller's network address, for
// rate limiting. The email must be unused (case-insensitively).
func (s *Service) SignUp(ctx context.Context, clientAddr string, in SignUpInput) (domain.User, Commit, error) {
	var v domain.Validation
	var email, name, password string
	if required(&v, "email", in.Email) {
		email = domain.NormalizeEmail(*in.Email)
		domain.ValidateEmail(&v, "email", email)
	}
	if required(&v, "password", in.Password) {
		password = *in.Password
		validatePassword(&v, "password", password)
	}
	if required(&v, "name", in.Name) {
		name = strings.TrimSpace(*in.Name)
		domain.ValidateText(&v, "name", name, 1, domain.MaxNameLen)
	}
	if err := v.Err(); err != nil {
		return domain.User{}, Commit{}, err
	}
	if domain.IsCommonPassword(password) {
		return domain.User{}, Commit{}, errCommonPassword
	}
	if err := take(s.opts.Limits.SignUpPerAddr, clientAddr); err != nil {
		return domain.User{}, Commit{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return domain.User{}, Commit{}, fmt.Errorf("command: sign up: %w", err)
	}
	u, c, err := s.store.CreateUser(ctx, NewUser{Email: email, Name: name, PasswordHash: hash})
	if err != nil {
		return domain.User{}, Commit{}, fmt.Errorf("command: sign up: %w", err)
	}
	return u, c, nil
}

// errCommonPassword refuses a new password from the bundled list of common
// passwords (domain.IsCommonPassword): well-formed, but the first thing an
// attacker guesses.
var errCommonPassword = &domain.Error{Code: domain.EUNPROCESSABLE, Reason: ReasonPasswordTooCommon,
	Message: "This password is one of the most common passwords; choose another.",
	Fields:  []domain.FieldError{{Field: "password", Message: "is one of the most common passwords"}}}

// AccessToken is the result of a successful login.
type AccessToken struct {
	Token     string
	ExpiresIn time.Duration
}

// errInvalidCredentials is the one answer to an unknown email and a wrong
// password, so the response never tells whether an account exists.
var errInvalidCredentials = &domain.Error{Code: domain.EUNAUTHORIZED, Reason: ReasonInvalidCredentials,
	Message: "The email or password is incorrect."}

// Login exchanges an email and password for an access token. Failed attempts
// are limited per email + client address (blocking that pair only), per email
// from anywhere (a slower throttle that a client which logged in to the
// account before still passes, so nobody can lock the owner out) and per
// client address; an unknown email costs the same password comparison as a
// wrong password.
func (s *Service) Login(ctx context.Context, clientAddr string, in LoginInput) (AccessToken, error) {
	var v domain.Validation
	var email, password string
	if required(&v, "email", in.Email) {
		email = domain.NormalizeEmail(*in.Email)
		if email == "" || len(email) > domain.MaxEmailLen {
			v.Add("email", "must be an email address of at most %d characters", domain.MaxEmailLen)
		}
	}
	if required(&v, "password", in.Password) {
		password = *in.Password
		if password == "" || utf8.RuneCountInString(password) > domain.MaxPasswordLen {
			v.Add("password", "must be 1 to %d characters", domain.MaxPasswordLen)
		}
	}
	if err := v.Err(); err != nil {
		return AccessToken{}, err
	}
	attempt, err := s.admitLogin(strings.ToLower(email), clientAddr)
	if err != nil {
		return AccessToken{}, err
	}
	userID, hash, err := s.store.Credentials(ctx, email)
	if err != nil && domain.ErrorCode(err) != domain.ENOTFOUND {
		return AccessToken{}, fmt.Errorf("command: login: %w", err)
	}
	ok, err := s.hasher.Verify(ctx, hash, password) // hash is "" for an unknown email
	if err != nil {
		return AccessToken{}, fmt.Errorf("command: login: %w", err)
	}
	if !ok {
		return AccessToken{}, errInvalidCredentials
	}
	attempt.succeeded()
	tok, err := s.tokens.Issue(userID)
	if err != nil {
		return AccessToken{}, fmt.Errorf("command: login: %w", err)
	}
	return AccessToken{Token: tok, ExpiresIn: s.tokens.TTL()}, nil
}

// loginAttempt is an admitted login: the tokens it spent, given back if it
// succeeds (only failures count).
type loginAttempt struct {
	limits            Limits
	email, addr, pair string
	spentEmail        bool
}

// admitLogin spends one attempt of the client address, of the email +
// address pair and of the email. An exhausted email throttle is passed by a
// known pair without spending; everything else refused is 429.
func (s *Service) admitLogin(email, addr string) (loginAttempt, error) {
	l := s.opts.Limits
	a := loginAttempt{limits: l, email: email, addr: addr, pair: email + " " + addr, spentEmail: true}
	if err := take(l.LoginPerAddr, addr); err != nil {
		return a, err
	}
	if err := take(l.LoginPerClient, a.pair); err != nil {
		refund(l.LoginPerAddr, addr)
		return a, err
	}
	if err := take(l.LoginPerEmail, email); err != nil {
		if l.KnownClients == nil || !l.KnownClients.Known(a.pair) {
			refund(l.LoginPerAddr, addr)
			refund(l.LoginPerClient, a.pair)
			return a, err
		}
		a.spentEmail = false
	}
	return a, nil
}

// succeeded gives back what a successful login spent and remembers the pair.
func (a loginAttempt) succeeded() {
	refund(a.limits.LoginPerAddr, a.addr)
	refund(a.limits.LoginPerClient, a.pair)
	if a.spentEmail {
		refund(a.limits.LoginPerEmail, a.email)
	}
	if a.limits.KnownClients != nil {
		a.limits.KnownClients.Remember(a.pair)
	}
}

// Me returns the calling user.
func (s *Service) Me(ctx context.Context, userID string) (domain.User, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return domain.User{}, fmt.Errorf("command: me: %w", err)
	}
	return u, nil
}
