package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// scalePoint is every figure the scale scenario measured at one size.
type scalePoint struct {
	payments             int
	backfill, catchup    float64 // documents/s
	apiRate, engineRate  float64 // searches/s
	apiP50, apiP99       float64 // ms
	engineP50, engineP99 float64 // ms
	freshP50, freshP99   float64 // ms
	bytesPerPayment      float64
}

// scalePoints gathers the scale scenario's results by table size, in
// ascending order. Results of other scenarios are ignored.
func scalePoints(results []Result) []scalePoint {
	by := map[int]*scalePoint{}
	for _, r := range results {
		if r.Payments == 0 || !strings.HasPrefix(r.Scenario, "scale: ") {
			continue
		}
		p := by[r.Payments]
		if p == nil {
			p = &scalePoint{payments: r.Payments}
			by[r.Payments] = p
		}
		switch r.Scenario {
		case scaleSearch:
			p.apiRate, p.apiP50, p.apiP99 = r.Product.PerSec, r.Product.P50Ms, r.Product.P99Ms
			if r.Baseline != nil {
				p.engineRate, p.engineP50, p.engineP99 = r.Baseline.PerSec, r.Baseline.P50Ms, r.Baseline.P99Ms
			}
		case scaleIndex:
			p.bytesPerPayment = float64(r.IndexBytes) / float64(max(r.Product.Count, 1))
		case scaleBackfill:
			p.backfill = r.Product.PerSec
		case scaleCatchup:
			p.catchup = r.Product.PerSec
		case scaleFreshness:
			p.freshP50, p.freshP99 = r.Product.P50Ms, r.Product.P99Ms
		}
	}
	out := make([]scalePoint, 0, len(by))
	for _, p := range by {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b scalePoint) int { return a.payments - b.payments })
	return out
}

// series is one line of a chart: a name for the legend and a value per
// point; dashed draws it dashed (p50 beside a solid p99).
type series struct {
	name   string
	value  func(scalePoint) float64
	dashed bool
}

// chart is one SVG file of the scale scenario.
type chart struct {
	file, title, unit string
	series            []series
}

// scaleCharts are the charts drawn from the scale figures: throughput and
// latency against the table's size, and the index's bytes per payment.
var scaleCharts = []chart{
	{"scale-projector.svg", "Projector throughput against data size", "documents/s", []series{
		{"backfill", func(p scalePoint) float64 { return p.backfill }, false},
		{"catch-up", func(p scalePoint) float64 { return p.catchup }, false},
	}},
	{"scale-search-throughput.svg", "Search throughput against data size (16 clients)", "searches/s", []series{
		{"query API", func(p scalePoint) float64 { return p.apiRate }, false},
		{"engine alone", func(p scalePoint) float64 { return p.engineRate }, false},
	}},
	{"scale-search-latency.svg", "Search latency against data size (16 clients)", "ms", []series{
		{"query API p99", func(p scalePoint) float64 { return p.apiP99 }, false},
		{"engine alone p99", func(p scalePoint) float64 { return p.engineP99 }, false},
		{"query API p50", func(p scalePoint) float64 { return p.apiP50 }, true},
		{"engine alone p50", func(p scalePoint) float64 { return p.engineP50 }, true},
	}},
	{"scale-freshness.svg", "Freshness (commit to searchable) against data size", "ms", []series{
		{"p99", func(p scalePoint) float64 { return p.freshP99 }, false},
		{"p50", func(p scalePoint) float64 { return p.freshP50 }, true},
	}},
	{"scale-index-bytes.svg", "Index store bytes per payment against data size", "bytes/payment", []series{
		{"payments index", func(p scalePoint) float64 { return p.bytesPerPayment }, false},
	}},
}

// drawScaleCharts writes the scale charts of results into dir and returns
// the files written. It fails if results hold no scale figures.
func drawScaleCharts(dir string, results []Result) ([]string, error) {
	pts := scalePoints(results)
	if len(pts) == 0 {
		return nil, fmt.Errorf("charts: no scale figures (run BENCH_SCENARIOS=scale)")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("charts: %w", err)
	}
	var files []string
	for _, c := range scaleCharts {
		var buf bytes.Buffer
		if err := c.draw(&buf, pts); err != nil {
			return files, fmt.Errorf("charts: %s: %w", c.file, err)
		}
		path := filepath.Join(dir, c.file)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return files, fmt.Errorf("charts: %w", err)
		}
		files = append(files, path)
	}
	return files, nil
}

// draw writes the chart as SVG: one line per series over the points that
// measured it, the x axis in millions of payments, the y axis from 0 so
// that a bend is seen at its true size.
func (c chart) draw(w io.Writer, pts []scalePoint) error {
	p := plot.New()
	p.Title.Text = c.title
	p.X.Label.Text = "payments in the table (millions)"
	p.Y.Label.Text = c.unit
	p.Y.Min = 0
	p.Legend.Top, p.Legend.Left = true, true
	p.Add(plotter.NewGrid())
	for i, s := range c.series {
		xys := make(plotter.XYs, 0, len(pts))
		for _, pt := range pts {
			if v := s.value(pt); v > 0 {
				xys = append(xys, plotter.XY{X: float64(pt.payments) / 1e6, Y: v})
			}
		}
		if len(xys) == 0 {
			continue
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		colour := plotutil.Color(i)
		if s.dashed {
			colour = plotutil.Color(i - len(c.series)/2)
			line.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		line.Color, line.Width = colour, vg.Points(1.5)
		points.Color, points.Shape = colour, draw.CircleGlyph{}
		p.Add(line, points)
		p.Legend.Add(s.name, line, points)
	}
	p.Y.Max *= 1.45 // the legend above the lines, not over them
	wt, err := p.WriterTo(16*vg.Centimeter, 10*vg.Centimeter, "svg")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// redrawCharts draws the scale charts from the figures in BENCH_OUT
// (BENCH_CHARTS_ONLY=1): no stack needed, nothing measured.
func redrawCharts(cfg Config, stdout io.Writer) error {
	buf, err := os.ReadFile(cfg.Out)
	if err != nil {
		return fmt.Errorf("charts: %w", err)
	}
	var rep Report
	if err := json.Unmarshal(buf, &rep); err != nil {
		return fmt.Errorf("charts: decode %s: %w", cfg.Out, err)
	}
	files, err := drawScaleCharts(cfg.ChartsDir, rep.Results)
	for _, f := range files {
		fmt.Fprintf(stdout, "chart: %s\n", f)
	}
	return err
}
