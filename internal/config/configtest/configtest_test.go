package configtest_test

import (
	"testing"

	"github.com/wildcat-payments/wildcat/internal/config/configtest"
)

// TestEnvVars: the tags of cmd/<name> and of the structs it embeds from
// other packages (the projector's projection.Config and, inside it,
// ReconcileConfig) are all found.
func TestEnvVars(t *testing.T) {
	for _, c := range []struct {
		bin  string
		want []string
	}{
		{"command-api", []string{"COMMAND_API_ADDR", "DATABASE_URL", "MIGRATE_ON_START", "JWT_PRIVATE_KEY_FILE"}},
		{"projector", []string{"PROJECTOR_ADDR", "SEARCH_API_KEY", "INDEX_PREFIX", "REPLICATION_SLOT", "PROJECTOR_RECONCILE_INTERVAL"}},
	} {
		t.Run(c.bin, func(t *testing.T) {
			vars, ok := configtest.EnvVars(t, c.bin)
			if !ok {
				t.Fatalf("cmd/%s/config.go not found", c.bin)
			}
			for _, v := range c.want {
				if !vars[v] {
					t.Errorf("cmd/%s: %s not among %v", c.bin, v, configtest.SortedKeys(vars))
				}
			}
			if got := configtest.AddrVar(t, c.bin, vars); got != c.want[0] {
				t.Errorf("AddrVar = %s, want %s", got, c.want[0])
			}
		})
	}
	if _, ok := configtest.EnvVars(t, "no-such-binary"); ok {
		t.Error("EnvVars(no-such-binary) ok = true, want false")
	}
}
