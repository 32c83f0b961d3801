package deploytest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/wildcat-payments/wildcat/internal/config/configtest"
)

// signals are the metrics the alerts and the dashboard must both watch
// (issue 20): projector lag and slot WAL, dead letters of both kinds, the
// job queue, 5xx rate and p99 latency, webhook failures, reconcile
// mismatches and the rename fan-out's age.
var signals = []string{
	"projector_lag_seconds", "projector_slot_retained_wal_bytes", "projector_role",
	"projector_dead_letters_total", "processor_dead_letters_total",
	"processor_queue_depth", "processor_queue_oldest_seconds",
	"http_request_duration_seconds_count", "http_request_duration_seconds_bucket",
	"processor_webhook_attempts_total", "processor_webhook_deliveries_failed_total",
	"projector_reconcile_mismatches_total", "projector_fanout_oldest_seconds",
}

// metricDefinition matches a metric's name where the code defines one: in a
// prometheus *Opts literal (Name: "…") or a NewDesc("…", …).
var metricDefinition = regexp.MustCompile(`(?:\bName:\s*|prometheus\.NewDesc\(\s*)"([a-zA-Z_:][a-zA-Z0-9_:]*)"`)

// exportedMetrics returns every metric name defined in the non-test Go files
// of cmd/ and internal/ (a superset: other Name: fields match too, which
// only makes the check more lenient, never wrong), with the _bucket, _count
// and _sum series of each.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	root := configtest.RepoRoot(t)
	names := map[string]bool{}
	for _, dir := range []string{"cmd", "internal"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, m := range metricDefinition.FindAllStringSubmatch(string(src), -1) {
				for _, suffix := range []string{"", "_bucket", "_count", "_sum"} {
					names[m[1]+suffix] = true
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if !names["projector_lag_seconds"] || !names["processor_queue_depth"] {
		t.Fatal("metric definitions not found in the code; has the way metrics are declared changed?")
	}
	return names
}

var (
	promString    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers  = regexp.MustCompile(`\{[^}]*\}`)
	promRanges    = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping  = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent     = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	promOperators = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true}
)

// metricsIn returns the metric names a PromQL expression selects: what is
// left once strings, label matchers, ranges, grouping clauses, function
// calls and operators are taken out.
func metricsIn(expr string) []string {
	e := promString.ReplaceAllString(expr, " ")
	e = promMatchers.ReplaceAllString(e, " ")
	e = promRanges.ReplaceAllString(e, " ")
	e = promGrouping.ReplaceAllString(e, " ")
	var out []string
	for _, loc := range promIdent.FindAllStringIndex(e, -1) {
		word := e[loc[0]:loc[1]]
		if strings.HasPrefix(strings.TrimLeft(e[loc[1]:], " \t\n"), "(") || promOperators[strings.ToLower(word)] {
			continue // a function, or an operator
		}
		if loc[0] > 0 && (e[loc[0]-1] >= '0' && e[loc[0]-1] <= '9' || e[loc[0]-1] == '.') {
			continue // a number's exponent or unit, e.g. 1e9
		}
		out = append(out, word)
	}
	return out
}

func TestMetricsIn(t *testing.T) {
	got := metricsIn(`sum by (service) (rate(http_request_duration_seconds_count{status=~"5..", route!~"/a|/b"}[5m])) / max(x_total offset 5m) > 1e9 and on (pod) up == bool 1`)
	want := []string{"http_request_duration_seconds_count", "x_total", "up"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("metricsIn = %v, want %v", got, want)
	}
}

// alertExprs returns the alert rules' expressions by alert name.
func alertExprs(t *testing.T) map[string]string {
	t.Helper()
	var rf ruleFile
	if err := yaml.UnmarshalStrict([]byte(mustRead(t, filepath.Join(configtest.RepoRoot(t), "deploy/prometheus/alerts.yml"))), &rf); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	out := map[string]string{}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			out[r.Alert+r.Record] = r.Expr
		}
	}
	return out
}

// grafanaDashboard is the part of Grafana's dashboard JSON model read here.
type grafanaDashboard struct {
	Title  string         `json:"title"`
	UID    string         `json:"uid"`
	Panels []grafanaPanel `json:"panels"`
}

type grafanaPanel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

// dashboardExprs returns the dashboard's queries by panel title.
func dashboardExprs(t *testing.T) map[string]string {
	t.Helper()
	var d grafanaDashboard
	if err := json.Unmarshal([]byte(mustRead(t, filepath.Join(configtest.RepoRoot(t), "deploy/grafana/wildcat.json"))), &d); err != nil {
		t.Fatalf("deploy/grafana/wildcat.json: %v", err)
	}
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard title %q, uid %q: want both", d.Title, d.UID)
	}
	out := map[string]string{}
	for _, p := range d.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		if _, dup := out[p.Title+"#A"]; dup {
			t.Errorf("two panels titled %q", p.Title)
		}
		for i, tg := range p.Targets {
			out[p.Title+"#"+string(rune('A'+i))] = tg.Expr
		}
	}
	return out
}

// TestAlertsAndDashboardUseExportedMetrics: every metric the alert rules and
// the dashboard query is one the code exports, and both cover the signals.
func TestAlertsAndDashboardUseExportedMetrics(t *testing.T) {
	exported := exportedMetrics(t)
	for _, src := range []struct {
		name  string
		exprs map[string]string
	}{{"alerts.yml", alertExprs(t)}, {"wildcat.json", dashboardExprs(t)}} {
		t.Run(src.name, func(t *testing.T) {
			used := map[string]bool{}
			for where, expr := range src.exprs {
				names := metricsIn(expr)
				if len(names) == 0 {
					t.Errorf("%s: %q selects no metric", where, expr)
				}
				for _, m := range names {
					used[m] = true
					if !exported[m] {
						t.Errorf("%s: %s is not a metric the code exports", where, m)
					}
				}
			}
			var missing []string
			for _, s := range signals {
				if !used[s] {
					missing = append(missing, s)
				}
			}
			sort.Strings(missing)
			if len(missing) > 0 {
				t.Errorf("does not watch %v", missing)
			}
		})
	}
}
