package sparse

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// state is the mutable float64 form of a model that Train and Trainer step
// on. Rows are only ever appended, so a resolved item stays valid for the
// life of a state.
type state struct {
	callDim, ctxDim, dense uint32
	r                      int

	// The bias behaves like a row present in every example.
	bias, bias0, lamB   float64
	biasN               float64 // total weight of the examples behind the state
	biasM, biasV, biasG float64
	biasT               uint32

	call, ctx         rowSet
	callTab, ctxTab   table
	prior             map[uint32]float32
	priorL2, l2, lamF float64
	decayF            float64 // κ, Config.FactorDecay

	// newRowNoise is the standard deviation of the seeded noise given to the
	// factor part of rows created by resolve: a row whose U or V part is
	// exactly zero gets no gradient through the interaction while the other
	// factor is zero too.
	newRowNoise float64
	rng         *rand.Rand

	// factorRate and linearRate scale the learn rate of the factor rows
	// (U, V) and of the linear weights and bias; see Train and Trainer.
	factorRate, linearRate float64

	// ra is the number of factor columns in use: 0 while Train fits the
	// linear part alone, r otherwise.
	ra int

	stamp       uint32
	touchedCall []int32
	touchedCtx  []int32
	uc, vx      []float64
}

// rowSet holds parameter rows of one kind (call or context) and what
// training needs per row.
type rowSet struct {
	stride int
	theta  []float64 // rows × stride: the linear weight, then the factor row
	idx    []uint32  // feature index of each row
	n      []float64 // evidence: total weight of examples holding the feature
	w0     []float64 // prior of the linear weight
	lam    []float64 // L2 strength of the linear weight
	m, v   []float64 // Adam moments, rows × stride
	t      []uint32  // Adam steps taken by each row (bias correction is per row)
	g      []float64 // gradient accumulator, rows × stride
	mark   []uint32  // stamp of the last batch that touched the row
}

func (rs *rowSet) len() int { return len(rs.idx) }

func (rs *rowSet) add(i uint32, w0, lam float64) int32 {
	row := int32(len(rs.idx))
	rs.idx = append(rs.idx, i)
	rs.n = append(rs.n, 0)
	rs.w0 = append(rs.w0, w0)
	rs.lam = append(rs.lam, lam)
	rs.t = append(rs.t, 0)
	rs.mark = append(rs.mark, 0)
	for range rs.stride {
		rs.theta = append(rs.theta, 0)
		rs.m = append(rs.m, 0)
		rs.v = append(rs.v, 0)
		rs.g = append(rs.g, 0)
	}
	rs.theta[int(row)*rs.stride] = w0
	return row
}

func (rs *rowSet) row(r int32) []float64 {
	return rs.theta[int(r)*rs.stride : int(r+1)*rs.stride]
}

