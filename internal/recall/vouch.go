package recall

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/trajectories"
)

// learnedSource is what vouching needs of a learned item's state, decoded
// once per version of the item: a mistake (its signature and fixes), or a
// procedure's supporting trajectories.
type learnedSource struct {
	mistake *mistake.Mistake
	procSrc []string
	// quarantine is why the item's text looks like an instruction to the
	// agent ("" when it does not): an error or observation an attacker
	// wrote can reach a note's text.
	quarantine string
}

func (ti *tenantIndex) source(id string) (learnedSource, error) {
	if v, ok := ti.sources.Load(id); ok {
		return v.(learnedSource), nil
	}
	ti.mu.RLock()
	it, ok := ti.items[id]
	ti.mu.RUnlock()
	if !ok {
		return learnedSource{}, fmt.Errorf("recall: learned item %s no longer active", id)
	}
	// What is judged is what the posters wrote: a note's failing call and
	// error, not the fix learning words itself ("call X before Y" is no
	// injection).
	var ls learnedSource
	judged := it.Content
	switch it.Kind {
	case admem.KindMistake:
		m := new(mistake.Mistake)
		if err := json.Unmarshal(it.State, m); err != nil {
			return learnedSource{}, fmt.Errorf("recall: decode mistake %s: %w", id, err)
		}
		if m.SignatureID != "" { // a note of the first learner has no structured form
			ls.mistake = m
			judged = m.RenderBare()
		}
	case admem.KindProcedure:
		var s trajectories.ProcedureState
		if err := json.Unmarshal(it.State, &s); err != nil {
			return learnedSource{}, fmt.Errorf("recall: decode procedure %s: %w", id, err)
		}
		ls.procSrc = s.Procedure.Sources
	}
	ls.quarantine = judge.ClassifyInstruction(judged).Reason()
	ti.sources.Store(id, ls)
	return ls, nil
}

// vouch weighs the learned candidates by who taught them, as guard does
// (docs/trust.md): a mistake note says what to do instead only when that
// fix's recoveries came from the tenant's quorum of independent sources
// or a key trusted for learning, and its rule's advice only when its
// failures did; otherwise it is served as a warning in words, without the
// fix. A fix that calls another tool is said only where guard would
// suggest it (docs/trust.md, dangerous actions): that tool reads, the
// agent's recent steps called it, or an admin confirmed it as a
// replacement. A learned item is trusted when its evidence counts on its
// own that way, else unverified.
// Items whose state cannot be read (replaced or retired since the
// candidates were found) are left out: they cannot be weighed.
func (s *Service) vouch(ctx context.Context, tenantID string, ti *tenantIndex, cands []Item, steps []admem.Step) ([]Item, error) {
	var ms []*mistake.Mistake
	at := map[int]*mistake.Mistake{}
	procs := map[string][]string{}
	kept := cands[:0]
	for _, c := range cands {
		if _, err := ti.source(c.ID); err != nil {
			s.log.InfoContext(ctx, "learned item left out of recall", "item", c.ID, "err", err)
			continue
		}
		kept = append(kept, c)
	}
	cands = kept
	for i, c := range cands {
		ls, _ := ti.source(c.ID)
		switch {
		case ls.mistake != nil:
			// A copy: the backing is this request's, the cached state
			// is shared.
			m := *ls.mistake
			m.Fixes = append([]mistake.Fix(nil), ls.mistake.Fixes...)
			ms = append(ms, &m)
			at[i] = &m
		case c.Kind == admem.KindProcedure:
			procs[c.ID] = ls.procSrc
		}
	}
	if len(ms) == 0 && len(procs) == 0 {
		for i := range cands {
			if ls, _ := ti.source(cands[i].ID); ls.quarantine != "" {
				cands[i].Trust, cands[i].QuarantineReason = admem.TrustQuarantined, ls.quarantine
			}
		}
		return cands, nil
	}
	lt, err := s.store.LearnedBacking(ctx, tenantID, ms, procs)
	if err != nil {
		return nil, err
	}
	backing, quorum := lt.Procedures, lt.Quorum
	called := func(tool string) bool {
		return slices.ContainsFunc(steps, func(st admem.Step) bool { return st.Action == tool })
	}
	for i := range cands {
		c := &cands[i]
		if ls, _ := ti.source(c.ID); ls.quarantine != "" {
			c.Trust, c.QuarantineReason = admem.TrustQuarantined, ls.quarantine
			continue
		}
		if m, ok := at[i]; ok {
			shown := func(f *mistake.Fix) bool {
				return f.Backing.Vouched(quorum) && (f.Tool == "" || lt.Tools.Refusal(m.Signature.Tool, f.Tool, called) == "")
			}
			c.Content, _ = m.RenderVouched(quorum, shown)
			c.vouchedFixes = make([]bool, len(m.Fixes))
			for k := range m.Fixes {
				c.vouchedFixes[k] = shown(&m.Fixes[k])
			}
			if m.Backing.Vouched(quorum) {
				c.Trust = admem.TrustTrusted
			}
			continue
		}
		if b, ok := backing[c.ID]; ok && b.Vouched(quorum) {
			c.Trust = admem.TrustTrusted
		}
	}
	return cands, nil
}

// withVouchedCorrections is the structured mistake with only the
// corrections the item's text may show (all of them when the item was not
// weighed).
func withVouchedCorrections(st Structured, vouched []bool) Structured {
	if st.Mistake == nil || vouched == nil {
		return st
	}
	m := *st.Mistake
	m.Corrections = make([]Correction, 0, len(st.Mistake.Corrections))
	for k, c := range st.Mistake.Corrections {
		if k < len(vouched) && vouched[k] {
			m.Corrections = append(m.Corrections, c)
		}
	}
	st.Mistake = &m
	return st
}
