// Package sim is the core of admem's closed-loop benchmark: a seeded
// simulator of multi-step tool use, a stand-in agent with a fixed, noisy
// policy, and a runner that plays episodes against a [Memory] and measures
// how much the memory helps.
//
// The [World] holds task families (booking, refunds, deployments, data
// pipelines, account admin, billing, incident response, inventory), typed
// tools and hidden rules. A rule is something a real API enforces but its
// documentation does not tell the agent: a strict argument format, a
// deprecated tool, a missing precondition step, an ordering constraint, a
// quota, a constraint that depends on the user or task context, or a drift
// (a rule that changes at a given episode, so stale memory must be
// corrected). Every rule answers with a realistic error message carrying ids
// and numbers, and every rule has a fix the agent can take, so a memory can
// learn it from an error plus a later success.
//
// The [Agent] knows the tools and the reference plan of its task but not the
// rules; it makes the mistakes language-model agents make at fixed rates and
// asks its [Memory] before the task (Recall), before each step (Guard) and
// after (Record). The arms of the benchmark differ only in the Memory they
// pass in; the agent, the tasks and the random streams are the same.
//
// Besides the hand-written [World] of NewWorld, [Generate] draws a fresh
// world from a seed: a business domain, tools named in one of several
// styles, task families, error styles (HTTP JSON bodies, SDK exceptions,
// plain text) and hidden rules of the kinds in [RuleKinds] with random
// parameters, transient faults (5xx, timeouts, rate limits: the same call
// retried works) and one drift. Nobody can tune a memory to a world nobody
// has seen: [RunWorlds] plays many such worlds per memory arm, with the
// default agent and with the cautious one that obeys guard, and reports
// every figure per world with its mean and standard deviation.
//
// [Env.Probe] answers whether a call would fail right now without changing
// anything; it is the oracle of the guard quality metrics ([Quality]) and of
// [OracleMemory], the upper bound of every arm, as [NoMemory] is the lower.
//
// Everything is deterministic for a given seed: all randomness comes from
// explicit math/rand/v2 PCG sources derived from the world seed and the
// episode seed, never from the global source.
package sim
