package processing

import (
	"context"
	"errors"
)

// Router is a Provider that sends each payment to the provider configured
// for its currency, and everything else to Default. A refund goes where its
// payment went (the same currency). It is safe for concurrent use.
type Router struct {
	Default    Provider
	ByCurrency map[string]Provider
}

var _ Provider = (*Router)(nil)

func (r *Router) pick(currency string) Provider {
	if p, ok := r.ByCurrency[currency]; ok {
		return p
	}
	return r.Default
}

// Charge implements Provider.
func (r *Router) Charge(ctx context.Context, c Charge) (Receipt, error) {
	return r.pick(c.Currency).Charge(ctx, c)
}

// Refund implements Provider.
func (r *Router) Refund(ctx context.Context, f Refund) (Receipt, error) {
	return r.pick(f.Currency).Refund(ctx, f)
}

// Lookup implements Provider. A key does not say which provider it went
// to, so every distinct provider is asked: found at one is found; not found
// needs every one to say so (and closes the key at each).
func (r *Router) Lookup(ctx context.Context, key string) (Receipt, bool, error) {
	seen := map[Provider]bool{}
	var errs []error
	for _, p := range append([]Provider{r.Default}, r.values()...) {
		if seen[p] {
			continue
		}
		seen[p] = true
		rec, found, err := p.Lookup(ctx, key)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if found {
			return rec, true, nil
		}
	}
	return Receipt{}, false, errors.Join(errs...)
}

func (r *Router) values() []Provider {
	out := make([]Provider, 0, len(r.ByCurrency))
	for _, p := range r.ByCurrency {
		out = append(out, p)
	}
	return out
}
