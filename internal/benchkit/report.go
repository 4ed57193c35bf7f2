// Package benchkit is what every benchmark command shares: the report format
// (DIR/NAME.json with flat dotted metrics, DIR/NAME.md, DIR/NAME-*.png),
// latency samples with server- and client-side percentiles, progress lines,
// and plots.
package benchkit

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Report is one benchmark run.
type Report struct {
	Name      string
	StartedAt time.Time
	Config    map[string]any
	Metrics   map[string]float64
	Tables    []Table
	Notes     []string
	plots     []string
}

// Table is a titled table for the markdown report.
type Table struct {
	Title  string
	Header []string
	Rows   [][]string
}

// NewReport starts a report.
func NewReport(name string, config map[string]any) *Report {
	return &Report{Name: name, StartedAt: time.Now().UTC(), Config: config, Metrics: map[string]float64{}}
}

// Set records one metric under its dotted name.
func (r *Report) Set(name string, v float64) { r.Metrics[name] = v }

// AddTable appends a table to the markdown report.
func (r *Report) AddTable(t Table) { r.Tables = append(r.Tables, t) }

// Note appends a paragraph to the markdown report.
func (r *Report) Note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// Machine describes where the run happened.
type Machine struct {
	Cores       int    `json:"cores"`
	MemoryBytes uint64 `json:"memory_bytes"`
	GoVersion   string `json:"go_version"`
	OS          string `json:"os"`
	Arch        string `json:"arch"`
	Hostname    string `json:"hostname"`
}

// ThisMachine reads the machine's description.
func ThisMachine() Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	m.Hostname, _ = os.Hostname()
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "MemTotal:") {
				fmt.Sscanf(strings.TrimPrefix(line, "MemTotal:"), "%d", &kb)
			}
		}
		m.MemoryBytes = kb * 1024
	}
	return m
}

// Write saves DIR/NAME.json and DIR/NAME.md (plots are saved as they are made).
func (r *Report) Write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	doc := map[string]any{
		"name":       r.Name,
		"started_at": r.StartedAt.Format(time.RFC3339),
		"duration_s": time.Since(r.StartedAt).Seconds(),
		"machine":    ThisMachine(),
		"config":     r.Config,
		"metrics":    r.Metrics,
		"plots":      r.plots,
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, r.Name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, r.Name+".md"), []byte(r.Markdown()), 0o644)
}

// Finish records the machine's load at the end (other processes skew
// latencies on a small machine, so a report says how busy it was), writes
// the report to dir and prints its Markdown to w.
func (r *Report) Finish(dir string, w io.Writer) error {
	load := LoadAverage()
	r.Set("machine.load_avg_1m_end", load)
	r.Note("Machine load (1-minute load average) at the end: %.1f on %d cores; other processes share the machine.", load, ThisMachine().Cores)
	if err := r.Write(dir); err != nil {
		return err
	}
	_, err := io.WriteString(w, r.Markdown())
	return err
}

// LoadAverage reads the 1-minute load average (0 where /proc has none).
func LoadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	_, _ = fmt.Sscanf(string(b), "%f", &l)
	return l
}

// Markdown renders the report for people.
func (r *Report) Markdown() string {
	var b strings.Builder
	m := ThisMachine()
	fmt.Fprintf(&b, "# %s\n\nStarted %s on %d cores, %.0f GiB, %s.\n\n", r.Name, r.StartedAt.Format(time.RFC3339),
		m.Cores, float64(m.MemoryBytes)/(1<<30), m.GoVersion)
	for _, t := range r.Tables {
		writeTable(&b, t)
	}
	if len(r.Metrics) > 0 {
		keys := make([]string, 0, len(r.Metrics))
		for k := range r.Metrics {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		t := Table{Title: "All metrics", Header: []string{"metric", "value"}}
		for _, k := range keys {
			t.Rows = append(t.Rows, []string{"`" + k + "`", FormatFloat(r.Metrics[k])})
		}
		writeTable(&b, t)
	}
	for _, n := range r.Notes {
		b.WriteString(n + "\n\n")
	}
	for _, p := range r.plots {
		fmt.Fprintf(&b, "![%s](%s)\n\n", p, p)
	}
	return b.String()
}

func writeTable(b *strings.Builder, t Table) {
	if t.Title != "" {
		fmt.Fprintf(b, "## %s\n\n", t.Title)
	}
	b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n")
	b.WriteString("|" + strings.Repeat("---|", len(t.Header)) + "\n")
	for _, row := range t.Rows {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	b.WriteString("\n")
}

// FormatFloat prints a metric compactly.
func FormatFloat(v float64) string {
	switch {
	case v == float64(int64(v)) && v < 1e15 && v > -1e15:
		return fmt.Sprintf("%d", int64(v))
	case v >= 100 || v <= -100:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.4g", v)
	}
}

// Progress prints a progress line to stderr at most every interval.
type Progress struct {
	Label string
	Total int
	last  time.Time
	start time.Time
}

// Step reports that done of Total items are finished.
func (p *Progress) Step(done int) {
	now := time.Now()
	if p.start.IsZero() {
		p.start = now
	}
	if done < p.Total && now.Sub(p.last) < 2*time.Second {
		return
	}
	p.last = now
	el := now.Sub(p.start)
	eta := ""
	if done > 0 && done < p.Total {
		eta = fmt.Sprintf(", ~%s left", (time.Duration(float64(el) * float64(p.Total-done) / float64(done))).Round(time.Second))
	}
	fmt.Fprintf(os.Stderr, "[%s] %d/%d (%.0f%%) in %s%s\n", p.Label, done, p.Total, 100*float64(done)/float64(max(p.Total, 1)), el.Round(time.Second), eta)
}
