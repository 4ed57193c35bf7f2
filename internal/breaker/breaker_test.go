package breaker

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestOpensAfterThresholdAndProbeCloses(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	var probes atomic.Int32
	changes := make(chan bool, 4)
	b := New(3, time.Millisecond, func(ctx context.Context) error {
		if !IsProbe(ctx) {
			t.Error("the probe's context is not marked")
		}
		probes.Add(1)
		if healthy.Load() {
			return nil
		}
		return errors.New("down")
	}, func(open bool) { changes <- open })
	defer b.Stop()
	boom := errors.New("timeout")

	b.Record(boom)
	b.Record(boom)
	b.Record(nil) // a success resets the count
	b.Record(boom)
	b.Record(boom)
	if b.Allow() != nil {
		t.Fatal("open before 3 failures in a row")
	}
	b.Record(boom)
	if !errors.Is(b.Allow(), ErrOpen) {
		t.Fatal("not open after 3 failures in a row")
	}
	if open, why := b.Open(); !open || why == nil {
		t.Fatalf("Open() = %v, %v", open, why)
	}
	if !<-changes {
		t.Fatal("onChange did not hear the opening")
	}
	for probes.Load() < 2 { // the probe keeps failing: still open
		time.Sleep(time.Millisecond)
	}
	if b.Allow() == nil {
		t.Fatal("closed while the probe fails")
	}
	healthy.Store(true)
	if <-changes {
		t.Fatal("onChange heard a second opening")
	}
	if b.Allow() != nil {
		t.Fatal("still open after a successful probe")
	}
	// It opens again the same way (and the healthy probe closes it again).
	for i := 0; i < 3; i++ {
		b.Record(boom)
	}
	if !<-changes || <-changes {
		t.Fatal("did not open and close a second time")
	}
}
