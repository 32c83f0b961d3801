package client

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/client/commandapi"
)

// TokenSource gives the user access token to send with a request.
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a TokenSource of one access token (it expires: 15 minutes
// by default; use Login for long-running programs).
type StaticToken string

// Token implements TokenSource.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// LoginTokenSource exchanges a user's email and password for access tokens
// (POST /v1/auth/token on the client's command API), once at first use and
// again shortly before each token expires. It keeps the password in memory
// for that. Safe for concurrent use; concurrent requests share one login.
type LoginTokenSource struct {
	email, password string
	// renewBefore is how long before its expiry a token is renewed.
	renewBefore time.Duration

	mu      sync.Mutex
	login   *commandapi.ClientWithResponses // set by New
	token   string
	expires time.Time
}

// Login returns a TokenSource for Options.TokenSource that logs in as
// email with password. A wrong password surfaces as an *Error (401
// invalid_credentials) from the first request; call Token to check early.
func Login(email, password string) *LoginTokenSource {
	return &LoginTokenSource{email: email, password: password, renewBefore: time.Minute}
}

// bind gives the source the client to log in with: the same HTTP client
// and retry policy, no credentials.
func (l *LoginTokenSource) bind(c *Client, commandURL string) error {
	login, err := commandapi.NewClientWithResponses(baseOrPlaceholder(commandURL),
		commandapi.WithHTTPClient(&transport{c: c, api: commandAPI, base: commandURL}))
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.login = login
	return nil
}

// Token implements TokenSource.
func (l *LoginTokenSource) Token(ctx context.Context) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.login == nil {
		return "", errors.New("client: a LoginTokenSource works once passed to New (Options.TokenSource)")
	}
	if l.token != "" && time.Until(l.expires) > l.renewBefore {
		return l.token, nil
	}
	start := time.Now()
	res, err := l.login.CreateTokenWithResponse(ctx, commandapi.Login{Email: l.email, Password: l.password})
	if err != nil {
		return "", err
	}
	if res.StatusCode() != http.StatusOK || res.JSON200 == nil {
		return "", newError(res.HTTPResponse, res.Body)
	}
	l.token = res.JSON200.AccessToken
	l.expires = start.Add(time.Duration(res.JSON200.ExpiresIn) * time.Second)
	return l.token, nil
}
