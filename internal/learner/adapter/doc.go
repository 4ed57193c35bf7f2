// Package adapter owns admem's procedural adapter: a small per-tenant model
// that scores (context, action) pairs by how likely the action is to fail in
// that context.
//
// The model is a logistic regression on the context and action embeddings
// plus a low-rank bilinear interaction,
//
//	p(success | c, a) = σ(b + waᵀa + wcᵀc + (Uᵀc)·(Vᵀa)),  U, V ∈ R^{d×r},
//
// where the wcᵀc term is optional (FeatureContext, on by default) and the
// risk it reports is 1 − p. The bilinear term is what lets it learn
// "this action fails in contexts like this one" rather than only "this
// action often fails". U and V start from the top singular vectors of the
// success/failure contrast Σ yᵢ cᵢ aᵢᵀ and are refined by Adam on a
// class-weighted cross-entropy with L2, with early stopping on a validation
// split. A [Reservoir] of past examples is replayed with each retraining so
// that a new candidate does not forget earlier failure families.
//
// The classes are weighted to contribute equally to the loss, so a risk is
// calibrated as if failures and successes were equally common: it ranks
// actions correctly, but where failures are rare it overstates their absolute
// rate. Guard thresholds are set on this scale; a caller that needs the
// tenant's true rate can add log(TrainFails/(TrainN−TrainFails)), from
// TrainInfo, to the failure log-odds log(risk/(1−risk)).
//
// Everything here is pure computation: training, metrics and the binary
// artifact. Storing versions, gating candidates and hot-swapping the active
// model belong to the worker, the judge and the API. A trained [Model] is
// immutable, so any number of goroutines may score with it concurrently.
package adapter
