package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wildcat-payments/wildcat/internal/processing"
	"github.com/wildcat-payments/wildcat/internal/provider/sim"
)

// newProvider builds the configured providers: the default and one per
// routed currency (docs/processing.md, Providers).
func newProvider(cfg Config, reg prometheus.Registerer) (processing.Provider, error) {
	clients := map[string]processing.Provider{}
	client := func(url string) processing.Provider {
		if c, ok := clients[url]; ok {
			return c
		}
		c := sim.New(url, cfg.ProviderTimeout, sim.WithRegisterer(reg))
		clients[url] = c
		return c
	}
	r := &processing.Router{Default: client(cfg.ProviderURL), ByCurrency: map[string]processing.Provider{}}
	for cur, url := range cfg.Routes() {
		r.ByCurrency[cur] = client(url)
	}
	return r, nil
}
