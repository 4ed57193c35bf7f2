// Package probe is the container health check of the binaries: `api
// healthcheck` and `worker healthcheck` ask the process's own /readyz, so an
// image without a shell or curl (distroless) can still be probed.
package probe

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Ready asks http://addr/readyz and returns nil on a 200. addr is a listen
// address (ADMEM_HTTP_ADDR, ADMEM_WORKER_ADDR); an unspecified host (0.0.0.0,
// ::, empty) is asked on the loopback.
func Ready(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("probe: address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("probe: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probe: %s answered %s", req.URL, resp.Status)
	}
	return nil
}
