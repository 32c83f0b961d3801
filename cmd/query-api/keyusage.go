package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// keyUsage reports the API keys used on this query API to the command API,
// which keeps their last_used_at (the query API has no PostgreSQL
// connection). Every interval, each key used since the last report calls
// GET /v1/api-key once with its own credentials: the command API records
// that as a use of the key, so nothing new has to be trusted and no shared
// secret is needed. A key's secret is held in memory only until the next
// report. Reports that fail are dropped (last_used_at is a hint, not an
// audit log) and logged at debug level.
type keyUsage struct {
	url      string // the command API's GET /v1/api-key
	client   *http.Client
	interval time.Duration
	logger   *slog.Logger

	mu      sync.Mutex
	pending map[string]string // key id → secret
}

// startKeyUsage starts reporting key uses to cfg.CommandAPIURL until ctx
// ends and returns what records a use; nil when reporting is off.
func startKeyUsage(ctx context.Context, cfg Config, logger *slog.Logger) func(keyID, secret string) {
	if cfg.CommandAPIURL == "" {
		return nil
	}
	u := newKeyUsage(cfg.CommandAPIURL, cfg.KeyUsageReportInterval, logger)
	go u.run(ctx)
	return u.used
}

func newKeyUsage(commandAPI string, interval time.Duration, logger *slog.Logger) *keyUsage {
	return &keyUsage{url: commandAPI + "/v1/api-key", client: &http.Client{Timeout: 5 * time.Second},
		interval: interval, logger: logger, pending: map[string]string{}}
}

// used notes a use of the key (queryhttp.Options.KeyUsed).
func (u *keyUsage) used(keyID, secret string) {
	u.mu.Lock()
	u.pending[keyID] = secret
	u.mu.Unlock()
}

// run reports every interval until ctx ends.
func (u *keyUsage) run(ctx context.Context) {
	t := time.NewTicker(u.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			u.report(ctx)
		}
	}
}

func (u *keyUsage) report(ctx context.Context) {
	u.mu.Lock()
	batch := u.pending
	u.pending = map[string]string{}
	u.mu.Unlock()
	for id, secret := range batch {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.url, nil)
		if err != nil {
			u.logger.Debug("api key use report", "api_key_id", id, "error", err.Error())
			return
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		res, err := u.client.Do(req)
		if err != nil {
			u.logger.Debug("api key use report", "api_key_id", id, "error", err.Error())
			continue
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			u.logger.Debug("api key use report", "api_key_id", id, "status", res.StatusCode)
		}
	}
}
