package store

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/admem/admem"
)

func TestCursors(t *testing.T) {
	t.Parallel()
	at := time.UnixMicro(1_700_000_000_123_456)
	id := "0b6f2c1e-8f5a-4c1d-9a57-3f1c2d4e5f60"
	ts, gotID, err := decodeTimeCursor(encodeTimeCursor(at, id))
	if err != nil || !ts.Equal(at) || gotID != id {
		t.Fatalf("time cursor round trip: %v %v %v", ts, gotID, err)
	}
	if n, err := decodeIDCursor(encodeIDCursor(42)); err != nil || n != 42 {
		t.Fatalf("id cursor round trip: %d %v", n, err)
	}
	if n, err := decodeIDCursor(""); err != nil || n != 0 {
		t.Fatalf("first page: %d %v", n, err)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, bad := range []string{"%%", b64("nocolon"), b64("abc:" + id), b64("1700000000:"), b64("1700000000:not-a-uuid"), b64("1:2) OR true --")} {
		if _, _, err := decodeTimeCursor(bad); admem.ErrorCode(err) != admem.EINVALID {
			t.Errorf("time cursor %q: %v, want a validation error", bad, err)
		}
	}
	for _, bad := range []string{"%%", b64("-3"), b64("0"), b64("x")} {
		if _, err := decodeIDCursor(bad); admem.ErrorCode(err) != admem.EINVALID {
			t.Errorf("id cursor %q: %v, want a validation error", bad, err)
		}
	}
}
