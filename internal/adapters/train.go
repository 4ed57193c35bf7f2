package adapters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/learner/adapter"
)

// TrainStore is what training needs from storage.
type TrainStore interface {
	AdapterTrainingDue(ctx context.Context, minNew int, maxAge time.Duration) ([]string, error)
	GetAdapterState(ctx context.Context, tenantID string) (admem.AdapterTrainingState, error)
	AdapterExamples(ctx context.Context, tenantID, embedderID string, afterID, throughID int64, limit int) ([]admem.AdapterExample, error)
	AdapterLabelSources(ctx context.Context, tenantID, embedderID string, labels []string) (map[string]admem.LabelSources, error)
	ActiveAdapter(ctx context.Context, tenantID string) (admem.AdapterVersion, error)
	SaveAdapterVersion(ctx context.Context, tenantID string, v admem.AdapterVersion, expectThrough int64, st admem.AdapterTrainingState) (admem.AdapterVersion, error)
	// TryLockAdapterTraining takes the tenant's training lock unless
	// another trainer (another worker replica) holds it.
	TryLockAdapterTraining(ctx context.Context, tenantID string) (release func(), ok bool, err error)
}

// TrainOptions control when and how the worker trains.
type TrainOptions struct {
	// MinNew new labelled steps make a tenant due for training; so does
	// any new step once MaxAge has passed since the last training.
	MinNew int
	MaxAge time.Duration
	// MaxBatch bounds the new examples one training reads.
	MaxBatch int
	// ReservoirCap is the replay sample kept per tenant against forgetting.
	ReservoirCap int
	// MinTrain is the fewest examples (new plus reservoir) worth a
	// training: below it the gate would reject for lack of held-out data.
	MinTrain int
	// HoldOutEvery: every n-th new example is held out for the gate.
	HoldOutEvery int
	// WarnThreshold is the risk the gate's cluster recall counts as
	// flagged: guard's default warn threshold.
	WarnThreshold float64
	Config        adapter.Config
	Tolerance     judge.GateTolerance
}

// Defaults.
const (
	DefaultMinNew       = 200
	DefaultMaxAge       = time.Hour
	DefaultMaxBatch     = 50000
	DefaultReservoirCap = 4000
	DefaultHoldOutEvery = 5
	DefaultMinTrain     = 100
)

func (o TrainOptions) withDefaults() TrainOptions {
	if o.MinNew <= 0 {
		o.MinNew = DefaultMinNew
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = DefaultMaxBatch
	}
	if o.ReservoirCap <= 0 {
		o.ReservoirCap = DefaultReservoirCap
	}
	if o.MinTrain <= 0 {
		o.MinTrain = DefaultMinTrain
	}
	if o.HoldOutEvery < 2 {
		o.HoldOutEvery = DefaultHoldOutEvery
	}
	if o.WarnThreshold <= 0 {
		o.WarnThreshold = DefaultWarn
	}
	if o.Config.MaxEpochs == 0 {
		o.Config = adapter.DefaultConfig()
	}
	if o.Tolerance.MinExamples == 0 {
		o.Tolerance = judge.DefaultGateTolerance()
	}
	return o
}

// Default guard thresholds on the adapter's risk scale (class-balanced; see
// the adapter package): warn at 0.5, block at 0.85.
const (
	DefaultWarn  = admem.DefaultGuardWarn
	DefaultBlock = admem.DefaultGuardBlock
)

// Trainer trains, gates and publishes adapters.
type Trainer struct {
	store    TrainStore
	embedder string
	notify   *Notifier
	opt      TrainOptions
	log      *slog.Logger
	now      func() time.Time
}

// NewTrainer returns a trainer for examples of the embedding space
// embedderID. notify may be nil (no announcement; replicas poll).
func NewTrainer(store TrainStore, embedderID string, notify *Notifier, opt TrainOptions, log *slog.Logger) *Trainer {
	return &Trainer{store: store, embedder: embedderID, notify: notify, opt: opt.withDefaults(), log: log, now: time.Now}
}

// Result is what one training produced.
type Result struct {
	TenantID    string
	Version     admem.AdapterVersion
	Activated   bool
	NewExamples int
	TrainN      int
	HeldOut     int
	Reasons     []string
	Duration    time.Duration // train + gate + publish, storage included
}

// ErrNothingToTrain is returned when a tenant has no new examples or they
// hold one class only (there is no contrast to learn yet).
var ErrNothingToTrain = errors.New("adapters: nothing to train")

// ErrTrainingInProgress is returned when another trainer (another worker
// replica) is training the tenant: one training per tenant at a time, so
// none is thrown away when two finish on the same examples.
var ErrTrainingInProgress = errors.New("adapters: another trainer is training this tenant")

