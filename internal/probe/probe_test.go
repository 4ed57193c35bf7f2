package probe

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReady(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	ctx := context.Background()
	for _, addr := range []string{"127.0.0.1:" + port, "0.0.0.0:" + port, ":" + port} {
		if err := Ready(ctx, addr); err != nil {
			t.Errorf("%s: %v", addr, err)
		}
	}
	status = http.StatusServiceUnavailable
	if err := Ready(ctx, "127.0.0.1:"+port); err == nil {
		t.Error("a 503 passed the probe")
	}
	srv.Close()
	if err := Ready(ctx, "127.0.0.1:"+port); err == nil {
		t.Error("nothing listening passed the probe")
	}
	if err := Ready(ctx, "no-port"); err == nil {
		t.Error("an address without a port passed")
	}
}
