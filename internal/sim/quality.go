package sim

import (
	"math"
	"strconv"
	"strings"
)

// Judged is one candidate the guard judged, with the oracle's answer. The
// agent keeps one per candidate per guard call (rethought candidates
// included), which is what the guard quality metrics read.
type Judged struct {
	// Step is the index the candidate would have had in the trajectory.
	Step     int
	Tool     string
	Decision Decision
	Kind     string // the verdict's Kind
	// Fails: the oracle (Env.Probe) says the call would fail
	// deterministically at that point; Error is that failure's message.
	// A call whose only problem is a transient fault would have worked.
	Fails bool
	Error string
	// Retry: the candidate is the previous step's call, which had just
	// failed with a transient fault.
	Retry bool
	// Suggested: the verdict carried a suggestion; Foreign: that
	// suggestion carried a value of another task or user of the world that
	// the request (task text, context steps sent, candidates) did not hold.
	Suggested bool
	Foreign   bool
	// Risk, NoteRisk and AdapterRisk are the verdict's (for measuring how
	// well each separates the calls that would fail).
	Risk, NoteRisk float64
	AdapterRisk    *float64
}

// Flagged reports whether the guard warned about or blocked the candidate.
func (j Judged) Flagged() bool { return j.Decision == Warn || j.Decision == Block }

// judge records the guard's verdict on cands[i] with the oracle's answer;
// lo is where the context steps sent with the candidates start.
func (r *run) judge(cands []Action, i int, v Verdict, lo int) {
	c := cands[i]
	j := Judged{Step: len(r.steps), Tool: c.Tool, Decision: v.Decision, Kind: v.Kind, Suggested: v.Suggestion != nil,
		Risk: v.Risk, NoteRisk: v.NoteRisk, AdapterRisk: v.AdapterRisk}
	if err := r.env.Probe(c); err != nil {
		j.Fails, j.Error = true, err.Message
	}
	if n := len(r.steps); n > 0 && r.transient[n-1] && c.Equal(r.last) {
		j.Retry = true
	}
	if v.Suggestion != nil && r.a.lits != nil {
		if r.reqText == "" {
			r.reqText = r.request(cands, lo)
		}
		j.Foreign = r.a.lits.Carries(*v.Suggestion, c, r.task, r.reqText)
	}
	r.foreignAt = append(r.foreignAt, j.Foreign)
	r.judged = append(r.judged, j)
}

// request is the text of a guard request: the task, the context steps and
// the candidates, which is what a suggestion may legitimately quote.
func (r *run) request(cands []Action, lo int) string {
	var b strings.Builder
	b.WriteString(r.task.Text)
	for _, s := range r.steps[lo:] {
		b.WriteByte('\n')
		b.WriteString(ActionFromStep(s.Action, s.Args).String())
		b.WriteByte(' ')
		b.WriteString(s.Observation)
		b.WriteString(s.Error)
	}
	for _, c := range cands {
		b.WriteByte('\n')
		b.WriteString(c.String())
	}
	return b.String()
}

// Literals indexes the instance values (ids, e-mails, amounts, dates,
// tokens, notes: the kinds in instanceKinds) of the world's users and of
// the tasks a run has played, in every format of their kind, so that a
// suggestion that carries another task's value can be told apart.
type Literals struct {
	w      *World
	byText map[string][]litOwner
	added  map[string]bool
}

type litOwner struct{ owner, kind, natural string }

// NewLiterals indexes the world's users.
func NewLiterals(w *World) *Literals {
	l := &Literals{w: w, byText: map[string][]litOwner{}, added: map[string]bool{}}
	for _, u := range w.users {
		l.add("user:"+u.ID, KindID, u.ID)
	}
	return l
}

// Add indexes the values of a task's plan.
func (l *Literals) Add(t *Task) {
	if l.added[t.ID] {
		return
	}
	l.added[t.ID] = true
	for _, st := range t.Plan {
		spec := l.w.tools[st.Action.Tool]
		for arg, nat := range st.Natural {
			if as, ok := spec.Arg(arg); ok && instanceKinds[as.Kind] {
				l.add(t.ID, as.Kind, nat)
			}
		}
	}
}

func (l *Literals) add(owner, kind, natural string) {
	k := kinds[kind]
	for i := range k.Formats {
		text := k.Render(i, natural)
		dup := false
		for _, o := range l.byText[text] {
			if o.owner == owner {
				dup = true
				break
			}
		}
		if !dup {
			l.byText[text] = append(l.byText[text], litOwner{owner, kind, natural})
		}
	}
}

