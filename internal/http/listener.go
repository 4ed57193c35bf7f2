package http

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/admem/admem"
)

// Listener wraps ln so that the errors net/http answers by itself, before
// any handler runs (a malformed request line or header, a NUL or a bare CR
// in a header, headers too large, an unsupported transfer encoding), reach
// the client as problem+json like every other error instead of net/http's
// text/plain. net/http offers no hook for these: it writes them straight to
// the connection in one fixed shape, which the wrapper recognises and
// replaces. Use it for cleartext HTTP/1.x; under TLS net/http writes through
// the TLS connection, out of the wrapper's sight.
func (s *Server) Listener(ln net.Listener) net.Listener { return problemListener{ln, s} }

type problemListener struct {
	net.Listener
	s *Server
}

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c, s: l.s}, nil
}

type problemConn struct {
	net.Conn
	s *Server
}

func (c *problemConn) Write(b []byte) (int, error) {
	if p, status, ok := rewriteServerError(b); ok {
		c.s.metrics.requests.WithLabelValues("", "unparsed", strconv.Itoa(status)).Inc()
		if _, err := c.Conn.Write(p); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	return c.Conn.Write(b)
}

// CloseWrite lets net/http half-close the connection after a 431, so the
// client reads the answer before the reset.
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// serverErrorHead is what net/http writes between the status line and the
// body of the errors it answers itself (server.go, conn.serve). A response
// of a handler always has a Date header, so it never has this shape.
const serverErrorHead = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// rewriteServerError turns one of net/http's own error responses into
// problem+json; ok is false for anything else.
func rewriteServerError(b []byte) (out []byte, status int, ok bool) {
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 ")) || len(b) > 1024 {
		return nil, 0, false
	}
	line, body, found := bytes.Cut(b, []byte(serverErrorHead))
	if !found || bytes.Contains(line, []byte("\r\n")) || len(line) < 12 {
		return nil, 0, false
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil || status < 400 {
		return nil, 0, false
	}
	code, detail := admem.EMALFORMED, "the request is malformed"
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		code, detail = admem.ETOOLARGE, "the request headers are too large"
	case http.StatusNotImplemented:
		code, detail = "not_implemented", "unsupported transfer encoding"
	case http.StatusHTTPVersionNotSupported:
		detail = "unsupported HTTP version"
	}
	// Their reasons are fixed texts ("invalid header value"), never the
	// request's own bytes.
	if _, reason, has := strings.Cut(string(body), ": "); has {
		detail = reason
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	p := Problem{Type: "urn:admem:problem:" + code, Title: http.StatusText(status), Status: status, Detail: detail,
		Code: code, RequestID: hex.EncodeToString(id)}
	js, _ := json.Marshal(p)
	var w bytes.Buffer
	fmt.Fprintf(&w, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\n"+
		"X-Request-Id: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", status, http.StatusText(status), p.RequestID, len(js))
	w.Write(js)
	return w.Bytes(), status, true
}
