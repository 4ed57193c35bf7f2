// Package failures owns failure clusters (failure signatures as resources)
// and the labelled steps the procedural adapter learns from. Each failed
// step joins the live cluster with its error signature whose context
// centroid is close enough, or starts a new one; clusters can be merged,
// split when their contexts drift apart, labelled and suppressed. The same
// pass records every labelled step (failed steps, and the steps of
// successful trajectories) as an adapter training example.
//
// Recording is idempotent: a step already recorded (same trajectory and
// index) changes nothing, so the event consumer can call ObserveTrajectory
// as often as an event is delivered.
package failures

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/signature"
	"github.com/admem/admem/internal/vecmath"
)

// Embedder turns texts into unit vectors of one space (internal/embed
// providers satisfy it).
type Embedder interface {
	ID() string
	Dim() int
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Store is what the service needs from storage.
type Store interface {
	RecordLabelledSteps(ctx context.Context, tenantID string, steps []admem.LabelledStep,
		assign func(s admem.LabelledStep, same []admem.FailureCluster) admem.FailureCluster) (int, error)
	GetFailureCluster(ctx context.Context, tenantID, id string) (admem.FailureCluster, error)
	ListFailureClusters(ctx context.Context, tenantID string, f admem.FailureFilter, page admem.Page) ([]admem.FailureCluster, string, error)
	UpdateFailureCluster(ctx context.Context, tenantID, actorKeyID, id string, u admem.FailureClusterUpdate) (admem.FailureCluster, error)
	MergeFailureClusters(ctx context.Context, tenantID, actorKeyID, intoID, fromID string,
		merge func(into, from admem.FailureCluster) admem.FailureCluster) (admem.FailureCluster, error)
	FailureClusterMembers(ctx context.Context, tenantID, id string, limit int) ([]admem.FailureMember, error)
	SplitFailureCluster(ctx context.Context, tenantID, actorKeyID string, rest, part admem.FailureCluster, members []int64) (admem.FailureCluster, error)
}

// Options tune clustering. The zero value means the defaults.
type Options struct {
	// MinContextSim is the cosine between a failure's context and a
	// cluster's centroid at or above which the failure joins the cluster.
	MinContextSim float64
	// MaxExemplars bounds the trajectory ids a cluster keeps.
	MaxExemplars int
	// SplitCoherence is the mean member-to-centroid cosine below which a
	// cluster counts as incoherent.
	SplitCoherence float64
	// Now is the clock (tests fix it).
	Now admem.Clock
}

// Defaults. 0.5 keeps one cluster per signature across paraphrased tasks of
// one family with the offline GloVe embedder, while tasks of unrelated
// families (cosine around 0.2–0.4) get clusters of their own.
const (
	DefaultMinContextSim  = 0.5
	DefaultMaxExemplars   = 20
	DefaultSplitCoherence = 0.55
	// RecentSteps is how many preceding steps the context text includes.
	RecentSteps = 3
	// maxMembers bounds the members a split looks at.
	maxMembers = 2000
)

func (o Options) withDefaults() Options {
	if o.MinContextSim == 0 {
		o.MinContextSim = DefaultMinContextSim
	}
	if o.MaxExemplars == 0 {
		o.MaxExemplars = DefaultMaxExemplars
	}
	if o.SplitCoherence == 0 {
		o.SplitCoherence = DefaultSplitCoherence
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Service records labelled steps and manages failure clusters.
type Service struct {
	store Store
	emb   Embedder
	opt   Options
}

// New returns the service. emb may be nil: then nothing can be recorded
// (ObserveTrajectory fails), but clusters can still be read and managed.
func New(store Store, emb Embedder, opt Options) *Service {
	return &Service{store: store, emb: emb, opt: opt.withDefaults()}
}

// Embedder returns the embedder the service records with (nil if none).
func (s *Service) Embedder() Embedder { return s.emb }

// ContextText is the text whose embedding is a step's context: the task
// and up to RecentSteps preceding steps with how they went. Guard builds
// the same text from its request, so training and scoring see one space.
func ContextText(task string, recent []admem.Step) string {
	return contextText(task, recent, nil)
}

// contextText is ContextText with each step's text kept in memo (indexed
// like recent) when memo is set: a trajectory's labelled steps share their
// preceding steps, and masking them is most of what learning spends.
func contextText(task string, recent []admem.Step, memo []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(task))
	for i := max(0, len(recent)-RecentSteps); i < len(recent); i++ {
		b.WriteString(". ")
		if memo == nil {
			b.WriteString(stepText(recent[i]))
			continue
		}
		if memo[i] == "" {
			memo[i] = stepText(recent[i])
		}
		b.WriteString(memo[i])
	}
	return b.String()
}

// stepText is a step as its context text shows it.
func stepText(st admem.Step) string {
	s := ActionText(st.Action, st.Args)
	if st.Failed() {
		s += " failed: " + signature.FromStep(st).Template
	}
	return s
}

// nameSeparators splits tool names into words.
var nameSeparators = strings.NewReplacer("_", " ", "-", " ", ".", " ")

// ActionText is the text whose embedding is an action: the canonical call
// with instance literals masked and the tool name split into words.
func ActionText(tool string, args map[string]any) string {
	p := signature.CanonicalAction(tool, args, signature.ActionOptions{Literals: signature.MaskLiterals})
	return nameSeparators.Replace(p)
}

// ActionPattern is the canonical action with instance literals masked: the
// key clusters count affected actions under and guard matches on.
func ActionPattern(tool string, args map[string]any) string {
	return signature.CanonicalAction(tool, args, signature.ActionOptions{Literals: signature.MaskLiterals})
}

// Label says which steps of a trajectory are labelled examples: every
// failed step, and every step of a successful trajectory. Steps of failed,
// partial or unfinished trajectories that did not error are not evidence
// either way.
func Label(t admem.Trajectory) []int {
	var idx []int
	for i, st := range t.Steps {
		if st.Failed() || (t.Outcome == admem.OutcomeSuccess && !t.Open) {
			idx = append(idx, i)
		}
	}
	return idx
}

// ObserveTrajectory records the trajectory's labelled steps (see Label) as
// adapter examples and assigns its failed steps to clusters. It is what the
// event consumer calls for trajectory.recorded and step.failed events;
// calling it again for the same steps changes nothing. It returns how many
// steps were new.
func (s *Service) ObserveTrajectory(ctx context.Context, tenantID string, t admem.Trajectory) (int, error) {
	return s.ObserveTrajectories(ctx, tenantID, []admem.Trajectory{t})
}

// ObserveTrajectories is ObserveTrajectory for several trajectories of a
// tenant at once: their texts are embedded together and their steps
// recorded in one transaction, as the worker does for a batch of events.
func (s *Service) ObserveTrajectories(ctx context.Context, tenantID string, ts []admem.Trajectory) (int, error) {
	type labelled struct {
		t   admem.Trajectory
		idx []int
	}
	var work []labelled
	var texts []string
	for _, t := range ts {
		idx := Label(t)
		if len(idx) == 0 {
			continue
		}
		if t.ID == "" {
			return 0, admem.Invalid("id", "the trajectory has no id")
		}
		memo := make([]string, len(t.Steps))
		for _, i := range idx {
			st := t.Steps[i]
			texts = append(texts, contextText(t.Task, t.Steps[:i], memo), ActionText(st.Action, st.Args))
		}
		work = append(work, labelled{t, idx})
	}
	if len(work) == 0 {
		return 0, nil
	}
	if s.emb == nil {
		return 0, fmt.Errorf("failures: no embedder configured")
	}
	vecs, err := s.emb.Embed(ctx, texts)
	if err != nil {
		return 0, fmt.Errorf("failures: embed: %w", err)
	}
	if len(vecs) != len(texts) {
		return 0, fmt.Errorf("failures: embedder returned %d vectors for %d texts", len(vecs), len(texts))
	}
	now := s.opt.Now().UTC()
	steps := make([]admem.LabelledStep, 0, len(texts)/2)
	for _, w := range work {
		t := w.t
		for _, i := range w.idx {
			k := len(steps)
			st := t.Steps[i]
			ls := admem.LabelledStep{
				TrajectoryID: t.ID, StepIndex: i, Task: t.Task, EmbedderID: s.emb.ID(),
				Context: vecs[2*k], Action: vecs[2*k+1],
				ActionText:    signature.CanonicalAction(st.Action, st.Args, signature.ActionOptions{}),
				ActionPattern: ActionPattern(st.Action, st.Args),
				Failed:        st.Failed(), SeenAt: now,
			}
			if st.StartedAt != nil {
				ls.SeenAt = st.StartedAt.UTC()
			}
			if ls.Failed {
				sig := signature.FromStep(st)
				ls.SignatureID, ls.Signature = sig.ID(), sig.String()
				ls.Tool, ls.ErrorClass, ls.Template = sig.Tool, sig.Class, sig.Template
				// The note is the mistake model's, read with the cluster.
				ls.Note = admem.FailureNote{Doing: ls.ActionPattern}
			}
			steps = append(steps, ls)
		}
	}
	var grown []string
	added, err := s.store.RecordLabelledSteps(ctx, tenantID, steps, func(st admem.LabelledStep, same []admem.FailureCluster) admem.FailureCluster {
		c := s.assign(st, same)
		if c.ID != "" && c.Count >= SplitCheckEvery && c.Count%SplitCheckEvery == 0 && !slices.Contains(grown, c.ID) {
			grown = append(grown, c.ID)
		}
		return c
	})
	if err != nil {
		if len(ts) == 1 {
			return 0, fmt.Errorf("failures: observe trajectory %s: %w", ts[0].ID, err)
		}
		return 0, fmt.Errorf("failures: observe %d trajectories: %w", len(ts), err)
	}
	// A cluster that keeps growing may have drifted across contexts:
	// every SplitCheckEvery failures, split it if it became incoherent.
	for _, id := range grown {
		if _, err := s.split(ctx, tenantID, "", id, false); err != nil && !errors.Is(err, admem.ErrConflict) {
			return added, fmt.Errorf("failures: coherence check of %s: %w", id, err)
		}
	}
	return added, nil
}

// SplitCheckEvery is how many failures a cluster gains between coherence
// checks.
const SplitCheckEvery = 10

// assign puts a newly seen failed step into the closest live cluster of its
// signature, or a new one. It is pure: the store calls it under a lock.
func (s *Service) assign(st admem.LabelledStep, same []admem.FailureCluster) admem.FailureCluster {
	best, bestSim := -1, -2.0
	for i, c := range same {
		if c.EmbedderID != st.EmbedderID && c.EmbedderID != "" {
			continue
		}
		sim := 1.0 // no context to compare: the signature alone decides
		if len(c.Centroid) == len(st.Context) && !isZero(c.Centroid) && !isZero(st.Context) {
			sim = vecmath.Cosine(c.Centroid, st.Context)
		}
		if sim > bestSim {
			best, bestSim = i, sim
		}
	}
	if best < 0 || bestSim < s.opt.MinContextSim {
		c := admem.FailureCluster{
			SignatureID: st.SignatureID, Signature: st.Signature, Tool: st.Tool, ErrorClass: st.ErrorClass, Template: st.Template,
			Centroid: slices.Clone(st.Context), EmbedderID: st.EmbedderID, Count: 1,
			FirstSeenAt: st.SeenAt, LastSeenAt: st.SeenAt,
			Actions: map[string]int{st.ActionPattern: 1}, Exemplars: []string{st.TrajectoryID},
			Note: st.Note,
		}
		c.Note.Text = RenderNote(c)
		return c
	}
	c := same[best]
	c.Centroid = weightedMean(c.Centroid, c.Count, st.Context, 1)
	c.EmbedderID = st.EmbedderID
	c.Count++
	if st.SeenAt.Before(c.FirstSeenAt) {
		c.FirstSeenAt = st.SeenAt
	}
	if st.SeenAt.After(c.LastSeenAt) {
		c.LastSeenAt = st.SeenAt
	}
	actions := make(map[string]int, len(c.Actions)+1)
	for k, v := range c.Actions {
		actions[k] = v
	}
	actions[st.ActionPattern]++
	c.Actions = actions
	c.Exemplars = addExemplar(c.Exemplars, st.TrajectoryID, s.opt.MaxExemplars)
	c.Note = mergeNote(c.Note, st.Note)
	c.Note.Text = RenderNote(c)
	return c
}

func mergeNote(old, in admem.FailureNote) admem.FailureNote {
	if old.When == "" {
		old.When = in.When
	}
	if old.Doing == "" {
		old.Doing = in.Doing
	}
	if old.Correction == "" && in.Correction != "" {
		old.Correction, old.Do = in.Correction, in.Do
	}
	return old
}

// RenderNote renders a cluster's mistake note as prompt text.
func RenderNote(c admem.FailureCluster) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Mistake (seen %d×)", c.Count)
	if c.Label != "" {
		fmt.Fprintf(&b, " [%s]", c.Label)
	}
	if c.Note.When != "" {
		fmt.Fprintf(&b, " when %s", c.Note.When)
	}
	doing := c.Note.Doing
	if doing == "" {
		doing = c.Tool + "(…)"
	}
	fmt.Fprintf(&b, ": %s fails with %q.", doing, strings.TrimPrefix(c.ErrorClass+": "+c.Template, ": "))
	if c.Note.Correction != "" {
		fmt.Fprintf(&b, " Fix: %s.", c.Note.Correction)
	}
	return b.String()
}

func addExemplar(ex []string, id string, max int) []string {
	if i := slices.Index(ex, id); i >= 0 {
		ex = slices.Delete(slices.Clone(ex), i, i+1)
	}
	ex = append(ex, id)
	if len(ex) > max {
		ex = ex[len(ex)-max:]
	}
	return ex
}

// Get returns one cluster.
func (s *Service) Get(ctx context.Context, p admem.Principal, id string) (admem.FailureCluster, error) {
	return s.store.GetFailureCluster(ctx, p.TenantID, id)
}

// List pages through the tenant's clusters, most recently seen first.
func (s *Service) List(ctx context.Context, p admem.Principal, f admem.FailureFilter, page admem.Page) ([]admem.FailureCluster, string, error) {
	return s.store.ListFailureClusters(ctx, p.TenantID, f, page)
}

// MaxLabelLen bounds a cluster label.
const MaxLabelLen = 200

// Update labels or suppresses a cluster (admin).
func (s *Service) Update(ctx context.Context, p admem.Principal, id string, u admem.FailureClusterUpdate) (admem.FailureCluster, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.FailureCluster{}, admem.ErrForbidden
	}
	if u.Label == nil && u.Suppressed == nil {
		return admem.FailureCluster{}, admem.Invalid("(body)", "set label or suppressed")
	}
	if u.Label != nil {
		l := strings.TrimSpace(*u.Label)
		if len(l) > MaxLabelLen {
			return admem.FailureCluster{}, admem.Invalid("label", fmt.Sprintf("at most %d bytes", MaxLabelLen))
		}
		u.Label = &l
	}
	return s.store.UpdateFailureCluster(ctx, p.TenantID, p.KeyID, id, u)
}

