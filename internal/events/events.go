// Package events moves outbox events to the worker without losing or
// doubling any effect. The Relay claims pending outbox rows of every tenant
// (FOR UPDATE SKIP LOCKED, so several replicas share the work), appends them
// to a Redis stream and marks them relayed in the same transaction: a crash
// in between relays them again, never loses them, and if Redis is down they
// wait in Postgres. The Consumer reads the stream with a consumer group,
// hands each event to a handler that commits its effect together with a
// processed-event record (so a second delivery changes nothing),
// acknowledges only after that commit, reclaims entries a dead consumer
// left pending (XAUTOCLAIM), and moves an event that keeps failing to a
// dead-letter stream and table. Monitor exports queue depth and lag.
//
// The relay marks each event with the ledger names of the consumers that
// must finish it (Consumers, the one list of them); each consumer settles
// its name once the event's effect committed or it gave the event up, so
// Status can tell a tenant how many of its events are still pending.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/admem/admem"
)

// Config names the stream and tunes the pipeline.
type Config struct {
	Stream      string        // the event stream's key
	DeadStream  string        // the dead-letter stream's key
	Group       string        // the consumer group
	Consumer    string        // this consumer's name, unique per process
	Batch       int           // events per relay transaction and per read
	Block       time.Duration // how long a read waits for new events
	ClaimIdle   time.Duration // entries pending this long belong to a dead consumer
	MaxAttempts int           // deliveries before an event is dead-lettered
	MaxLen      int64         // approximate stream length kept (0: unbounded)
	Poll        time.Duration // relay pause when the outbox is empty
	// LostAfter is how long a relayed, unsettled event is left alone
	// before the stream recovery checks that the stream still delivers it.
	LostAfter time.Duration
	// Ledger is the consumer's name in the processed-event ledger: once
	// its handler committed an event's effect (or it dead-lettered the
	// event) the consumer settles the event under this name, so the
	// learning status stops waiting for it. Empty: it settles nothing.
	Ledger string
	// Await lists, for the relay, the ledger names of the consumers that
	// each relayed event waits for (the consumers this process runs).
	Await []string
}

// DefaultConfig returns the defaults under a Redis key prefix, for the
// learner's consumer group (without its ledger name: the worker sets Ledger
// and Await for the consumers it runs).
func DefaultConfig(prefix, consumer string) Config {
	return Config{
		Stream:      prefix + "events",
		DeadStream:  prefix + "events:dead",
		Group:       Learner.Group,
		Consumer:    consumer,
		Batch:       200,
		Block:       time.Second,
		ClaimIdle:   30 * time.Second,
		MaxAttempts: 5,
		MaxLen:      1_000_000,
		Poll:        200 * time.Millisecond,
		LostAfter:   10 * time.Second,
	}
}

// Handler applies one event's effect. It must be idempotent: the same event
// may be delivered again after a crash, and must then change nothing.
type Handler func(ctx context.Context, ev admem.Event) error

// BatchHandler applies events read together (in stream order) and returns
// one error per event: nil when its effect committed. A handler may commit
// several events in one transaction; each event's effect still commits
// once, however often it is delivered.
type BatchHandler func(ctx context.Context, evs []admem.Event) []error

// Batch turns a handler of one event into a BatchHandler.
func (h Handler) Batch() BatchHandler {
	return func(ctx context.Context, evs []admem.Event) []error {
		errs := make([]error, len(evs))
		for i, ev := range evs {
			errs[i] = h(ctx, ev)
		}
		return errs
	}
}

// Stream entry fields.
const (
	fieldID      = "id"
	fieldTenant  = "tenant"
	fieldType    = "type"
	fieldSubject = "subject"
	fieldPayload = "payload"
	fieldCreated = "created"
)

func encode(e admem.Event) (map[string]any, error) {
	p, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, err
	}
	return map[string]any{fieldID: e.ID, fieldTenant: e.TenantID, fieldType: e.Type, fieldSubject: e.SubjectID,
		fieldPayload: string(p), fieldCreated: e.CreatedAt.UTC().Format(time.RFC3339Nano)}, nil
}

var errMalformed = errors.New("events: malformed stream entry")

func decode(values map[string]any) (admem.Event, error) {
	str := func(k string) string {
		s, _ := values[k].(string)
		return s
	}
	e := admem.Event{ID: str(fieldID), TenantID: str(fieldTenant), Type: str(fieldType), SubjectID: str(fieldSubject)}
	if e.ID == "" || e.TenantID == "" || e.Type == "" {
		return e, fmt.Errorf("%w: missing id, tenant or type", errMalformed)
	}
	if p := str(fieldPayload); p != "" {
		if err := json.Unmarshal([]byte(p), &e.Payload); err != nil {
			return e, fmt.Errorf("%w: payload: %v", errMalformed, err)
		}
	}
	if c := str(fieldCreated); c != "" {
		t, err := time.Parse(time.RFC3339Nano, c)
		if err != nil {
			return e, fmt.Errorf("%w: created: %v", errMalformed, err)
		}
		e.CreatedAt = t
	}
	return e, nil
}
