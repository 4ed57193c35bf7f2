package mistake

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
)

// Call is a tool call as an agent makes it.
type Call struct {
	Tool string
	Args map[string]any
}

// CallOf returns a step's call.
func CallOf(s admem.Step) Call { return Call{Tool: s.Action, Args: s.Args} }

// Text renders the call canonically with its values, for people.
func (c Call) Text() string {
	return signature.CanonicalAction(c.Tool, c.Args, signature.ActionOptions{})
}

// Situation is what is known before a call: the task and the steps taken
// so far in its trajectory, oldest first.
type Situation struct {
	Task  string
	Steps []admem.Step

	grounds map[string]bool // tokens of the task and of successful observations
	fields  map[string]bool // folded words of successful observations
	folded  []string        // per step: its observation folded (lazily)
	info    []stepInfo      // per step: its identity and instance values (lazily)
}

type stepInfo struct {
	hash  uint32   // callHash of the step's call, exact
	loose uint32   // and loose
	keys  []string // valueKey of its linkable argument values
}

// stepAt returns step i's identity and linkable values, computed once.
func (s *Situation) stepAt(i int) stepInfo {
	if s.info == nil {
		s.info = make([]stepInfo, len(s.Steps))
	}
	if s.info[i].keys == nil {
		st := s.Steps[i]
		ls := Leaves(st.Args)
		tool := clip(st.Action, maxPathLen)
		s.info[i] = stepInfo{hash: callHash(tool, ls, false), loose: callHash(tool, ls, true), keys: linkKeys(ls)}
	}
	return s.info[i]
}

