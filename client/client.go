package client

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/client/commandapi"
	"github.com/wildcat-payments/wildcat/client/queryapi"
)

// Options configure a Client.
type Options struct {
	// CommandURL and QueryURL are the APIs' base URLs, e.g.
	// http://127.0.0.1:8081 and http://127.0.0.1:8082. A client may have
	// only one of them; calls to the other API then fail.
	CommandURL, QueryURL string
	// APIKey is an API key (`wc_…`) sent as `Authorization: Bearer`.
	// Set it or TokenSource, not both; with neither, requests carry no
	// credentials (enough for SignUp).
	APIKey string
	// TokenSource gives a user's access token per request: StaticToken,
	// or Login (which exchanges email and password and renews the token
	// before it expires).
	TokenSource TokenSource
	// HTTPClient sends the requests; default: one with a 30 s timeout per
	// attempt and keep-alive connections.
	HTTPClient *http.Client
	// Retry is the retry policy; the zero value is DefaultRetry, NoRetry
	// turns retries off.
	Retry RetryPolicy
}

// Client talks to Wildcat's command and query APIs. It is safe for
// concurrent use; create one per process (or per credential) and share it.
type Client struct {
	cmd    *commandapi.ClientWithResponses
	qry    *queryapi.ClientWithResponses
	hc     *http.Client
	retry  RetryPolicy
	apiKey string
	tokens TokenSource
	rw     consistency
}

// New returns a client for the APIs in o.
func New(o Options) (*Client, error) {
	if o.APIKey != "" && o.TokenSource != nil {
		return nil, errors.New("client: set APIKey or TokenSource, not both")
	}
	if o.APIKey != "" && !strings.HasPrefix(o.APIKey, "wc_") {
		return nil, errors.New("client: an API key starts with wc_")
	}
	c := &Client{hc: o.HTTPClient, retry: o.Retry.withDefaults(), apiKey: o.APIKey, tokens: o.TokenSource}
	if c.hc == nil {
		c.hc = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 90 * time.Second,
		}}
	}
	var err error
	c.cmd, err = commandapi.NewClientWithResponses(baseOrPlaceholder(o.CommandURL),
		commandapi.WithHTTPClient(&transport{c: c, api: commandAPI, base: o.CommandURL, auth: true}))
	if err != nil {
		return nil, err
	}
	c.qry, err = queryapi.NewClientWithResponses(baseOrPlaceholder(o.QueryURL),
		queryapi.WithHTTPClient(&transport{c: c, api: queryAPI, base: o.QueryURL, auth: true}))
	if err != nil {
		return nil, err
	}
	if l, ok := o.TokenSource.(*LoginTokenSource); ok {
		if err := l.bind(c, o.CommandURL); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// baseOrPlaceholder lets a client without one of the URLs be built; its
// transport refuses the requests (with an error naming the option).
func baseOrPlaceholder(u string) string {
	if u == "" {
		return "http://unset.invalid"
	}
	return u
}

// Command returns the generated command-API client, for operations the
// wrapper does not cover. Its requests get the same credentials,
// Idempotency-Keys, retries and consistency tokens.
func (c *Client) Command() *commandapi.ClientWithResponses { return c.cmd }

// Query returns the generated query-API client (see Command).
func (c *Client) Query() *queryapi.ClientWithResponses { return c.qry }

// ConsistencyToken returns the newest X-Consistency-Token the client's
// writes returned ("" before the first write). Pass it to another client
// (ObserveConsistencyToken) to give it read-your-writes on those writes.
func (c *Client) ConsistencyToken() string { return c.rw.current() }

// ObserveConsistencyToken makes the client's next query-API reads wait
// until the write that returned tok is searchable (if tok is newer than
// what the client remembers).
func (c *Client) ObserveConsistencyToken(tok string) { c.rw.observe(tok) }