// newState returns the prior model's state: the bias and the prior weights
// at their prior values, everything else zero. With warm set, its parameters
// replace the prior's as the starting point (the prior stays the L2 target);
// keepEvidence also copies its per-feature evidence, for online training.
func newState(cfg *Config, warm *Model, keepEvidence bool) (*state, error) {
	s := &state{
		callDim: cfg.CallDim, ctxDim: cfg.ContextDim, dense: cfg.DenseContext, r: cfg.Rank,
		bias: float64(cfg.PriorBias), bias0: float64(cfg.PriorBias), lamB: cfg.PriorL2,
		call: rowSet{stride: cfg.Rank + 1}, ctx: rowSet{stride: cfg.Rank + 1},
		prior: cfg.Prior, priorL2: cfg.PriorL2, l2: cfg.L2, lamF: cfg.FactorL2, decayF: cfg.FactorDecay,
		rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5851f42d4c957f2d)),
		uc:  make([]float64, cfg.Rank), vx: make([]float64, cfg.Rank), ra: cfg.Rank,
		factorRate: 1, linearRate: 1,
	}
	s.callTab = newTable(len(cfg.Prior))
	s.ctxTab = newTable(0)
	for i := range cfg.DenseContext {
		s.ctx.add(i, 0, cfg.L2)
	}
	for _, f := range sortedPrior(cfg.Prior) {
		s.callTab.put(f.I, s.call.add(f.I, float64(f.V), cfg.PriorL2))
	}
	if warm == nil {
		return s, nil
	}
	if warm.callDim != cfg.CallDim || warm.ctxDim != cfg.ContextDim || warm.dense != cfg.DenseContext || warm.r != cfg.Rank {
		return nil, fmt.Errorf("sparse: warm model has dimensions %d/%d, dense %d, rank %d; config wants %d/%d, dense %d, rank %d",
			warm.callDim, warm.ctxDim, warm.dense, warm.r, cfg.CallDim, cfg.ContextDim, cfg.DenseContext, cfg.Rank)
	}
	s.bias = float64(warm.bias)
	copyRows := func(dst *rowSet, src *rows32, get func(i uint32) int32) {
		for j, i := range src.idx {
			row := get(i)
			p := dst.row(row)
			for k := range p {
				p[k] = float64(src.theta[j*dst.stride+k])
			}
			if keepEvidence {
				dst.n[row] = float64(src.n[j])
			}
		}
	}
	copyRows(&s.call, &warm.call, s.callRow)
	copyRows(&s.ctx, &warm.ctx, s.ctxRow)
	if keepEvidence {
		s.biasN = warm.evidence
	}
	return s, nil
}

func sortedPrior(p map[uint32]float32) []Feat {
	out := make([]Feat, 0, len(p))
	for i, v := range p {
		out = append(out, Feat{I: i, V: v})
	}
	slices.SortFunc(out, func(a, b Feat) int { return int64Cmp(int64(a.I), int64(b.I)) })
	return out
}

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// callRow returns the row of call feature i, creating it if needed.
func (s *state) callRow(i uint32) int32 {
	if r := s.callTab.get(i); r >= 0 {
		return r
	}
	w0, lam := 0.0, s.l2
	if v, ok := s.prior[i]; ok {
		w0, lam = float64(v), s.priorL2
	}
	r := s.call.add(i, w0, lam)
	s.callTab.put(i, r)
	s.noise(&s.call, r)
	return r
}

// ctxRow returns the row of context feature i, creating it if needed.
func (s *state) ctxRow(i uint32) int32 {
	if i < s.dense {
		return int32(i)
	}
	if r := s.ctxTab.get(i); r >= 0 {
		return r
	}
	r := s.ctx.add(i, 0, s.l2)
	s.ctxTab.put(i, r)
	s.noise(&s.ctx, r)
	return r
}

func (s *state) noise(rs *rowSet, r int32) {
	if s.newRowNoise == 0 {
		return
	}
	for k, p := 0, rs.row(r); k < s.r; k++ {
		p[1+k] = s.newRowNoise * s.rng.NormFloat64()
	}
}

// ent is one feature of a resolved input: its row and value.
type ent struct {
	row int32
	v   float32
}

// item is an example resolved against a state: rows instead of feature
// indices, repeated features merged, the label as y ∈ {0, 1} (1 = failed).
type item struct {
	call, ctx []ent
	y, w      float64
}

// resolve turns an example into an item, creating rows for unseen
// features. buf is reused as backing storage when it has room.
func (s *state) resolve(e *Example, buf []ent) (item, []ent) {
	it := item{w: e.weight()}
	if e.Failed {
		it.y = 1
	}
	start := len(buf)
	for _, f := range e.Call {
		buf = append(buf, ent{s.callRow(f.I), f.V})
	}
	mid := len(buf)
	for _, f := range e.Context {
		buf = append(buf, ent{s.ctxRow(f.I), f.V})
	}
	it.call = mergeEnts(buf[start:mid])
	it.ctx = mergeEnts(buf[mid:])
	return it, buf
}