// linkKeys returns the value keys of a call's linkable leaves, sorted.
func linkKeys(ls []Leaf) []string {
	out := []string{}
	for _, l := range ls {
		if linkable(l.Text) {
			out = append(out, valueKey(l.Text))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Bounds on how much of a situation is read.
const (
	maxSituationSteps = 50
	maxObservation    = 16 << 10
	maxStateWords     = 8
)

func (s *Situation) steps() []admem.Step {
	if len(s.Steps) > maxSituationSteps {
		return s.Steps[len(s.Steps)-maxSituationSteps:]
	}
	return s.Steps
}

// grounded reports whether every token of a value appears in the task or
// in an observation of a step that worked: the agent could have read it
// there, rather than made it up or written a default.
func (s *Situation) grounded(text string) bool {
	if s.grounds == nil {
		s.grounds = map[string]bool{}
		for _, t := range tokens(clip(s.Task, maxObservation)) {
			s.grounds[t] = true
		}
		for _, st := range s.steps() {
			if st.Failed() {
				continue
			}
			for _, t := range tokens(clip(st.Observation, maxObservation)) {
				s.grounds[t] = true
			}
		}
	}
	ts := tokens(text)
	if len(ts) == 0 {
		return true
	}
	for _, t := range ts {
		if !s.grounds[t] {
			return false
		}
	}
	return true
}

// shows reports whether a successful observation in the situation has a
// word that is the argument's name (folded: lock_token and lockToken
// alike): a result that would carry the argument's value is in sight.
func (s *Situation) shows(path string) bool {
	if s.fields == nil {
		s.fields = map[string]bool{}
		for _, st := range s.steps() {
			if st.Failed() {
				continue
			}
			words := strings.FieldsFunc(clip(st.Observation, maxObservation), func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-'
			})
			for _, w := range words {
				s.fields[Fold(w)] = true
			}
		}
	}
	name := path[strings.LastIndexByte(path, '.')+1:]
	if i := strings.IndexByte(name, '['); i >= 0 {
		name = name[:i]
	}
	return s.fields[Fold(name)]
}

// observationHas reports whether step i's observation carries the folded
// instance value key.
func (s *Situation) observationHas(i int, key string) bool {
	if s.folded == nil {
		s.folded = make([]string, len(s.Steps))
		for k := range s.folded {
			s.folded[k] = "\x00"
		}
	}
	if s.folded[i] == "\x00" {
		s.folded[i] = Fold(clip(s.Steps[i].Observation, maxObservation))
	}
	return strings.Contains(s.folded[i], key)
}

// Facts are what a call is, in the situation it is made in, in the terms
// mistakes' rules are written in. Features are strings:
//
//	a:PATH          the argument leaf PATH is present
//	s:PATH=SHAPE    its value is written in SHAPE (see Shape)
//	u:PATH          its value is in neither the task nor any result so far
//	m:PATH=K        its magnitude bucket (numbers; see magnitude)
//	l:PATH=K        its length class (long texts)
//	r               the identical call already worked in the situation
//	e:PATH=WORD     its value is a word of vocabulary (an enum value), lower-cased
//	p:TOOL          a step of TOOL about the call's entities worked earlier
//	t:TOOL          a step of TOOL worked earlier (about anything)
//	o:KEY=WORD      such a step's result said KEY is WORD (an entity's state)
//
// and a rule may also require "np:TOOL" or "nt:TOOL" (no such step), or
// "ns:PATH" (PATH written in a shape no successful call used; see Rule).
type Facts struct {
	Tool     string
	Leaves   []Leaf
	Features []string // sorted, distinct
	Values   []uint32 // the leaves' value hashes, sorted
	Hash     uint32   // the call's identity: tool and every value as written
	Loose    uint32   // the same in any writing of the values (ORD-1 and 1 alike)
	// Repeat: the same call (its values in any writing) worked earlier in
	// the situation.
	Repeat bool
	// FailedHere lists the error signature ids with which the identical
	// call failed earlier in the situation, oldest first, since the last
	// successful step of another tool about the call's entities (which may
	// have done what the call lacked).
	FailedHere []string
	// FailedHereText is the error text of the last of those failures.
	FailedHereText string
	// TaskIDs are the ids the task names that the call does not carry
	// (folded): the entities the call may be about without saying so,
	// such as the customer whose settings a value must match. Their value
	// hashes (path "@task") are among Values.
	TaskIDs []string
	// Partial: the situation does not begin at the trajectory's first
	// step (its first step's Index is above 0), so what it lacks (a step,
	// a value's source) may lie before it.
	Partial bool
	// Sourced are the paths of values from neither the task nor a result
	// although a result in the situation shows the argument (by name): the
	// value had a source in sight and is not from it.
	Sourced []string
	// WorkedSince are the other tools whose calls, about none of the
	// call's entities, worked after the last of those failures: a note or
	// a sum changes nothing, but the mistake may say one of them is what
	// the call lacked.
	WorkedSince []string
	// Gaps says, for each "p:TOOL" feature, how many steps back the latest
	// such step is (1: the step just before the call), ordered by tool.
	Gaps []Gap

	set map[string]bool
}

// Gap is how far back (in steps) a call's latest linked step of a tool is.
type Gap struct {
	T string // the tool
	N int32  // steps back
}

// Has reports whether the facts include a feature; "np:TOOL" holds when
// "p:TOOL" does not.
func (f *Facts) Has(feature string) bool {
	if f.set == nil {
		f.set = make(map[string]bool, len(f.Features))
		for _, x := range f.Features {
			f.set[x] = true
		}
	}
	if len(feature) > 3 && feature[0] == 'n' && feature[2] == ':' && feature[1] != 's' {
		return !f.set[feature[1:]]
	}
	return f.set[feature]
}

// Meets reports whether the facts meet a rule's features.
func (f *Facts) Meets(r *Rule) bool { return meets(f.Features, r) }

// HasValues reports whether the facts carry every value hash of vs.
func (f *Facts) HasValues(vs []uint32) bool {
	for _, v := range vs {
		if _, ok := slices.BinarySearch(f.Values, v); !ok {
			return false
		}
	}
	return true
}

// Describe returns the facts of a call made in a situation.
func Describe(sit *Situation, c Call) Facts {
	f := Facts{Tool: clip(c.Tool, maxPathLen), Leaves: Leaves(c.Args), Partial: len(sit.Steps) > 0 && sit.Steps[0].Index > 0}
	f.Hash, f.Loose = callHash(f.Tool, f.Leaves, false), callHash(f.Tool, f.Leaves, true)
	feats := map[string]bool{}
	keys := linkKeys(f.Leaves)
	var folds []string
	for _, l := range f.Leaves {
		if linkable(l.Text) {
			if k := Fold(l.Text); len(k) >= 4 {
				folds = append(folds, k)
			}
		}
		if w, ok := word(l); ok {
			feats["e:"+l.Path+"="+w] = true
		}
		feats["a:"+l.Path] = true
		feats["s:"+l.Path+"="+Shape(l.Text)] = true
		if !trivial(l) && !sit.grounded(l.Text) {
			feats["u:"+l.Path] = true
			if sit.shows(l.Path) {
				f.Sourced = append(f.Sourced, l.Path)
			}
		}
		if k, ok := magnitude(l); ok {
			feats["m:"+l.Path+"="+strconv.Itoa(k)] = true
		}
		limitFacts(feats, l)
		if k, ok := lengthBucket(l); ok {
			feats["l:"+l.Path+"="+strconv.Itoa(k)] = true
		}
		f.Values = append(f.Values, valueHash(l.Path, l.Text))
	}
	relationFacts(feats, f.Leaves)
	for _, id := range taskIDs(sit.Task) {
		if !slices.Contains(folds, id) {
			f.TaskIDs = append(f.TaskIDs, id)
			f.Values = append(f.Values, valueHash(taskPath, id))
		}
	}
	slices.Sort(f.Values)
	f.Values = slices.Compact(f.Values)

	steps := sit.steps()
	off := len(sit.Steps) - len(steps)
	latest := map[string]int{} // linked prior tool -> its latest step
	for i, st := range steps {
		inf := sit.stepAt(off + i)
		same := st.Action == c.Tool && inf.hash == f.Hash
		if st.Failed() {
			if same {
				sig := signature.FromStep(st)
				f.FailedHere = append(f.FailedHere, sig.ID())
				f.FailedHereText, f.WorkedSince = st.Error, nil
			}
			continue
		}
		if st.Action == c.Tool && inf.loose == f.Loose {
			f.Repeat = true
			continue
		}
		if st.Action == c.Tool {
			continue
		}
		// Something else about the call's entities worked after the
		// identical call failed: what the failure depended on may have
		// changed since, so the failure alone no longer says the call fails
		// (the mistake's rule may still).
		feats["t:"+clip(st.Action, maxPathLen)] = true
		if linked(sit, off+i, keys, folds) {
			latest[clip(st.Action, maxPathLen)] = off + i
			f.FailedHere, f.FailedHereText, f.WorkedSince = nil, "", nil
		} else if len(f.FailedHere) > 0 && !slices.Contains(f.WorkedSince, st.Action) {
			f.WorkedSince = append(f.WorkedSince, clip(st.Action, maxPathLen))
		}
	}
	if f.Repeat {
		feats["r"] = true
	}
	for tool, i := range latest {
		feats["p:"+tool] = true
		for _, w := range stateWords(sit.Steps[i].Observation) {
			feats["o:"+w] = true
		}
		f.Gaps = append(f.Gaps, Gap{T: tool, N: int32(len(sit.Steps) - i)})
	}
	slices.SortFunc(f.Gaps, func(x, y Gap) int { return strings.Compare(x.T, y.T) })
	f.Features = make([]string, 0, len(feats))
	for k := range feats {
		f.Features = append(f.Features, k)
	}
	slices.Sort(f.Features)
	return f
}

// linked reports whether an earlier successful step was about the call's
// entities: every linkable value it took is one the call takes too (it is
// about some of the same things and nothing else), or, taking none, it
// returned one of the call's values (folds).
func linked(sit *Situation, i int, keys, folds []string) bool {
	sk := sit.stepAt(i).keys
	if len(sk) > 0 {
		for _, k := range sk {
			if _, ok := slices.BinarySearch(keys, k); !ok {
				return false
			}
		}
		return true
	}
	for _, k := range folds {
		if sit.observationHas(i, k) {
			return true
		}
	}
	return false
}

// stateWords reads the state an observation reports about its entity:
// "key=word" for fields whose value is a word of vocabulary (status:
// locked, tier: gold), at most maxStateWords. A JSON object's top-level
// fields are read as such; other text by "key: word" pairs.
func stateWords(obs string) []string {
	obs = clip(obs, maxObservation)
	var out []string
	add := func(k, v string) {
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.ToLower(strings.TrimSpace(v))
		if len(out) >= maxStateWords || k == "" || !vocabulary(v) || len(k) > 32 {
			return
		}
		w := k + "=" + v
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	var m map[string]any
	if strings.HasPrefix(strings.TrimSpace(obs), "{") && json.Unmarshal([]byte(obs), &m) == nil {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if s, ok := m[k].(string); ok {
				add(k, s)
			}
		}
		return out
	}
	for _, p := range statePair.FindAllStringSubmatch(obs, 4*maxStateWords) {
		add(p[1], p[2])
	}
	return out
}

var statePair = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_]{0,30})\s*[:=]\s*["']?([A-Za-z][A-Za-z_\-]{0,22}[A-Za-z])(?:[\s,;)}\]"'.]|$)`)

// vocabulary reports whether a value reads as a word of a tool's
// vocabulary (a state, a tier, a kind) rather than an instance or prose.
func vocabulary(v string) bool {
	if len(v) < 2 || len(v) > 24 || instance(v) {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// taskPath is the path task ids' value hashes are kept under.
const taskPath = "@task"

// maxTaskIDs bounds the task ids a call's facts carry.
const maxTaskIDs = 16

// taskIDs returns the ids the task text names, folded, at most maxTaskIDs.
func taskIDs(task string) []string {
	var out []string
	for _, w := range strings.FieldsFunc(clip(task, maxObservation), func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;()[]{}<>\"'`=", r)
	}) {
		w = strings.TrimRight(w, ".:!?")
		if len(w) < 4 || !linkable(w) {
			continue
		}
		if k := Fold(w); len(k) >= 4 && !slices.Contains(out, k) {
			out = append(out, k)
			if len(out) >= maxTaskIDs {
				break
			}
		}
	}
	return out
}
