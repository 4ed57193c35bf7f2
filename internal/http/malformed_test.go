package http_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/admem/admem/internal/apitest"
)

// TestMalformedRequestsGetProblems sends, over a raw connection, requests
// that net/http refuses before any handler runs, and bytes a client library
// would not send. Every answer must be a problem+json of the right status.
func TestMalformedRequestsGetProblems(t *testing.T) {
	t.Parallel()
	env := apitest.New(t)
	_, admin := env.Tenant(t, "malformed")
	u, _ := url.Parse(env.URL)
	auth := "Authorization: Bearer " + admin + "\r\n"
	cases := []struct {
		name   string
		raw    string
		status int
	}{
		{"NUL in a header value", "GET /v1/me HTTP/1.1\r\nHost: x\r\n" + auth + "X-Note: a\x00b\r\n\r\n", 400},
		{"NUL in Idempotency-Key", "POST /v1/entries HTTP/1.1\r\nHost: x\r\n" + auth + "Idempotency-Key: k\x00\r\nContent-Length: 2\r\n\r\n{}", 400},
		{"CR in a header value", "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Note: a\rb\r\n\r\n", 400},
		{"space in a header name", "GET /v1/me HTTP/1.1\r\nHost: x\r\nBad Name: x\r\n\r\n", 400},
		{"byte 0xff in a header name", "GET /v1/me HTTP/1.1\r\nHost: x\r\n\xff: x\r\n\r\n", 400},
		{"no Host", "GET /v1/me HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET /v1/me HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"garbage request line", "GARBAGE\r\n\r\n", 400},
		{"bad percent-encoding in the path", "GET /v1/%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"control byte in the path", "GET /v1/\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
		{"negative Content-Length", "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400},
		{"two Content-Lengths", "POST /v1/entries HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n{}", 400},
		{"folded header (net/http unfolds it)", "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 401},
		{"unknown HTTP version", "GET /v1/me HTTP/9.9\r\nHost: x\r\n\r\n", 505},
		{"unsupported transfer encoding", "POST /v1/entries HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501},
		{"headers too large", "GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 2<<20) + "\r\n\r\n", 431},
		// These reach the API: bytes from 0x80 up are legal in a header.
		{"invalid UTF-8 in Idempotency-Key", "POST /v1/entries HTTP/1.1\r\nHost: x\r\n" + auth + "Idempotency-Key: \xff\xfe\r\nContent-Length: 15\r\n\r\n{\"content\":\"x\"}", 422},
		{"invalid UTF-8 in a query value", "GET /v1/trajectories?agent_id=%C3%28 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 422},
		{"NUL in a query value", "GET /v1/audit?action=%00 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 422},
		{"bad escape in the query", "GET /v1/entries?key=%zz HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400},
		{"NUL in the path", "GET /v1/entries/%00 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", 400},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		go func() { _, _ = io.WriteString(conn, c.raw) }() // a 431 may come before the request is all sent
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%s: read response: %v", c.name, err)
			conn.Close()
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		conn.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: status %d, want %d: %s", c.name, resp.StatusCode, c.status, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: content type %q, body %q", c.name, ct, body)
			continue
		}
		if err := apitest.ValidateProblem(body); err != nil {
			t.Errorf("%s: %v: %s", c.name, err, body)
		}
	}
}