// Merge folds cluster fromID into intoID (admin). Clusters of different
// signatures may be merged: the admin knows they are one mistake.
func (s *Service) Merge(ctx context.Context, p admem.Principal, intoID, fromID string) (admem.FailureCluster, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.FailureCluster{}, admem.ErrForbidden
	}
	if intoID == fromID {
		return admem.FailureCluster{}, admem.Invalid("from", "a cluster cannot be merged into itself")
	}
	return s.store.MergeFailureClusters(ctx, p.TenantID, p.KeyID, intoID, fromID, s.merge)
}

func (s *Service) merge(into, from admem.FailureCluster) admem.FailureCluster {
	out := into
	if len(into.Centroid) == len(from.Centroid) && len(into.Centroid) > 0 {
		out.Centroid = weightedMean(into.Centroid, into.Count, from.Centroid, from.Count)
	}
	out.Count = into.Count + from.Count
	if from.FirstSeenAt.Before(out.FirstSeenAt) {
		out.FirstSeenAt = from.FirstSeenAt
	}
	if from.LastSeenAt.After(out.LastSeenAt) {
		out.LastSeenAt = from.LastSeenAt
	}
	out.Actions = map[string]int{}
	for k, v := range into.Actions {
		out.Actions[k] += v
	}
	for k, v := range from.Actions {
		out.Actions[k] += v
	}
	out.Exemplars = slices.Clone(into.Exemplars)
	for _, e := range from.Exemplars {
		out.Exemplars = addExemplar(out.Exemplars, e, s.opt.MaxExemplars)
	}
	out.Note = mergeNote(into.Note, from.Note)
	out.Note.Text = RenderNote(out)
	return out
}

