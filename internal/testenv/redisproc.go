package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// RedisProcess is a redis-server of one test's own, for fault tests that
// freeze, kill or restart it without disturbing the shared test Redis.
type RedisProcess struct {
	URL  string
	addr string
	args []string
	bin  string
	cmd  *exec.Cmd
}

// PrivateRedis starts a redis-server (no persistence) on a free loopback
// port and kills it when the test ends. Without redis-server on PATH the
// test skips on a developer's machine and fails under CI=true.
func PrivateRedis(t testing.TB) *RedisProcess {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server is not on PATH: run the tests with `make test`, which installs it")
		}
		t.Skip("redis-server is not on PATH: run `make test` to install it")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	r := &RedisProcess{addr: fmt.Sprintf("127.0.0.1:%d", port)}
	r.URL = "redis://" + r.addr + "/0"
	r.bin = bin
	r.args = []string{"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--loglevel", "warning"}
	t.Cleanup(r.Kill)
	r.start(t)
	return r
}

func (r *RedisProcess) start(t testing.TB) {
	t.Helper()
	r.cmd = exec.Command(r.bin, r.args...)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: redis-server on %s did not start: %v", r.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart kills the server if it runs and starts a new one on the same
// address, empty (no persistence): every stream, consumer group and key is
// gone, as after a Redis that lost its data.
func (r *RedisProcess) Restart(t testing.TB) {
	t.Helper()
	r.Kill()
	r.start(t)
}

// Freeze stops the process (SIGSTOP): connections still open, nothing
// answers, as with a Redis stuck on a slow disk or a lost network.
func (r *RedisProcess) Freeze() { _ = r.cmd.Process.Signal(syscall.SIGSTOP) }

// Thaw resumes a frozen process.
func (r *RedisProcess) Thaw() { _ = r.cmd.Process.Signal(syscall.SIGCONT) }

// Kill ends the process (connections are refused from then on).
func (r *RedisProcess) Kill() {
	if r.cmd.ProcessState != nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
}
