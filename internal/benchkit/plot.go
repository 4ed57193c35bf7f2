package benchkit

import (
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// Series is one named line.
type Series struct {
	Name string
	X, Y []float64
}

// LinePlot saves DIR/NAME-SUFFIX.png with the series as lines.
func (r *Report) LinePlot(dir, suffix, title, xlabel, ylabel string, series []Series) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xlabel, ylabel
	if err := addLines(p, series, true); err != nil {
		return err
	}
	p.Legend.Top = true
	return r.save(p, dir, suffix)
}

// addLines adds a grid and one line per series, with a legend entry each;
// dashed tells the lines apart in black and white too.
func addLines(p *plot.Plot, series []Series, dashed bool) error {
	p.Add(plotter.NewGrid())
	for i, s := range series {
		pts := make(plotter.XYs, len(s.X))
		for j := range s.X {
			pts[j].X, pts[j].Y = s.X[j], s.Y[j]
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotutil.Color(i)
		if dashed {
			l.Dashes = plotutil.Dashes(i)
		}
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	return nil
}

// LatencyCDF saves DIR/NAME-SUFFIX.png: the cumulative distribution of each
// named latency sample (milliseconds, log x axis).
func (r *Report) LatencyCDF(dir, suffix, title string, samples map[string][]float64) error {
	names := make([]string, 0, len(samples))
	for n := range samples {
		names = append(names, n)
	}
	sort.Strings(names)
	var series []Series
	for _, n := range names {
		s := append([]float64(nil), samples[n]...)
		if len(s) == 0 {
			continue
		}
		sort.Float64s(s)
		xs, ys := make([]float64, len(s)), make([]float64, len(s))
		for i, v := range s {
			xs[i], ys[i] = max(v, 0.001), float64(i+1)/float64(len(s))
		}
		series = append(series, Series{Name: fmt.Sprintf("%s (n=%d)", n, len(s)), X: xs, Y: ys})
	}
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, "latency (ms, log scale)", "share of requests ≤ x"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{}
	if err := addLines(p, series, false); err != nil {
		return err
	}
	p.Legend.Top, p.Legend.Left = true, true
	return r.save(p, dir, suffix)
}

// BarPlot saves DIR/NAME-SUFFIX.png with one group of bars per series over
// the shared category labels.
func (r *Report) BarPlot(dir, suffix, title, ylabel string, labels []string, series []Series) error {
	p := plot.New()
	p.Title.Text, p.Y.Label.Text = title, ylabel
	// A group of bars takes at most 80 % of its category's width, so
	// that groups do not overlap when there are many categories.
	group := min(60, 0.8*520/float64(max(len(labels), 1)))
	w := vg.Points(group / float64(max(len(series), 1)))
	for i, s := range series {
		b, err := plotter.NewBarChart(plotter.Values(s.Y), w)
		if err != nil {
			return err
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Color = color.Black
		b.Offset = w * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(b)
		p.Legend.Add(s.Name, b)
	}
	p.NominalX(labels...)
	p.Legend.Top = true
	// Headroom above the tallest bar for the legend.
	p.Y.Max *= 1.3
	return r.save(p, dir, suffix)
}

func (r *Report) save(p *plot.Plot, dir, suffix string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := r.Name + "-" + suffix + ".png"
	if err := p.Save(8*vg.Inch, 5*vg.Inch, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("benchkit: save %s: %w", name, err)
	}
	r.plots = append(r.plots, name)
	return nil
}
