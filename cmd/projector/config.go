package main

import (
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wildcat-payments/wildcat/internal/config"
	"github.com/wildcat-payments/wildcat/internal/projection"
)

// Config is everything the projector reads from its environment
// (docs/projector.md has the table). The projector's own tunables are
// projection.Config, whose env tags name their variables; their defaults
// come from projection.DefaultConfig (defaultConfig).
type Config struct {
	projection.Config

	Addr          string        `env:"PROJECTOR_ADDR" envDefault:"127.0.0.1:8083"`
	DatabaseURL   string        `env:"DATABASE_URL" envDefault:"postgres://wildcat:wildcat@127.0.0.1:55432/wildcat?sslmode=disable"`
	SearchURL     string        `env:"SEARCH_URL" envDefault:"http://127.0.0.1:9200"`
	SearchAPIKey  string        `env:"SEARCH_API_KEY"` // "Authorization: ApiKey"; basic auth goes in SEARCH_URL's userinfo
	ShutdownGrace time.Duration `env:"SHUTDOWN_GRACE" envDefault:"15s"`
	LogLevel      slog.Level    `env:"LOG_LEVEL" envDefault:"info"`
	RefreshMode   string        `env:"PROJECTOR_REFRESH" envDefault:"explicit"`
	MemoryLimit   ByteSize      `env:"PROJECTOR_MEMORY_LIMIT" envDefault:"96MiB"`
}

// defaultConfig is the configuration before the environment is read.
func defaultConfig() Config { return Config{Config: projection.DefaultConfig()} }

// ByteSize is a size in bytes written as an integer with an optional unit:
// B, KiB, MiB, GiB (powers of 1024) or kB, MB, GB (powers of 1000).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	factor int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"kB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	factor := int64(1)
	for _, u := range byteUnits {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, factor = strings.TrimSpace(rest), u.factor
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/factor {
		return fmt.Errorf("invalid size %q (want e.g. 96MiB, 0 for none)", text)
	}
	*b = ByteSize(n * factor)
	return nil
}

// Slot names are restricted by PostgreSQL; index prefixes must be valid
// lower-case index name starts.
var (
	slotName    = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
	indexPrefix = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)
	publication = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// Validate reports every out-of-range value.
func (c *Config) Validate() error {
	var ck config.Check
	ck.That(c.Addr != "", "PROJECTOR_ADDR must not be empty")
	ck.That(c.DatabaseURL != "", "DATABASE_URL must not be empty")
	ck.That(c.SearchURL != "", "SEARCH_URL must not be empty")
	ck.That(slotName.MatchString(c.Slot), "REPLICATION_SLOT must be 1-63 characters of a-z, 0-9 and _")
	ck.That(publication.MatchString(c.Publication), "PUBLICATION must be a plain identifier")
	ck.That(c.IndexPrefix == "" || indexPrefix.MatchString(c.IndexPrefix), "INDEX_PREFIX must be lower case (a-z, 0-9, _, ., -)")
	ck.That(c.ShutdownGrace > 0, "SHUTDOWN_GRACE must be positive")
	ck.That(c.BulkDocs >= 1 && c.BulkDocs <= 50000, "PROJECTOR_BULK_DOCS must be between 1 and 50000")
	ck.That(c.FlushInterval > 0, "PROJECTOR_FLUSH_INTERVAL must be positive")
	ck.That(c.BacklogRefresh >= 0 && c.BacklogRefresh <= 10*time.Second, "PROJECTOR_BACKLOG_REFRESH must be 0..10s (0: the default), got %s", c.BacklogRefresh)
	ck.That(c.RefreshMode == "explicit" || c.RefreshMode == "wait_for", "PROJECTOR_REFRESH must be explicit or wait_for")
	ck.That(c.BackfillBatch >= 1 && c.BackfillBatch <= 50000, "PROJECTOR_BACKFILL_BATCH must be between 1 and 50000")
	ck.That(c.BackfillWorkers >= 1 && c.BackfillWorkers <= 16, "PROJECTOR_BACKFILL_WORKERS must be between 1 and 16")
	ck.That(c.ReprojectBatch >= 1 && c.ReprojectBatch <= 50000, "PROJECTOR_REPROJECT_BATCH must be between 1 and 50000")
	ck.That(c.FanoutInline >= 1 && c.FanoutInline <= 1000, "PROJECTOR_FANOUT_INLINE must be between 1 and 1000 batches")
	ck.That(c.FanoutWorkers >= 1 && c.FanoutWorkers <= 16, "PROJECTOR_FANOUT_WORKERS must be between 1 and 16")
	ck.That(c.InflightBulks >= 1 && c.InflightBulks <= 16, "PROJECTOR_INFLIGHT_BULKS must be between 1 and 16")
	ck.That(c.RebuildWorkers >= 1 && c.RebuildWorkers <= 16, "PROJECTOR_REBUILD_WORKERS must be between 1 and 16")
	ck.That(c.ItemAttempts >= 1, "PROJECTOR_ITEM_ATTEMPTS must be at least 1")
	ck.That(c.MinBackoff > 0 && c.MaxBackoff >= c.MinBackoff, "PROJECTOR_MIN_BACKOFF must be positive and not above PROJECTOR_MAX_BACKOFF")
	ck.That(c.RequestTimeout >= 100*time.Millisecond, "PROJECTOR_REQUEST_TIMEOUT must be at least 100ms")
	ck.That(c.StandbyPoll > 0, "PROJECTOR_STANDBY_POLL must be positive")
	ck.That(c.StatusInterval > 0 && c.StatusInterval < 30*time.Second, "PROJECTOR_STATUS_INTERVAL must be positive and below 30s (wal_sender_timeout is 60s by default)")
	ck.That(c.QueueTxs >= 1, "PROJECTOR_QUEUE_TXS must be at least 1")
	ck.That(c.QueueChanges >= 1, "PROJECTOR_QUEUE_CHANGES must be at least 1")
	ck.That(c.CompactAfter >= 0, "PROJECTOR_COMPACT_AFTER must be 0 (no compaction) or positive")
	ck.That(c.CompactSegments >= 1 && c.CompactSegments <= 100, "PROJECTOR_COMPACT_SEGMENTS must be between 1 and 100")
	ck.That(c.ReconcileInterval >= 0, "PROJECTOR_RECONCILE_INTERVAL must be 0 (no reconciliation) or positive")
	ck.That(c.ReconcileBatch >= 1 && c.ReconcileBatch <= 50000, "PROJECTOR_RECONCILE_BATCH must be between 1 and 50000")
	ck.That(c.ReconcileRate >= 0, "PROJECTOR_RECONCILE_RATE must be 0 (unbounded) or positive")
	ck.That(c.MemoryLimit == 0 || c.MemoryLimit >= 16<<20, "PROJECTOR_MEMORY_LIMIT must be 0 (none) or at least 16MiB")
	return ck.Err()
}
