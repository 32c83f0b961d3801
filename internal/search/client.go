// Package search is everything that talks to the search engine
// (Elasticsearch 8 or OpenSearch 2, through go-elasticsearch/v8):
//
//   - client.go: the one client the projector and the query API share. The
//     engine is detected from GET / before the client is created; for
//     OpenSearch a RoundTripper marks responses so the client's product
//     check passes.
//   - writer.go: the projector's side (Writer): versioned indices behind the
//     read-model aliases, bulk writes with external versions, refresh, the
//     published applied position, the alias swap that completes a backfill.
//   - searcher.go, body.go, summary.go: the query API's side (Searcher,
//     implementing query.Searcher): scoped payment searches with
//     search_after, the caller's customers, exact summaries from
//     aggregations, the projector's applied position.
//
// Only REST APIs both engines share are used.
package search

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// Distribution names a search engine product.
type Distribution string

// Supported distributions.
const (
	Elasticsearch Distribution = "elasticsearch"
	OpenSearch    Distribution = "opensearch"
)

// Engine describes the detected search engine.
type Engine struct {
	Distribution Distribution
	Version      string // e.g. "2.19.1"
	Major        int
}

// String implements fmt.Stringer.
func (e Engine) String() string { return string(e.Distribution) + " " + e.Version }

// Client is a go-elasticsearch/v8 client plus what was detected about the
// engine. It is safe for concurrent use.
type Client struct {
	ES     *elasticsearch.Client
	Engine Engine
}

// Options tunes Open. The zero value is fine.
type Options struct {
	// Transport is the base RoundTripper; nil means a pooled http.Transport
	// sized for the many concurrent requests of the query API and projector.
	Transport http.RoundTripper
	// APIKey, when set, is sent as "Authorization: ApiKey <APIKey>" (the
	// base64 "id:api_key" an engine's create-API-key call returns as
	// "encoded"). The other credential is basic auth, from the userinfo of
	// the URL (https://user:password@host:9200); not both.
	APIKey string
}

// credentials is a RoundTripper that authenticates every request to the
// engine, detection included.
type credentials struct {
	base          http.RoundTripper
	authorization string
}

func (c credentials) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", c.authorization)
	return c.base.RoundTrip(r)
}

// withCredentials takes the credentials out of raw (basic auth from its
// userinfo) or opts.APIKey, and returns the URL without them and base
// wrapped to send them.
func withCredentials(raw string, base http.RoundTripper, apiKey string) (string, http.RoundTripper, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", nil, fmt.Errorf("search: SEARCH_URL is not a URL")
	}
	var authorization string
	if u.User != nil {
		if apiKey != "" {
			return "", nil, errors.New("search: give either basic auth in the URL or an API key, not both")
		}
		pw, _ := u.User.Password()
		authorization = "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw))
		u.User = nil
	} else if apiKey != "" {
		authorization = "ApiKey " + apiKey
	}
	if authorization == "" {
		return raw, base, nil
	}
	return u.String(), credentials{base: base, authorization: authorization}, nil
}

// NewTransport returns the pooled http.Transport for an engine: sized for
// the many concurrent requests of the query API and projector, no proxy,
// and a connection attempt given up after 5 s (an unreachable host would
// otherwise hold a request for the kernel's SYN retries, about two minutes).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     90 * time.Second,
	}
}

// Open detects the engine behind url and returns a client for it. It fails
// for engines other than Elasticsearch 8+ and OpenSearch 2+. Credentials in
// the URL's userinfo or opts.APIKey are sent with every request.
func Open(ctx context.Context, url string, opts Options) (*Client, error) {
	base := opts.Transport
	if base == nil {
		base = NewTransport()
	}
	url, base, err := withCredentials(strings.TrimRight(url, "/"), base, opts.APIKey)
	if err != nil {
		return nil, err
	}
	engine, err := Detect(ctx, &http.Client{Transport: base, Timeout: 10 * time.Second}, url)
	if err != nil {
		return nil, err
	}
	transport := base
	if engine.Distribution == OpenSearch {
		transport = productHeader{base}
	}
	es, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     []string{url},
		Transport:     transport,
		MaxRetries:    3,
		RetryOnStatus: []int{502, 503, 504},
		RetryBackoff:  func(n int) time.Duration { return time.Duration(n) * 100 * time.Millisecond },
	})
	if err != nil {
		return nil, fmt.Errorf("search: new client: %w", err)
	}
	return &Client{ES: es, Engine: engine}, nil
}

