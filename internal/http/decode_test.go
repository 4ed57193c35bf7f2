package http

import (
	"testing"

	"github.com/admem/admem"
)

// FuzzDecode checks that no request body makes the decoder panic, and that
// every rejection is a client error with a code the error table knows.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"name":"x","scopes":["read"]}`, `{"name":`, `[]`, `{"colour":1}`, `{"name":1}`, `{} {}`, "", "\x00", `{"expires_at":"yesterday"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v createKeyRequest
		err := decodeBytes(body, &v)
		if err == nil {
			return
		}
		code := admem.ErrorCode(err)
		if status, ok := statusOf[code]; !ok || status >= 500 {
			t.Fatalf("body %q: error %v maps to %d (code %s)", body, err, status, code)
		}
	})
}
