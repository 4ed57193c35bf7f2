package sim

import (
	"slices"
	"sort"
	"time"
)

// MetricsConfig configures ComputeMetrics.
type MetricsConfig struct {
	// Window is the learning curve's window in episodes (default 50).
	Window int
	// Signature, when set, recomputes which failures were held with this
	// signature function instead of the annotations already on the episodes.
	Signature SignatureFunc
}

// Rate is a share with its counts, so reports can show both.
type Rate struct {
	N    int     // denominator
	Hits int     // numerator
	Rate float64 // Hits / N, 0 when N is 0
}

func rate(hits, n int) Rate {
	r := Rate{N: n, Hits: hits}
	if n > 0 {
		r.Rate = float64(hits) / float64(n)
	}
	return r
}

// CurvePoint is the success rate of one window of consecutive episodes.
type CurvePoint struct {
	Start, End  int // episode positions [Start, End)
	Success     Rate
	LongSuccess Rate
}

// LatencyStats summarises call durations.
type LatencyStats struct {
	Calls int
	P50   time.Duration
	P99   time.Duration
	Mean  time.Duration
	Max   time.Duration
	Total time.Duration
}

// Latency computes nearest-rank percentiles of ds.
func Latency(ds []time.Duration) LatencyStats {
	if len(ds) == 0 {
		return LatencyStats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	var total time.Duration
	for _, d := range s {
		total += d
	}
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return LatencyStats{Calls: len(s), P50: rank(0.50), P99: rank(0.99), Mean: total / time.Duration(len(s)), Max: s[len(s)-1], Total: total}
}

// Overhead is the time spent in memory calls.
type Overhead struct {
	Recall LatencyStats // per episode
	Guard  LatencyStats // per step
	Record LatencyStats // per episode
	// PerStep is all memory time divided by all agent steps.
	PerStep time.Duration
}

// FamilyMetrics are a family's headline numbers.
type FamilyMetrics struct {
	Success         Rate
	StepsPerSuccess float64 // all the family's steps over its successes
}

// Metrics are the benchmark's numbers for one arm.
type Metrics struct {
	Episodes int
	Success  Rate
	// Curve is success over time in windows: the learning curve.
	Curve       []CurvePoint
	LongHorizon Rate // tasks whose shortest solution is >= 30 steps
	Short       Rate
	// FRR, failure-recovery rate: among episodes with at least one failed
	// step, the share that still succeed.
	FRR Rate
	// RMR, repeat-mistake rate: among failed steps, the share whose
	// signature the memory already held before the step (FailedStep.Held).
	RMR Rate
	// RMRSeen is the share of failed steps whose signature an earlier
	// recorded episode had failed with (FailedStep.Seen), whether or not
	// the memory made a note of it.
	RMRSeen Rate
	// StepsPerSuccess is what one success costs: all steps taken, in
	// failed episodes too, over the successful episodes.
	StepsPerSuccess float64
	// StepsPerSolved is the mean number of steps of successful episodes,
	// and RefStepsPerSolved their mean reference length, to read it
	// against.
	StepsPerSolved    float64
	RefStepsPerSolved float64
	FailedSteps       int
	// TransientSteps counts the failed steps that were transient faults;
	// RMR and RMRSeen leave them out, since a transient fault is no
	// mistake.
	TransientSteps int
	Ends           map[string]int
	PerFamily      map[string]FamilyMetrics
	// PerRule counts failed steps by hidden rule ("" for validation errors).
	PerRule  map[string]int
	Guard    GuardStats
	Overhead Overhead
	// Quality holds the guard quality metrics (ComputeQuality).
	Quality Quality
}

// ComputeMetrics computes an arm's metrics from its episodes, in play order.
func ComputeMetrics(eps []EpisodeResult, cfg MetricsConfig) Metrics {
	if cfg.Window <= 0 {
		cfg.Window = 50
	}
	if cfg.Signature != nil {
		eps = slices.Clone(eps)
		for i := range eps {
			eps[i].Failures = slices.Clone(eps[i].Failures)
		}
		AnnotateHeld(eps, cfg.Signature)
	}
	m := Metrics{Episodes: len(eps), Ends: map[string]int{}, PerFamily: map[string]FamilyMetrics{}, PerRule: map[string]int{}}
	var succ, long, longOK, withFail, recovered, repeats, seen, steps, refSteps int
	var recall, guard, record []time.Duration
	totalSteps := 0
	famN, famOK, famSteps := map[string]int{}, map[string]int{}, map[string]int{}
	for _, e := range eps {
		m.Ends[e.End]++
		famN[e.Family]++
		totalSteps += e.Steps
		famSteps[e.Family] += e.Steps
		if e.Success {
			succ++
			steps += e.Steps
			refSteps += e.RefSteps
			famOK[e.Family]++
		}
		if e.Long {
			long++
			if e.Success {
				longOK++
			}
		}
		if len(e.Failures) > 0 {
			withFail++
			if e.Success {
				recovered++
			}
		}
		for _, f := range e.Failures {
			m.FailedSteps++
			m.PerRule[f.Rule]++
			if f.Transient {
				m.TransientSteps++
				continue
			}
			if f.Held {
				repeats++
			}
			if f.Seen {
				seen++
			}
		}
		m.Guard.Calls += e.Guard.Calls
		m.Guard.Warned += e.Guard.Warned
		m.Guard.Blocked += e.Guard.Blocked
		m.Guard.Suggested += e.Guard.Suggested
		m.Guard.Switched += e.Guard.Switched
		m.Guard.Avoided += e.Guard.Avoided
		recall = append(recall, e.Timings.Recall)
		guard = append(guard, e.Timings.Guard...)
		if e.Recorded {
			record = append(record, e.Timings.Record)
		}
	}
	m.Success = rate(succ, len(eps))
	m.LongHorizon = rate(longOK, long)
	m.Short = rate(succ-longOK, len(eps)-long)
	m.FRR = rate(recovered, withFail)
	m.RMR = rate(repeats, m.FailedSteps-m.TransientSteps)
	m.RMRSeen = rate(seen, m.FailedSteps-m.TransientSteps)
	m.Quality = ComputeQuality(eps, cfg.Signature)
	if succ > 0 {
		m.StepsPerSuccess = float64(totalSteps) / float64(succ)
		m.StepsPerSolved = float64(steps) / float64(succ)
		m.RefStepsPerSolved = float64(refSteps) / float64(succ)
	}
	for f, n := range famN {
		fm := FamilyMetrics{Success: rate(famOK[f], n)}
		if famOK[f] > 0 {
			fm.StepsPerSuccess = float64(famSteps[f]) / float64(famOK[f])
		}
		m.PerFamily[f] = fm
	}
	m.Curve = Curve(eps, cfg.Window)
	m.Overhead = Overhead{Recall: Latency(recall), Guard: Latency(guard), Record: Latency(record)}
	if totalSteps > 0 {
		m.Overhead.PerStep = (m.Overhead.Recall.Total + m.Overhead.Guard.Total + m.Overhead.Record.Total) / time.Duration(totalSteps)
	}
	return m
}

// Curve returns success rates over consecutive windows of episodes; the
// last window may be shorter.
func Curve(eps []EpisodeResult, window int) []CurvePoint {
	var out []CurvePoint
	for start := 0; start < len(eps); start += window {
		end := min(start+window, len(eps))
		var ok, long, longOK int
		for _, e := range eps[start:end] {
			if e.Success {
				ok++
			}
			if e.Long {
				long++
				if e.Success {
					longOK++
				}
			}
		}
		out = append(out, CurvePoint{Start: start, End: end, Success: rate(ok, end-start), LongSuccess: rate(longOK, long)})
	}
	return out
}

// Tail returns the episodes from position from on, to measure an arm once it
// had time to learn.
func Tail(eps []EpisodeResult, from int) []EpisodeResult {
	return eps[min(max(from, 0), len(eps)):]
}

// Comparison is an arm measured against the no-memory baseline, with the
// issue's targets.
type Comparison struct {
	LongHorizonPP        float64 // long-horizon success difference, percentage points
	SuccessPP            float64
	FRR                  float64 // the arm's
	RMR                  float64 // the arm's
	StepsPerSuccessDelta float64 // relative change: -0.25 is 25% fewer steps
	StepsPerSolvedDelta  float64 // the same for the steps of solved episodes
	Met                  map[string]bool
}

// Targets are the goals for the full arm versus no memory.
type Targets struct {
	LongHorizonPP   float64 // at least
	FRR             float64 // at least
	RMR             float64 // at most
	StepsReduction  float64 // at least this relative reduction
	ForgettingPoint float64 // at most, percentage points (checked by the caller)
}

// DefaultTargets are the numbers.
var DefaultTargets = Targets{LongHorizonPP: 30, FRR: 0.60, RMR: 0.10, StepsReduction: 0.25, ForgettingPoint: 3}

// Compare measures arm against base and checks the targets.
func Compare(base, arm Metrics, t Targets) Comparison {
	c := Comparison{
		LongHorizonPP: 100 * (arm.LongHorizon.Rate - base.LongHorizon.Rate),
		SuccessPP:     100 * (arm.Success.Rate - base.Success.Rate),
		FRR:           arm.FRR.Rate, RMR: arm.RMR.Rate,
	}
	if base.StepsPerSuccess > 0 {
		c.StepsPerSuccessDelta = arm.StepsPerSuccess/base.StepsPerSuccess - 1
	}
	if base.StepsPerSolved > 0 {
		c.StepsPerSolvedDelta = arm.StepsPerSolved/base.StepsPerSolved - 1
	}
	c.Met = map[string]bool{
		"long_horizon_pp":   c.LongHorizonPP >= t.LongHorizonPP,
		"frr":               c.FRR >= t.FRR,
		"rmr":               c.RMR <= t.RMR,
		"steps_per_success": -c.StepsPerSuccessDelta >= t.StepsReduction,
	}
	return c
}

// Families returns the families present in eps, sorted.
func Families(eps []EpisodeResult) []string {
	seen := map[string]bool{}
	for _, e := range eps {
		seen[e.Family] = true
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}
