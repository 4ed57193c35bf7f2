package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem/internal/testenv"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func testVars(t *testing.T) map[string]string {
	pg := testenv.DB(t)
	redisURL, prefix := testenv.Redis(t)
	return map[string]string{
		"ADMEM_DATABASE_URL":         pg.AppURL,
		"ADMEM_MIGRATE_DATABASE_URL": pg.OwnerURL,
		"ADMEM_REDIS_URL":            redisURL,
		"ADMEM_REDIS_PREFIX":         prefix,
		"ADMEM_JWT_SECRET":           strings.Repeat("k", 40),
		"ADMEM_HTTP_ADDR":            "127.0.0.1:0",
	}
}

// start runs the binary's run() and returns the address it listens on and a
// function that stops it and returns run's error.
func start(t *testing.T, vars map[string]string, out io.Writer) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, []string{"serve"}, func(k string) string { return vars[k] }, out, ready) }()
	select {
	case addr := <-ready:
		return addr, func() error { cancel(); return <-errc }
	case err := <-errc:
		cancel()
		t.Fatalf("run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the API did not start")
	}
	return "", nil
}

func TestRunServesBootstrapsAndShutsDown(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	metricsAddr := freeAddr(t)
	vars["ADMEM_METRICS_ADDR"] = metricsAddr
	var out syncBuffer
	if err := run(context.Background(), []string{"migrate"}, func(k string) string { return vars[k] }, &out, nil); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	addr, stop := start(t, vars, &out)
	key := regexp.MustCompile(`adm_[a-z0-9]{10}_[A-Za-z0-9]{43}`).FindString(out.String())
	if key == "" {
		t.Fatalf("no bootstrap key printed:\n%s", out.String())
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/v1/me with the bootstrap key: %d", resp.StatusCode)
	}
	// The container's health check asks the same process's /readyz.
	if err := run(context.Background(), []string{"healthcheck"}, func(k string) string { return map[string]string{"ADMEM_HTTP_ADDR": addr}[k] }, io.Discard, nil); err != nil {
		t.Fatalf("healthcheck of a running API: %v", err)
	}
	// Metrics span every tenant: on the API port only with a platform key,
	// on ADMEM_METRICS_ADDR without credentials.
	for _, c := range []struct {
		url, cred string
		status    int
	}{{"http://" + addr + "/metrics", "", 401}, {"http://" + addr + "/metrics", key, 200}, {"http://" + metricsAddr + "/metrics", "", 200}} {
		req, _ := http.NewRequest("GET", c.url, nil)
		if c.cred != "" {
			req.Header.Set("Authorization", "Bearer "+c.cred)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || c.status == 200 && !strings.Contains(string(body), "admem_http_requests_total") {
			t.Fatalf("%s (credential %v): %d, want %d", c.url, c.cred != "", resp.StatusCode, c.status)
		}
	}
	// Profiles: on the private listener only.
	for _, c := range []struct {
		url    string
		public bool
	}{{"http://" + metricsAddr + "/debug/pprof/", false}, {"http://" + addr + "/debug/pprof/", true}} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		served := resp.StatusCode == 200 && strings.Contains(string(body), "profile")
		if served == c.public {
			t.Fatalf("%s: %d, served %v", c.url, resp.StatusCode, served)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// A second start reuses the data: no new key is printed.
	before := strings.Count(out.String(), "ADMEM PLATFORM ADMIN KEY")
	_, stop = start(t, vars, &out)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "ADMEM PLATFORM ADMIN KEY"); n != before {
		t.Fatalf("the key was printed again on the second start (%d times)", n)
	}
	// Secrets never reach the log.
	if strings.Contains(out.String(), vars["ADMEM_JWT_SECRET"]) || strings.Contains(out.String(), "ADMEM_DATABASE_URL") && strings.Contains(out.String(), "admem_api:"+"x") {
		t.Fatal("a secret was logged")
	}
}

// freeAddr returns a loopback address no one listens on (for a moment).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestRunRejectsBadConfig(t *testing.T) {
	t.Parallel()
	err := run(context.Background(), nil, func(k string) string {
		return map[string]string{"ADMEM_JWT_SECRET": "short", "ADMEM_LOG_LEVEL": "loud"}[k]
	}, io.Discard, nil)
	for _, want := range []string{"ADMEM_DATABASE_URL", "ADMEM_JWT_SECRET", "ADMEM_LOG_LEVEL"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error %v does not name %s", err, want)
		}
	}
}

func TestRunServesTLSWithHTTP2AndHSTS(t *testing.T) {
	t.Parallel()
	vars := testVars(t)
	dir := t.TempDir()
	certPEM, keyPEM := selfSigned(t)
	vars["ADMEM_TLS_CERT_FILE"] = filepath.Join(dir, "cert.pem")
	vars["ADMEM_TLS_KEY_FILE"] = filepath.Join(dir, "key.pem")
	if err := os.WriteFile(vars["ADMEM_TLS_CERT_FILE"], certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(vars["ADMEM_TLS_KEY_FILE"], keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stop := start(t, vars, io.Discard)
	defer stop()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	resp, err := c.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if !strings.Contains(resp.Header.Get("Strict-Transport-Security"), "max-age=") {
		t.Fatal("no HSTS header over TLS")
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if _, err := old.Get("https://" + addr + "/healthz"); err == nil {
		t.Fatal("TLS 1.1 was accepted")
	}
	// Plain HTTP to the TLS port is refused.
	conn, err := net.Dial("tcp", addr)
	if err == nil {
		conn.Close()
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
