package mistake

// Backing is who vouches for a piece of learnt evidence (a mistake's
// failures, a fix's recoveries), as the store counts it from provenance:
// Sources, the independent sources that reported it (distinct keys and
// distinct agents, linked transitively: judge.IndependentSources); and
// Trusted, whether a key an admin trusts for learning reported some of
// it. It is read per request and never stored with the state: trust and
// purges change it without a new version.
type Backing struct {
	Sources int
	Trusted bool
}

// Vouched reports whether the evidence counts on its own: a trusted key
// reported it, or at least quorum independent sources did.
func (b Backing) Vouched(quorum int) bool { return b.Trusted || b.Sources >= max(quorum, 1) }

// WorkedIdentical reports whether the identical call (its Facts.Hash)
// worked among the tool's recent calls: the tenant's own successful
// history of the very call.
func (t *Tool) WorkedIdentical(h uint32) bool {
	for i := len(t.Ring) - 1; i >= 0; i-- {
		if t.Ring[i].H == h && t.Ring[i].Sig == "" {
			return true
		}
	}
	return false
}

// Without returns the assessment with the matches drop reports left out
// and its risk and kind settled again, and the matches it left out.
func (a Assessment) Without(drop func(*Mistake) bool) (Assessment, []Match) {
	var kept, out []Match
	for _, m := range a.Matches {
		if drop(m.Mistake) {
			out = append(out, m)
		} else {
			kept = append(kept, m)
		}
	}
	if len(out) == 0 {
		return a, nil
	}
	a.Matches = kept
	a.Risk, a.Kind = 0, ""
	a.settle()
	return a, out
}