// RunDue trains every tenant that is due, one after the other; a failure of
// one tenant does not stop the others.
func (t *Trainer) RunDue(ctx context.Context) error {
	tenants, err := t.store.AdapterTrainingDue(ctx, t.opt.MinNew, t.opt.MaxAge)
	if err != nil {
		return err
	}
	var errs []error
	for _, tenant := range tenants {
		if ctx.Err() != nil {
			break
		}
		res, err := t.TrainTenant(ctx, tenant)
		switch {
		case errors.Is(err, ErrNothingToTrain), errors.Is(err, ErrTrainingInProgress):
		case err != nil:
			errs = append(errs, err)
		default:
			t.log.Info("adapter trained", "tenant_id", tenant, "version", res.Version.Version, "status", res.Version.Status,
				"new_examples", res.NewExamples, "train_n", res.TrainN, "held_out", res.HeldOut, "seconds", res.Duration.Seconds(),
				"reasons", res.Reasons)
		}
	}
	return errors.Join(errs...)
}

// TrainTenant trains a candidate on the tenant's new examples plus its
// replay reservoir, measures it and the active version on held-out
// examples neither trained on, lets the judge gate it, stores it (active or
// rejected, with metrics) and announces an activation. While another
// trainer trains the tenant it returns ErrTrainingInProgress.
func (t *Trainer) TrainTenant(ctx context.Context, tenantID string) (Result, error) {
	start := time.Now()
	res := Result{TenantID: tenantID}
	release, ok, err := t.store.TryLockAdapterTraining(ctx, tenantID)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, ErrTrainingInProgress
	}
	defer release()
	// Read under the lock: a training that just finished has moved it.
	st, err := t.store.GetAdapterState(ctx, tenantID)
	if err != nil {
		return res, err
	}
	rows, err := t.store.AdapterExamples(ctx, tenantID, t.embedder, st.TrainedThrough, 0, t.opt.MaxBatch)
	if err != nil {
		return res, err
	}
	if len(rows) == 0 {
		return res, ErrNothingToTrain
	}
	res.NewExamples = len(rows)
	through := rows[len(rows)-1].ID
	if rows, err = t.admit(ctx, tenantID, st.LearningQuorum, rows); err != nil {
		return res, err
	}

	rsv := newReservoir(t.opt, st.Reservoir, tenantID)
	if len(rows)+rsv.Len() < t.opt.MinTrain {
		// Too little to fit or to gate: wait for more, without storing a
		// candidate the gate could only reject.
		return res, ErrNothingToTrain
	}
	var train, held []adapter.Example
	newEx := make([]adapter.Example, len(rows))
	for i, r := range rows {
		e := toExample(r)
		newEx[i] = e
		if r.ID%int64(t.opt.HoldOutEvery) == 0 {
			held = append(held, e)
		} else {
			train = append(train, e)
		}
	}
	for i, e := range rsv.Examples() {
		// When the new examples alone hold out too few, hold out part of
		// the reservoir too (the active version may have trained on it,
		// which only makes the gate stricter).
		if len(held) < 4*t.opt.Tolerance.MinExamples && i%t.opt.HoldOutEvery == 0 {
			held = append(held, e)
		} else {
			train = append(train, e)
		}
	}
	res.TrainN, res.HeldOut = len(train), len(held)
	cfg := t.opt.Config
	cfg.EmbedderID = t.embedder
	cfg.CreatedAt = t.now().UTC()
	cand, err := adapter.Train(train, cfg)
	if errors.Is(err, adapter.ErrOneClass) {
		return res, fmt.Errorf("%w: %v", ErrNothingToTrain, err)
	}
	if err != nil {
		return res, fmt.Errorf("adapters: train %s: %w", tenantID, err)
	}
	cm := adapter.Evaluate(cand, held, t.opt.WarnThreshold)
	var am *adapter.Metrics
	activeVersion := 0
	if av, err := t.store.ActiveAdapter(ctx, tenantID); err == nil {
		m := new(adapter.Model)
		if err := m.UnmarshalBinary(av.Blob); err == nil && m.EmbedderID() == t.embedder && m.Dim() == cand.Dim() {
			x := adapter.Evaluate(m, held, t.opt.WarnThreshold)
			am, activeVersion = &x, av.Version
		}
	} else if !errors.Is(err, admem.ErrNotFound) {
		return res, err
	}
	var activeGate *judge.GateMetrics
	if am != nil {
		g := gateMetrics(*am)
		activeGate = &g
	}
	dec := judge.GateAdapter(gateMetrics(cm), activeGate, t.opt.Tolerance)
	res.Reasons = dec.Reasons
	blob, err := cand.MarshalBinary()
	if err != nil {
		return res, err
	}
	rsv.AddAll(newEx)
	resBlob, err := rsv.MarshalBinary()
	if err != nil {
		return res, err
	}
	status := admem.AdapterRejected
	if dec.Activate {
		status = admem.AdapterActive
	}
	info := cand.Info()
	metrics := map[string]any{
		"held_out": metricsJSON(cm), "train_n": info.TrainN, "val_n": info.ValN, "epochs": info.Epochs,
		"best_epoch": info.BestEpoch, "new_examples": len(rows), "reservoir": rsv.Len(),
		"train_seconds": time.Since(start).Seconds(),
	}
	gate := map[string]any{"activate": dec.Activate, "reasons": dec.Reasons, "against_version": activeVersion}
	if am != nil {
		gate["active_held_out"] = metricsJSON(*am)
	}
	v, err := t.store.SaveAdapterVersion(ctx, tenantID, admem.AdapterVersion{
		Status: status, Blob: blob, Metrics: metrics, Gate: gate, EmbedderID: t.embedder,
		Dim: cand.Dim(), Rank: cand.Rank(), TrainExamples: len(train),
	}, st.TrainedThrough, admem.AdapterTrainingState{TrainedThrough: through, Reservoir: resBlob})
	if err != nil {
		return res, err
	}
	res.Version, res.Activated = v, dec.Activate
	if dec.Activate {
		if err := t.notify.Activated(ctx, tenantID, v.Version); err != nil {
			t.log.Warn("activation not announced; replicas will poll", "tenant_id", tenantID, "err", err)
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// PerSourceLabels is how many failed steps of one label (a failure
// cluster, or an action) one source's reports put into training, unless
// the label was reported by the tenant's quorum of independent sources or
// by a key trusted for learning: one key posting fifty fabricated failures
// teaches the adapter what it would teach with three.
const PerSourceLabels = 3

// admit keeps the examples training may learn from: every step that
// worked, and the failed steps whose label counts (trusted key, or
// independent sources as judge.IndependentSources counts them) or that are
// among their source's first PerSourceLabels of the label. Examples
// without a known source (recorded before provenance) are kept.
func (t *Trainer) admit(ctx context.Context, tenantID string, quorum int, rows []admem.AdapterExample) ([]admem.AdapterExample, error) {
	var capped []string
	for _, r := range rows {
		if r.Failed && !r.Trusted && r.SourceRank > PerSourceLabels && !slices.Contains(capped, r.Label) {
			capped = append(capped, r.Label)
		}
	}
	if len(capped) == 0 {
		return rows, nil
	}
	srcs, err := t.store.AdapterLabelSources(ctx, tenantID, t.embedder, capped)
	if err != nil {
		return nil, err
	}
	if quorum < 1 {
		quorum = judge.DefaultQuorum
	}
	out := rows[:0:0]
	dropped := 0
	for _, r := range rows {
		if r.Failed && !r.Trusted && r.SourceRank > PerSourceLabels {
			if ls := srcs[r.Label]; !ls.Trusted && judge.IndependentSources(ls.Sources) < quorum {
				dropped++
				continue
			}
		}
		out = append(out, r)
	}
	if dropped > 0 {
		t.log.Info("adapter training: failed steps over their source's share left out", "tenant_id", tenantID, "dropped", dropped, "kept", len(out))
	}
	return out, nil
}

func newReservoir(o TrainOptions, blob []byte, tenantID string) *adapter.Reservoir {
	if len(blob) > 0 {
		r := new(adapter.Reservoir)
		if err := r.UnmarshalBinary(blob); err == nil {
			return r
		}
	}
	var seed uint64 = 1469598103934665603
	for _, c := range []byte(tenantID) {
		seed = (seed ^ uint64(c)) * 1099511628211
	}
	r, err := adapter.NewReservoir(o.ReservoirCap, seed)
	if err != nil {
		panic(err) // capacity is validated by withDefaults
	}
	return r
}

func toExample(r admem.AdapterExample) adapter.Example {
	c := make([]float64, len(r.Context))
	for i, x := range r.Context {
		c[i] = float64(x)
	}
	a := make([]float64, len(r.Action))
	for i, x := range r.Action {
		a[i] = float64(x)
	}
	return adapter.Example{Context: c, Action: a, Failed: r.Failed, Cluster: r.ClusterID}
}

func gateMetrics(m adapter.Metrics) judge.GateMetrics {
	return judge.GateMetrics{N: m.N, Failures: m.Failures, AUC: m.AUC, Brier: m.Brier, ClusterRecall: m.ClusterRecall}
}

// metricsJSON renders metrics for a jsonb column: NaN becomes null.
func metricsJSON(m adapter.Metrics) map[string]any {
	f := func(x float64) any {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil
		}
		return x
	}
	return map[string]any{"n": m.N, "failures": m.Failures, "auc": f(m.AUC), "brier": f(m.Brier), "log_loss": f(m.LogLoss),
		"threshold": m.Threshold, "clusters": m.Clusters, "cluster_recall": f(m.ClusterRecall), "cluster_macro_recall": f(m.ClusterMacroRecall)}
}
