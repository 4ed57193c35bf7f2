package benchkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/admem/admem/client"
)

// ErrNotCaughtUp is returned by WaitLearning when the tenant still had
// pending events at the deadline.
var ErrNotCaughtUp = errors.New("learning did not catch up")

// LearningWait says how to wait for one tenant's learning to catch up.
type LearningWait struct {
	// Label prefixes the progress lines ("" prints none).
	Label string
	// Timeout bounds the wait (0: 10 minutes).
	Timeout time.Duration
	// Progress receives a line every few seconds of a long wait (nil:
	// stderr).
	Progress io.Writer
}

// progressAfter is how long a wait goes on before it reports progress, and
// then how often: short waits, the usual case, print nothing.
const progressAfter = 5 * time.Second

// WaitLearning polls GET /v1/learning/status with the tenant's credentials
// (carried by c or editors) until none of the tenant's events is pending:
// every event its trajectories caused, and those learning from them caused
// in turn, has been committed by every consumer of the worker. It only
// looks at this tenant, so another tenant's backlog (a benchmark run
// before, another arm) neither ends the wait early nor counts against it.
// Polls start fast, as the worker usually catches up within a second, and
// back off to one a second. At the deadline it returns the last status and
// ErrNotCaughtUp.
func WaitLearning(ctx context.Context, c client.ClientWithResponsesInterface, w LearningWait, editors ...client.RequestEditorFn) (client.LearningStatus, error) {
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	out := w.Progress
	if out == nil {
		out = os.Stderr
	}
	start := time.Now()
	deadline := start.Add(timeout)
	nextReport := start.Add(progressAfter)
	pause := 20 * time.Millisecond
	for {
		r, err := c.GetLearningStatusWithResponse(ctx, editors...)
		if err != nil {
			return client.LearningStatus{}, fmt.Errorf("learning status: %w", err)
		}
		if r.JSON200 == nil {
			return client.LearningStatus{}, fmt.Errorf("learning status: %d %s", r.StatusCode(), bytes.TrimSpace(r.Body))
		}
		st := *r.JSON200
		now := time.Now()
		if st.PendingEvents == 0 {
			if w.Label != "" && now.Sub(start) >= progressAfter {
				fmt.Fprintf(out, "[%s] learning caught up after %s\n", w.Label, now.Sub(start).Round(time.Second))
			}
			return st, nil
		}
		if !now.Before(deadline) {
			return st, fmt.Errorf("%w within %s: %s", ErrNotCaughtUp, timeout, describePending(st, now))
		}
		if w.Label != "" && !now.Before(nextReport) {
			fmt.Fprintf(out, "[%s] waiting for learning: %s, waited %s\n", w.Label, describePending(st, now), now.Sub(start).Round(time.Second))
			nextReport = now.Add(progressAfter)
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(min(pause, time.Until(deadline))):
		}
		pause = min(2*pause, time.Second)
	}
}

func describePending(st client.LearningStatus, now time.Time) string {
	s := fmt.Sprintf("%d events pending", st.PendingEvents)
	if st.OldestPendingAt != nil {
		s += fmt.Sprintf(", the oldest written %s ago", now.Sub(*st.OldestPendingAt).Round(time.Second))
	}
	return s
}