// Detect asks GET / which engine answers at url.
func Detect(ctx context.Context, hc *http.Client, url string) (Engine, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
	if err != nil {
		return Engine{}, fmt.Errorf("search: detect: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return Engine{}, fmt.Errorf("search: detect: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode != http.StatusOK {
		return Engine{}, fmt.Errorf("search: detect: GET / answered %d", res.StatusCode)
	}
	return parseRoot(body, res.Header)
}

func parseRoot(body []byte, h http.Header) (Engine, error) {
	var root struct {
		Version struct {
			Number       string `json:"number"`
			Distribution string `json:"distribution"`
		} `json:"version"`
		Tagline string `json:"tagline"`
	}
	if err := json.Unmarshal(body, &root); err != nil {
		return Engine{}, fmt.Errorf("search: detect: GET / is not JSON: %w", err)
	}
	major, _ := strconv.Atoi(strings.SplitN(root.Version.Number, ".", 2)[0])
	e := Engine{Version: root.Version.Number, Major: major}
	switch {
	case root.Version.Distribution == "opensearch":
		e.Distribution = OpenSearch
		if major < 2 {
			return e, fmt.Errorf("search: OpenSearch %s is not supported (need 2 or later)", e.Version)
		}
	case h.Get("X-Elastic-Product") == "Elasticsearch" || strings.Contains(root.Tagline, "You Know, for Search"):
		e.Distribution = Elasticsearch
		if major < 8 {
			return e, fmt.Errorf("search: Elasticsearch %s is not supported (need 8 or later)", e.Version)
		}
	default:
		return e, errors.New("search: detect: GET / is neither Elasticsearch nor OpenSearch")
	}
	return e, nil
}

// productHeader marks OpenSearch responses as the product go-elasticsearch
// expects. The REST APIs we use are the same on both engines.
type productHeader struct{ base http.RoundTripper }

func (t productHeader) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(req)
	if err == nil && res.Header.Get("X-Elastic-Product") == "" {
		res.Header.Set("X-Elastic-Product", "Elasticsearch")
	}
	return res, err
}

// Ping checks that the cluster answers and is at least yellow.
func (c *Client) Ping(ctx context.Context) error {
	res, err := c.ES.Cluster.Health(c.ES.Cluster.Health.WithContext(ctx))
	if err != nil {
		return fmt.Errorf("search: ping: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("search: ping: %s", res.Status())
	}
	var h struct {
		Status string `json:"status"`
	}
	if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
		return fmt.Errorf("search: ping: %w", err)
	}
	if h.Status == "red" {
		return errors.New("search: cluster status is red")
	}
	return nil
}

// Do sends one request with a JSON body (nil for none) and returns the
// status and body. Non-2xx statuses are returned, not treated as errors, so
// callers can branch on 404 or 409; transport failures are errors.
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var raw []byte
	switch b := body.(type) {
	case nil:
	case []byte:
		raw = b
	default:
		buf, err := json.Marshal(body)
		if err != nil {
			return 0, nil, fmt.Errorf("search: encode %s %s: %w", method, path, err)
		}
		raw = buf
	}
	return c.DoRaw(ctx, method, path, "application/json", raw)
}

// DoRaw sends body (nil for none) as contentType and returns the status
// and the whole response body: the one place engine requests are made.
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("search: %s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.ES.Perform(req)
	if err != nil {
		return 0, nil, fmt.Errorf("search: %s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	out, err := readBody(res)
	if err != nil {
		return res.StatusCode, nil, fmt.Errorf("search: read %s %s: %w", method, path, err)
	}
	return res.StatusCode, out, nil
}

// readBody reads a response body into one buffer of the announced length:
// io.ReadAll would grow and copy its buffer a dozen times for a 50-row
// page. net/http delivers exactly Content-Length bytes (a shorter body is
// io.ErrUnexpectedEOF), so nothing is left to read after it.
func readBody(res *http.Response) ([]byte, error) {
	if res.ContentLength < 0 || res.ContentLength > 64<<20 {
		return io.ReadAll(res.Body)
	}
	buf := make([]byte, res.ContentLength)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}
