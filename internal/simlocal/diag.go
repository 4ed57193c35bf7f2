package simlocal

import (
	"fmt"
	"io"
	"sort"

	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/sim"
)

// Diagnose writes, for the repeated mistakes guard did not flag (failed
// steps whose signature the book held), the mistake's rule and evidence:
// what a reader needs to see why it was missed. At most n lines.
func Diagnose(w io.Writer, m *Memory, res []sim.EpisodeResult, n int) {
	type row struct {
		key   string
		count int
		ex    string
	}
	rows := map[string]*row{}
	for _, r := range res {
		for _, f := range r.Failures {
			if !f.Seen || f.Decision == sim.Warn || f.Decision == sim.Block {
				continue
			}
			sig := signature.Normalize(f.Tool, f.Class, f.Error)
			mk := m.Book.Mistakes[sig.ID()]
			key := fmt.Sprintf("%s pick=%s rule=%s", sig.String(), f.Pick, "none")
			if mk != nil {
				key = fmt.Sprintf("%s | rule %s %v p=%.2f f=%d ok=%d kind=%s fixes=%d pick=%s named=%v", sig.String(), mk.Rule.Level, mk.Rule.Features, mk.Rule.P, mk.Rule.Fails, mk.Rule.OKs, mk.Kind, len(mk.Fixes), f.Pick, mk.Named)
			}
			if rows[key] == nil {
				rows[key] = &row{key: key, ex: f.Action.String() + " [" + f.Rule + "]"}
			}
			rows[key].count++
		}
	}
	var out []*row
	for _, r := range rows {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].count > out[j].count })
	for i, r := range out {
		if i >= n {
			break
		}
		fmt.Fprintf(w, "%4d  %s\n      e.g. %s\n", r.count, r.key, r.ex)
	}
}

// DumpMistake writes a mistake's evidence and its tool's recent shapes.
func DumpMistake(w io.Writer, m *Memory, tool string) {
	for _, mk := range m.Book.ToolMistakes(tool) {
		fmt.Fprintf(w, "%s\n  common=%v\n  failshapes=%v named=%v began=%d fails=%d\n  rule=%+v\n", mk.Signature.String(), mk.Common, mk.FailShapes, mk.Named, mk.Began, mk.Failures, mk.Rule)
	}
	if t := m.Book.Tools[tool]; t != nil {
		fmt.Fprintf(w, "  tool clock=%d ring=%d okshapes=%v\n", t.Clock, len(t.Ring), t.OKShapes())
		for i := max(0, len(t.Ring)-12); i < len(t.Ring); i++ {
			o := t.Ring[i]
			fmt.Fprintf(w, "   at=%d sig=%q %v\n", o.At, o.Sig, t.Profiles[o.P])
		}
	}
}
