package command

import (
	"context"
	"sync"
	"time"

	"github.com/wildcat-payments/wildcat/internal/domain"
)

// Executors names who made a payment (executed_by) for the command API's
// responses, from a short-lived cache: names change rarely, and a response
// shows them as of about now (the read model re-projects renames).
type Executors struct {
	users UserStore
	keys  APIKeyStore // nil: keys are shown by id only
	ttl   time.Duration
	now   func() time.Time

	mu sync.Mutex
	m  map[string]cachedExecutor
}

type cachedExecutor struct {
	e  domain.Executor
	at time.Time
}

// maxExecutors bounds the cache; past it, it starts over.
const maxExecutors = 100_000

// NewExecutors returns a resolver caching names for ttl.
func NewExecutors(users UserStore, keys APIKeyStore, ttl time.Duration) *Executors {
	return &Executors{users: users, keys: keys, ttl: ttl, now: time.Now, m: map[string]cachedExecutor{}}
}

// Of returns the executor of p. A name that cannot be read (a database
// hiccup) is left empty rather than failing the response of a committed
// write.
func (x *Executors) Of(ctx context.Context, p domain.Payment) domain.Executor {
	if p.APIKeyID != nil {
		return x.lookup(ctx, domain.ExecutorAPIKey, *p.APIKeyID)
	}
	return x.lookup(ctx, domain.ExecutorUser, p.UserID)
}

func (x *Executors) put(e domain.Executor) {
	if len(x.m) >= maxExecutors {
		clear(x.m)
	}
	x.m[e.Type+":"+e.ID] = cachedExecutor{e: e, at: x.now()}
}

func (x *Executors) lookup(ctx context.Context, typ, id string) domain.Executor {
	x.mu.Lock()
	c, ok := x.m[typ+":"+id]
	x.mu.Unlock()
	if ok && x.now().Sub(c.at) < x.ttl {
		return c.e
	}
	e := domain.Executor{Type: typ, ID: id}
	switch {
	case typ == domain.ExecutorUser:
		u, err := x.users.User(ctx, id)
		if err != nil {
			return e
		}
		e.Name, e.Email = u.Name, &u.Email
	case x.keys != nil:
		name, err := x.keys.APIKeyName(ctx, id)
		if err != nil {
			return e
		}
		e.Name = name
	}
	x.mu.Lock()
	x.put(e)
	x.mu.Unlock()
	return e
}
