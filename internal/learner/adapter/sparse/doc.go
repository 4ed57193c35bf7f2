// Package sparse owns the second-generation adapter: a per-tenant model of
// p(fail | context, call) over structured sparse features, its training (a
// full refit and online updates), its held-out metrics and its binary
// artifact.
//
// A featuriser (not in this package) describes a candidate call by hashed
// indicator features — the tool, each argument's name and the shape of its
// value, links between values and earlier steps — and a few dense, named
// evidence features at fixed indices; it describes the context by the task's
// text embedding at indices [0, DenseContext) and hashed features of the steps
// so far. The model scores
//
//	z = b + Σᵢ wᵢxᵢ + Σⱼ gⱼcⱼ + Σₖ (Σⱼ Uⱼₖcⱼ)(Σᵢ Vᵢₖxᵢ),   risk = σ(a·z + c₀)
//
// where x are the call's features, c the context's, U and V have rank
// 0..MaxRank and (a, c₀) is a Platt calibration map fitted on held-out data.
// The low-rank term is what learns "this call fails after that step" when
// neither the call nor the step fails on its own.
//
// Learning starts from a prior and moves away from it with data: the weights
// of the named evidence features and the bias start at Config.Prior and
// Config.PriorBias and are pulled back towards them, not towards zero, by an
// L2 term counted in examples' worth. An untrained model is therefore the
// hand-set evidence combination, a data-poor tenant's model stays close to it
// and a data-rich one corrects it.
//
// Parameters exist only for features that have been seen, so memory grows
// with a tenant's active features, not with the hashing space: CallDim and
// ContextDim bound indices and can be large.
//
// [Train] is the periodic full refit: the linear part first, then U and V
// from the top singular vectors of the failure contrast, fitted with the
// linear part held and kept only if they beat it on held-out data; early
// stopping and a Platt calibration map come from a stratified validation
// split. A [Trainer] applies new evidence within milliseconds by a few Adam
// steps on it mixed with a replay sample of older examples, which keeps
// forgetting low.
//
// A [Model] is immutable and safe for concurrent scoring. A [Trainer] holds
// mutable parameters for online updates and publishes immutable snapshots.
// Everything here is pure computation; storing versions, gating candidates
// and hot-swapping models belong to the worker, the judge and the API.
package sparse