// Coherence is the mean cosine between members' contexts and their mean
// direction: 1 when every failure happened in the same context.
func Coherence(members [][]float32) float64 {
	if len(members) == 0 {
		return math.NaN()
	}
	c := mean(members)
	s := 0.0
	for _, m := range members {
		s += vecmath.Cosine(c, m)
	}
	return s / float64(len(members))
}

// Split divides a cluster in two by its members' contexts (2-means). Unless
// force, it refuses a cluster that is still coherent. It returns the new
// cluster (the smaller part).
func (s *Service) Split(ctx context.Context, p admem.Principal, id string, force bool) (admem.FailureCluster, error) {
	if !p.Can(admem.ScopeAdmin) {
		return admem.FailureCluster{}, admem.ErrForbidden
	}
	return s.split(ctx, p.TenantID, p.KeyID, id, force)
}

func (s *Service) split(ctx context.Context, tenantID, actorKeyID, id string, force bool) (admem.FailureCluster, error) {
	c, err := s.store.GetFailureCluster(ctx, tenantID, id)
	if err != nil {
		return admem.FailureCluster{}, err
	}
	if c.MergedInto != "" {
		return admem.FailureCluster{}, admem.Errorf(admem.ECONFLICT, "the cluster was merged into %s", c.MergedInto)
	}
	members, err := s.store.FailureClusterMembers(ctx, tenantID, id, maxMembers)
	if err != nil {
		return admem.FailureCluster{}, err
	}
	vecs := make([][]float32, len(members))
	for i, m := range members {
		vecs[i] = m.Context
	}
	if len(members) < 2 {
		return admem.FailureCluster{}, admem.Errorf(admem.ECONFLICT, "the cluster has fewer than two recorded failures to split")
	}
	if coh := Coherence(vecs); !force && coh >= s.opt.SplitCoherence {
		return admem.FailureCluster{}, admem.Errorf(admem.ECONFLICT, "the cluster is coherent (%.2f ≥ %.2f); send force to split it anyway", coh, s.opt.SplitCoherence)
	}
	group := TwoMeans(vecs)
	var partVecs, restVecs [][]float32
	var partIDs []int64
	part := admem.FailureCluster{SignatureID: c.SignatureID, Signature: c.Signature, Tool: c.Tool, ErrorClass: c.ErrorClass,
		Template: c.Template, EmbedderID: c.EmbedderID, Actions: map[string]int{}, Note: c.Note, Label: c.Label}
	for i, m := range members {
		if group[i] {
			partVecs = append(partVecs, m.Context)
			partIDs = append(partIDs, m.ExampleID)
			part.Count++
			part.Actions[m.ActionText]++
			part.Exemplars = addExemplar(part.Exemplars, m.TrajectoryID, s.opt.MaxExemplars)
			if part.FirstSeenAt.IsZero() || m.CreatedAt.Before(part.FirstSeenAt) {
				part.FirstSeenAt = m.CreatedAt
			}
			if m.CreatedAt.After(part.LastSeenAt) {
				part.LastSeenAt = m.CreatedAt
			}
		} else {
			restVecs = append(restVecs, m.Context)
		}
	}
	if len(partIDs) == 0 || len(restVecs) == 0 {
		return admem.FailureCluster{}, admem.Errorf(admem.ECONFLICT, "the cluster's failures do not separate into two groups")
	}
	part.Centroid = unit(mean(partVecs))
	part.Note.Text = RenderNote(part)
	rest := c
	rest.Count = max(c.Count-part.Count, len(restVecs))
	rest.Centroid = unit(mean(restVecs))
	rest.Note.Text = RenderNote(rest)
	return s.store.SplitFailureCluster(ctx, tenantID, actorKeyID, rest, part, partIDs)
}