// Carries reports whether action s, a suggestion for task t in place of
// candidate c, carries a value that belongs to another task or user of the
// world (in any format of its kind) and that the request text does not
// hold. Values of t itself and of its user are never foreign, nor are
// placeholders and wildcards, nor a number that is a part of the
// candidate's own number for the same argument (a split into n equal
// parts, to the last digit written): it was computed from the request,
// and its coinciding with another task's number says nothing.
func (l *Literals) Carries(s Action, c Action, t *Task, request string) bool {
	for k, v := range s.Args {
		if _, ph := IsPlaceholder(v); ph || v == "" || v == "*" {
			continue
		}
		if partOf(v, c.Args[k]) {
			continue
		}
		owners := l.byText[v]
		mine := false
		for _, o := range owners {
			if o.owner == t.ID || o.owner == "user:"+t.User.ID {
				mine = true
				break
			}
		}
		if mine {
			continue
		}
		for _, o := range owners {
			if !l.inText(o, request) {
				return true
			}
		}
	}
	return false
}

// partOf reports whether part, a number, is whole (a number) divided into
// n ≥ 2 equal parts, to the precision part is written with.
func partOf(part, whole string) bool {
	y, err1 := strconv.ParseFloat(part, 64)
	x, err2 := strconv.ParseFloat(whole, 64)
	if err1 != nil || err2 != nil || y <= 0 || x <= y {
		return false
	}
	unit := 1.0
	if i := strings.IndexByte(part, '.'); i >= 0 {
		unit = math.Pow(10, -float64(len(part)-i-1))
	}
	n := math.Round(x / y)
	return n >= 2 && math.Abs(x-n*y) < n*unit
}

// inText reports whether any writing of o's value occurs in text.
func (l *Literals) inText(o litOwner, text string) bool {
	k := kinds[o.kind]
	for i := range k.Formats {
		if strings.Contains(text, k.Render(i, o.natural)) {
			return true
		}
	}
	return false
}

// Quality is how well a memory's guard and suggestions served an arm, over
// its episodes. Every share keeps its counts.
type Quality struct {
	// GuardFPR: among judged candidates the oracle says would have worked
	// (a call whose only problem is a transient fault would have worked),
	// the share the guard warned about or blocked.
	GuardFPR Rate
	// GuardTPRRepeat: among judged candidates that would fail
	// deterministically with an error signature the arm had already seen
	// fail in an earlier recorded step (a failure of an earlier recorded
	// episode, or an earlier step of the same episode), the share flagged.
	GuardTPRRepeat Rate
	// TransientWarned: among judged candidates that retry the previous
	// call, which had just failed with a transient fault, the share
	// flagged.
	TransientWarned Rate
	// BadSuggestions: among the suggestions the agent followed, the share
	// that then failed deterministically (a transient fault is not the
	// suggestion's fault), or called a tool with side effects for no step
	// the task needed, or carried a foreign value (see ForeignLiterals).
	BadSuggestions Rate
	// ForeignLiterals counts the suggestions, followed or not, that
	// carried a value of another task or user of the world which the
	// request did not hold (Literals.Carries, any format of the value's
	// kind); Suggestions counts all suggestions.
	ForeignLiterals int
	Suggestions     int
}

// ComputeQuality computes the guard quality metrics from episodes in play
// order; sig nil means DefaultSignature.
func ComputeQuality(eps []EpisodeResult, sig SignatureFunc) Quality {
	if sig == nil {
		sig = DefaultSignature
	}
	var q Quality
	var fprN, fprHit, tprN, tprHit, twN, twHit, badN, badHit int
	seen := map[string]bool{}
	for _, e := range eps {
		local := map[string]bool{}
		fi := 0
		for _, j := range e.Judged {
			for ; fi < len(e.Failures) && e.Failures[fi].Step < j.Step; fi++ {
				if f := e.Failures[fi]; !f.Transient {
					local[sig(f.Tool, f.Error)] = true
				}
			}
			switch {
			case !j.Fails:
				fprN++
				if j.Flagged() {
					fprHit++
				}
			default:
				if s := sig(j.Tool, j.Error); seen[s] || local[s] {
					tprN++
					if j.Flagged() {
						tprHit++
					}
				}
			}
			if j.Retry {
				twN++
				if j.Flagged() {
					twHit++
				}
			}
			if j.Suggested {
				q.Suggestions++
			}
			if j.Foreign {
				q.ForeignLiterals++
			}
		}
		for _, t := range e.Taken {
			if t.Pick != PickSuggested {
				continue
			}
			badN++
			if (t.Failed && !t.Transient) || t.Needless || t.Foreign {
				badHit++
			}
		}
		if e.Recorded {
			for _, f := range e.Failures {
				if !f.Transient {
					seen[sig(f.Tool, f.Error)] = true
				}
			}
		}
	}
	q.GuardFPR = rate(fprHit, fprN)
	q.GuardTPRRepeat = rate(tprHit, tprN)
	q.TransientWarned = rate(twHit, twN)
	q.BadSuggestions = rate(badHit, badN)
	return q
}