// mergeEnts sorts by row and sums repeated rows in place, so that each row
// occurs once per item: the per-example L2 share of a row (see lossGrad)
// must be counted once.
func mergeEnts(es []ent) []ent {
	slices.SortFunc(es, func(a, b ent) int { return int(a.row) - int(b.row) })
	out := es[:0]
	for _, e := range es {
		if n := len(out); n > 0 && out[n-1].row == e.row {
			out[n-1].v += e.v
			continue
		}
		out = append(out, e)
	}
	return out[:len(out):len(out)]
}

// count adds an item to the evidence of its rows and of the bias.
func (s *state) count(it *item) {
	for _, e := range it.call {
		s.call.n[e.row] += it.w
	}
	for _, e := range it.ctx {
		s.ctx.n[e.row] += it.w
	}
	s.biasN += it.w
}

// forward returns the raw logit of an item, leaving Uᵀc and Vᵀx in s.uc and
// s.vx for the backward pass.
func (s *state) forward(it *item) float64 {
	uc, vx := s.uc[:s.ra], s.vx[:s.ra]
	clear(uc)
	clear(vx)
	z := s.bias
	for _, e := range it.ctx {
		p := s.ctx.row(e.row)
		v := float64(e.v)
		z += v * p[0]
		for k, u := range p[1 : 1+len(uc)] {
			uc[k] += v * u
		}
	}
	for _, e := range it.call {
		p := s.call.row(e.row)
		v := float64(e.v)
		z += v * p[0]
		for k, u := range p[1 : 1+len(vx)] {
			vx[k] += v * u
		}
	}
	for k, u := range uc {
		z += u * vx[k]
	}
	return z
}

// model freezes the state into an immutable float32 Model. Rows that hold
// nothing (no evidence, no prior, all zero) are dropped: they score as an
// unseen feature does.
func (s *state) model(cfg *Config, calA, calB float64, info Info) *Model {
	m := &Model{
		callDim: s.callDim, ctxDim: s.ctxDim, dense: s.dense, r: s.r,
		bias: float32(s.bias), evidence: s.biasN, calA: calA, calB: calB,
		prior: sortedPrior(cfg.Prior), priorBias: cfg.PriorBias,
		featurizer: cfg.Featurizer, info: info,
	}
	m.call, m.callTab = freeze(&s.call, 0)
	m.ctx, m.ctxTab = freeze(&s.ctx, int(s.dense))
	return m
}

func freeze(rs *rowSet, keep int) (rows32, table) {
	var out rows32
	live := 0
	for r := range rs.len() {
		if r < keep || !emptyRow(rs, int32(r)) {
			live++
		}
	}
	out.theta = make([]float32, 0, live*rs.stride)
	out.idx = make([]uint32, 0, live)
	out.n = make([]float32, 0, live)
	tab := newTable(live - keep)
	for r := range rs.len() {
		if r >= keep && emptyRow(rs, int32(r)) {
			continue
		}
		if r >= keep {
			tab.put(rs.idx[r], int32(len(out.idx)))
		}
		out.idx = append(out.idx, rs.idx[r])
		out.n = append(out.n, float32(rs.n[r]))
		for _, v := range rs.row(int32(r)) {
			out.theta = append(out.theta, float32(v))
		}
	}
	return out, tab
}

func emptyRow(rs *rowSet, r int32) bool {
	if rs.n[r] != 0 || rs.w0[r] != 0 {
		return false
	}
	for _, v := range rs.row(r) {
		if v != 0 {
			return false
		}
	}
	return true
}

// sigmoid of a float64 logit is shared with scoring; softplus is log(1+eᶻ)
// without overflow.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

// logLoss is −log p(y | z) for y ∈ {0, 1}: softplus(z) − y·z.
func logLoss(z, y float64) float64 { return softplus(z) - y*z }