// TwoMeans splits vectors into two groups by cosine 2-means with a
// deterministic start (the member farthest from the mean, then the member
// farthest from that). It returns true for members of the smaller group.
func TwoMeans(vecs [][]float32) []bool {
	n := len(vecs)
	group := make([]bool, n)
	if n < 2 {
		return group
	}
	c := mean(vecs)
	a := argmin(vecs, c)
	b := argmin(vecs, vecs[a])
	ca, cb := slices.Clone(vecs[a]), slices.Clone(vecs[b])
	for iter := 0; iter < 20; iter++ {
		changed := false
		var ga, gb [][]float32
		for i, v := range vecs {
			inB := vecmath.Cosine(v, cb) > vecmath.Cosine(v, ca)
			if inB != group[i] || iter == 0 {
				changed = changed || inB != group[i]
				group[i] = inB
			}
			if inB {
				gb = append(gb, v)
			} else {
				ga = append(ga, v)
			}
		}
		if len(ga) == 0 || len(gb) == 0 {
			break
		}
		ca, cb = mean(ga), mean(gb)
		if !changed && iter > 0 {
			break
		}
	}
	k := 0
	for _, g := range group {
		if g {
			k++
		}
	}
	if 2*k > n {
		for i := range group {
			group[i] = !group[i]
		}
	}
	return group
}

