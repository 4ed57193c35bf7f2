package events

import (
	"reflect"
	"testing"
	"time"

	"github.com/admem/admem"
)

// FuzzDecode feeds arbitrary stream entries to the decoder: it must never
// panic, must reject entries without id, tenant or type, and must read back
// exactly what encode wrote.
func FuzzDecode(f *testing.F) {
	f.Add("e1", "t1", "step.failed", "s1", `{"step_index":3}`, "2026-01-02T03:04:05.123456789Z")
	f.Add("", "t", "x", "", "", "")
	f.Add("e", "t", "x", "", "{", "yesterday")
	f.Add("e", "t", "x", "", `[1,2]`, "")
	f.Fuzz(func(t *testing.T, id, tenant, typ, subject, payload, created string) {
		ev, err := decode(map[string]any{fieldID: id, fieldTenant: tenant, fieldType: typ, fieldSubject: subject,
			fieldPayload: payload, fieldCreated: created})
		if (id == "" || tenant == "" || typ == "") && err == nil {
			t.Fatalf("accepted an entry without id, tenant or type: %+v", ev)
		}
		if err != nil {
			return
		}
		values, err := encode(ev)
		if err != nil {
			t.Fatalf("encode a decoded event: %v", err)
		}
		again, err := decode(values)
		if err != nil {
			t.Fatalf("decode(encode(e)): %v", err)
		}
		if again.ID != ev.ID || again.TenantID != ev.TenantID || again.Type != ev.Type || again.SubjectID != ev.SubjectID ||
			!again.CreatedAt.Equal(ev.CreatedAt) {
			t.Fatalf("round trip changed the event: %+v → %+v", ev, again)
		}
	})
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	ev := admem.Event{ID: "0b6a1f7e-0000-4000-8000-000000000001", TenantID: "t", Type: admem.EventStepFailed, SubjectID: "s",
		Payload: map[string]any{"step_index": float64(2), "action": "a"}, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	values, err := encode(ev)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decode(values)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, ev) {
		t.Fatalf("got %+v, want %+v", got, ev)
	}
}
