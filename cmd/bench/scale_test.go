package main

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wildcat-payments/wildcat/internal/config"
)

// scaleFigures is a fixed report of two scale points, as the scale
// scenario writes them, plus a result of another scenario to ignore.
func scaleFigures() []Result {
	var out []Result
	for i, n := range []int{1_000_000, 2_000_000} {
		f := float64(i + 1)
		out = append(out,
			Result{Scenario: scaleSearch, Payments: n, Product: Stats{PerSec: 800 / f, P50Ms: 19 * f, P99Ms: 31 * f},
				Baseline: &Stats{PerSec: 960 / f, P50Ms: 16 * f, P99Ms: 26 * f}},
			Result{Scenario: scaleIndex, Payments: n, Product: Stats{Count: n}, IndexBytes: int64(n) * 300},
			Result{Scenario: scaleBackfill, Payments: n, Product: Stats{PerSec: 30000 / f}},
			Result{Scenario: scaleCatchup, Payments: n, Product: Stats{PerSec: 12000 / f}},
			Result{Scenario: scaleFreshness, Payments: n, Product: Stats{P50Ms: 34 * f, P99Ms: 115 * f}},
		)
	}
	return append(out, Result{Scenario: "search, 16 clients", Product: Stats{PerSec: 1}})
}

func TestScalePointsGroupsBySize(t *testing.T) {
	pts := scalePoints(append(scaleFigures()[5:], scaleFigures()[:5]...)) // larger size first
	if len(pts) != 2 {
		t.Fatalf("got %d points, want 2", len(pts))
	}
	want := scalePoint{payments: 1_000_000, backfill: 30000, catchup: 12000, apiRate: 800, engineRate: 960,
		apiP50: 19, apiP99: 31, engineP50: 16, engineP99: 26, freshP50: 34, freshP99: 115, bytesPerPayment: 300}
	if !reflect.DeepEqual(pts[0], want) {
		t.Errorf("got first point %+v, want %+v", pts[0], want)
	}
	if pts[1].payments != 2_000_000 || pts[1].backfill != 15000 {
		t.Errorf("got second point %+v, want 2,000,000 payments at 15,000 documents/s", pts[1])
	}
}

func TestDrawScaleChartsWritesSVGWithEverySeries(t *testing.T) {
	dir := t.TempDir()
	files, err := drawScaleCharts(dir, scaleFigures())
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(scaleCharts) {
		t.Fatalf("got %d files, want %d", len(files), len(scaleCharts))
	}
	for i, c := range scaleCharts {
		t.Run(c.file, func(t *testing.T) {
			if files[i] != filepath.Join(dir, c.file) {
				t.Errorf("got file %s, want %s", files[i], filepath.Join(dir, c.file))
			}
			buf, err := os.ReadFile(files[i])
			if err != nil {
				t.Fatal(err)
			}
			texts := svgTexts(t, buf)
			for _, want := range append([]string{c.title, c.unit}, seriesNames(c)...) {
				if !strings.Contains(texts, want) {
					t.Errorf("the SVG has no text %q; its texts: %s", want, texts)
				}
			}
			// Two points per series: a path for each line.
			if n := strings.Count(string(buf), "<path"); n < len(c.series) {
				t.Errorf("got %d paths, want at least %d (one line per series)", n, len(c.series))
			}
		})
	}
}

func TestDrawScaleChartsWithoutScaleFiguresFails(t *testing.T) {
	_, err := drawScaleCharts(t.TempDir(), []Result{{Scenario: "search, 16 clients"}})
	if err == nil {
		t.Fatal("got no error for a report without scale figures, want one")
	}
}

func TestRedrawChartsFromReport(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "bench.json")
	buf, _ := json.Marshal(Report{Results: scaleFigures()})
	if err := os.WriteFile(out, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cfg := Config{Out: out, ChartsDir: filepath.Join(dir, "charts")}
	if err := redrawCharts(cfg, &stdout); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(stdout.String(), "chart: "); got != len(scaleCharts) {
		t.Errorf("got %d charts reported, want %d: %s", got, len(scaleCharts), stdout.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "charts", "scale-projector.svg")); err != nil {
		t.Errorf("got %v, want the projector chart written", err)
	}
}

func TestConfigScaleSizes(t *testing.T) {
	for _, tc := range []struct {
		name, env string
		want      []int
		wantErr   string
	}{
		{"Default", "", []int{1_000_000, 5_000_000, 10_000_000}, ""},
		{"OK", "1000000,2000000", []int{1_000_000, 2_000_000}, ""},
		{"ErrNotAscending", "2000000,1000000", nil, "must ascend"},
		{"ErrTooSmall", "10", nil, "at least 1000"},
		{"ErrNotANumber", "1M", nil, "BENCH_SCALE_SIZES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var cfg Config
			err := config.Load(&cfg, func(k string) string {
				if k == "BENCH_SCALE_SIZES" {
					return tc.env
				}
				return ""
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.ScaleSizes, tc.want) {
				t.Errorf("got sizes %v, want %v", cfg.ScaleSizes, tc.want)
			}
		})
	}
}

// svgTexts parses buf as XML (failing the test if it is not) and returns
// the character data of its <text> elements, joined by "|".
func svgTexts(t *testing.T, buf []byte) string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(buf)))
	var texts []string
	inText, root := false, ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not valid XML: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = el.Name.Local
			}
			inText = el.Name.Local == "text"
		case xml.CharData:
			if inText {
				texts = append(texts, string(el))
			}
		case xml.EndElement:
			inText = false
		}
	}
	if root != "svg" {
		t.Fatalf("got root element %q, want svg", root)
	}
	return strings.Join(texts, "|")
}

func seriesNames(c chart) []string {
	names := make([]string, len(c.series))
	for i, s := range c.series {
		names[i] = s.name
	}
	return names
}
