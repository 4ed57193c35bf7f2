// Package mistake owns what admem knows about agents' mistakes: one domain
// model, learnt from evidence, that guard and recall read and the worker
// builds. It has no storage and no I/O: everything here is a deterministic
// function of the trajectories it was shown.
//
// The model has three parts.
//
//   - A call's facts ([Describe]): each argument leaf's shape, whether its
//     value is grounded in the task or the earlier steps, its magnitude,
//     which earlier successful steps the call is linked to by a value,
//     whether it repeats a call that already worked. These are the
//     features a mistake's rule is written in ("s:date=9/9/9", "u:currency",
//     "np:verify_account", "r"), never a tool or a world's name.
//   - A tool's recent history ([Tool]): the last calls of the tool with
//     their facts and outcome. It is the evidence a mistake's rule is
//     fitted on and the counter-evidence that refutes one: the tenant's own
//     successful history of the very call.
//   - A [Mistake] per error signature: every failure's evidence (what all
//     failing calls had in common, which arguments the error names, how
//     retries of the identical call went, what the agent's own recovery
//     did), its [Kind] (deterministic, state-dependent, transient), its
//     fitted [Rule] (the most general conjunction of facts that covers the
//     failures and excludes the tool's recent successes, with a
//     recency-weighted estimate of p(fail | rule holds)), and its [Fix]es:
//     edits of the candidate's own call (rewrite an argument, take a
//     missing step first, use the replacement tool, split a value) that
//     are instantiated with the request's values only.
//
// A [Book] holds a tenant's tools and mistakes (or the part of them a
// request needs): the worker feeds it trajectories ([Book.Learn]) and
// stores what changed; guard asks it about candidate calls
// ([Book.Assess]) and turns the named evidence it returns into a decision,
// with the tenant's adapter when it has one.
package mistake
