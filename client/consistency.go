package client

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// consistency remembers the newest consistency token the client's writes
// returned, and whether a query-API read has already waited for it.
// Sending a token costs the query API a wait and a fresh scope look-up,
// so it is sent only until one read with it succeeded.
type consistency struct {
	mu      sync.Mutex
	token   string // the newest token
	pos     uint64 // its position, when it is a c1 token
	gen     uint64 // incremented whenever token changes
	seenGen uint64 // the gen a successful read carried
}

// parseToken returns the WAL position of a `c1.<16 hex digits>` token.
func parseToken(tok string) (uint64, bool) {
	h, ok := strings.CutPrefix(tok, "c1.")
	if !ok || len(h) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(h, 16, 64)
	return n, err == nil
}

// observe remembers tok if it is newer than the remembered one. A token
// whose format this client does not know cannot be ordered; it replaces
// the remembered one (writes are observed in the order they returned).
func (c *consistency) observe(tok string) {
	if tok == "" {
		return
	}
	pos, ok := parseToken(tok)
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, cur := parseToken(c.token); ok && cur && pos <= c.pos {
		return
	}
	c.token, c.pos = tok, pos
	c.gen++
}

// attach adds the remembered token to a query-API read, unless a read has
// already seen it or the caller set a token of its own, and returns the
// generation it sent (0 for none).
func (c *consistency) attach(req *http.Request) uint64 {
	if req.Header.Get("X-Consistency-Token") != "" || req.URL.Query().Has("consistency_token") {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == c.seenGen {
		return 0
	}
	req.Header.Set("X-Consistency-Token", c.token)
	return c.gen
}

// seen records that a read carrying generation gen succeeded: every write
// up to it is searchable.
func (c *consistency) seen(gen uint64) {
	if gen == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seenGen = max(c.seenGen, gen)
}

func (c *consistency) current() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.token
}
