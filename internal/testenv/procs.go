package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binaries are cmd/api and cmd/worker built for fault tests that run them
// as real processes.
type Binaries struct{ API, Worker string }

var (
	binOnce sync.Once
	binDir  string
	bins    Binaries
	binErr  error
)

// Build builds cmd/api and cmd/worker once per test binary (with the race
// detector when the tests have it: the build cache then already holds most
// packages, and a race in a real process fails its test's log). Without
// the go tool the test skips on a developer's machine and fails under
// CI=true.
func Build(t testing.TB) Binaries {
	t.Helper()
	binOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			binErr = fmt.Errorf("the go tool is not on PATH: %w", err)
			return
		}
		root, err := moduleRoot()
		if err != nil {
			binErr = err
			return
		}
		if binDir, err = os.MkdirTemp("", "admem-bin-"); err != nil {
			binErr = err
			return
		}
		args := []string{"build", "-o", binDir}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "./cmd/api", "./cmd/worker")
		cmd := exec.Command(goBin, args...)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		bins = Binaries{API: filepath.Join(binDir, "api"), Worker: filepath.Join(binDir, "worker")}
	})
	if binErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: build the binaries: %v", binErr)
		}
		t.Skipf("testenv: cannot build the binaries: %v", binErr)
	}
	return bins
}

// moduleRoot is the folder of the go.mod above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// FreePort returns a loopback port nothing listens on (another process may
// take it before the caller binds it; tests pick ports this way once).
func FreePort(t testing.TB) int {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Process is one of admem's binaries running as a real process on a
// loopback port, with its output kept for the test's log. It can be killed,
// frozen and restarted with the same configuration and address.
type Process struct {
	Name string
	// Addr is the HTTP address the process serves on (the API port, or the
	// worker's health and metrics port).
	Addr string
	bin  string
	env  []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	out    *tailBuffer
	starts int
}

// StartProcess starts bin with exactly the variables in env (nothing of the
// test's own environment but PATH, HOME and TMPDIR) and waits until GET
// /healthz on addr answers 200. The process is killed when the test ends;
// if the test failed, the tail of its output goes to the test's log.
func StartProcess(t testing.TB, name, bin, addr string, env map[string]string) *Process {
	t.Helper()
	p := &Process{Name: name, Addr: addr, bin: bin, out: &tailBuffer{max: 64 << 10}}
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v := os.Getenv(k); v != "" {
			p.env = append(p.env, k+"="+v)
		}
	}
	for k, v := range env {
		p.env = append(p.env, k+"="+v)
	}
	t.Cleanup(func() {
		p.Kill()
		if p.out.raced() {
			t.Errorf("testenv: the race detector reported a data race in %s", p.Name)
		}
		if t.Failed() {
			t.Logf("--- output of %s (last 64 KiB) ---\n%s", p.Name, p.out.String())
		}
	})
	p.Start(t)
	return p
}

// Start starts the process (again, after Kill) and waits for it to answer.
func (p *Process) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	if p.cmd != nil {
		p.mu.Unlock()
		t.Fatalf("testenv: %s is already running", p.Name)
	}
	p.starts++
	fmt.Fprintf(p.out, "=== start %d ===\n", p.starts)
	cmd := exec.Command(p.bin)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		t.Fatalf("testenv: start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()
	if err := p.WaitHealthy(60 * time.Second); err != nil {
		t.Fatalf("testenv: %s: %v\n%s", p.Name, err, p.out.String())
	}
}

// WaitHealthy waits up to timeout until /healthz answers 200.
func (p *Process) WaitHealthy(timeout time.Duration) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		p.mu.Lock()
		done := p.done
		p.mu.Unlock()
		if done == nil {
			return fmt.Errorf("not running")
		}
		select {
		case <-done:
			return fmt.Errorf("exited before it answered")
		default:
		}
		resp, err := hc.Get("http://" + p.Addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no healthy answer on %s within %v (last error %v)", p.Addr, timeout, err)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// Kill ends the process with SIGKILL (kill -9: no shutdown, no cleanup) and
// waits until it is gone. Killing a stopped process does nothing.
func (p *Process) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-done
}

// Terminate asks the process to shut down (SIGTERM) and waits up to
// timeout, then kills it.
func (p *Process) Terminate(timeout time.Duration) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		p.mu.Lock()
		p.cmd, p.done = nil, nil
		p.mu.Unlock()
	case <-time.After(timeout):
		p.Kill()
	}
}

// Freeze stops the process (SIGSTOP): its sockets stay open and nothing
// answers.
func (p *Process) Freeze() { p.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen process (SIGCONT).
func (p *Process) Thaw() { p.signal(syscall.SIGCONT) }

func (p *Process) signal(s syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		_ = p.cmd.Process.Signal(s)
	}
}

// Running says whether the process has been started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	done := p.done
	p.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// Output returns the tail of what the process wrote.
func (p *Process) Output() string { return p.out.String() }

// Get sends GET http://Addr+path and returns the status and body.
func (p *Process) Get(ctx context.Context, path string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://"+p.Addr+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	return resp.StatusCode, b.Bytes(), err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	buf  []byte
	race bool // the race detector reported a race
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.race = b.race || bytes.Contains(p, []byte("WARNING: DATA RACE"))
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) raced() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.race
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.ToValidUTF8(string(b.buf), "?")
}

// RemoveSharedFiles removes what Build and PrivatePostgres keep for the
// whole test binary (the binaries, the migrated cluster the tests copy).
// A package that uses them calls it from TestMain after m.Run.
func RemoveSharedFiles() {
	if binDir != "" {
		_ = os.RemoveAll(binDir)
	}
	if goldenDir != "" {
		_ = os.RemoveAll(filepath.Dir(goldenDir))
	}
}