func argmin(vecs [][]float32, ref []float32) int {
	best, bestSim := 0, math.Inf(1)
	for i, v := range vecs {
		if s := vecmath.Cosine(v, ref); s < bestSim {
			best, bestSim = i, s
		}
	}
	return best
}

func mean(vecs [][]float32) []float32 {
	if len(vecs) == 0 {
		return nil
	}
	out := make([]float64, len(vecs[0]))
	for _, v := range vecs {
		for i := range out {
			if i < len(v) {
				out[i] += float64(v[i])
			}
		}
	}
	r := make([]float32, len(out))
	for i, x := range out {
		r[i] = float32(x / float64(len(vecs)))
	}
	return r
}

func weightedMean(a []float32, wa int, b []float32, wb int) []float32 {
	if len(a) != len(b) {
		return slices.Clone(b)
	}
	out := make([]float32, len(a))
	for i := range a {
		out[i] = float32((float64(a[i])*float64(wa) + float64(b[i])*float64(wb)) / float64(wa+wb))
	}
	return unit(out)
}

func unit(v []float32) []float32 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return v
	}
	inv := 1 / math.Sqrt(ss)
	for i := range v {
		v[i] = float32(float64(v[i]) * inv)
	}
	return v
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

// CanonicalText is the canonical action with its literal values, for
// people and prompts.
func CanonicalText(tool string, args map[string]any) string {
	return signature.CanonicalAction(tool, args, signature.ActionOptions{})
}
