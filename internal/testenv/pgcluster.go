package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem/internal/store"
	"github.com/jackc/pgx/v5"
)

// PGCluster is a Postgres server of one test's own (initdb'd data folder,
// loopback port), for fault tests that stop, restart or restore it without
// disturbing the shared test Postgres. It holds the migrated admem database.
type PGCluster struct {
	Postgres // the admem database: AppURL (application role) and OwnerURL (superuser)
	// AdminURL connects to the maintenance database as the superuser.
	AdminURL string
	dir      string
	port     int
	mu       sync.Mutex
}

// Cluster settings shared by every private cluster.
const (
	pgSuperPassword = "faults-super-password"
	pgAppPassword   = "faults-app-password"
	pgDatabase      = "admem"
)

var (
	goldenOnce sync.Once
	goldenDir  string
	goldenErr  error
)

func pgBin() string {
	if d := os.Getenv("PG_BIN"); d != "" {
		return d
	}
	return "/usr/lib/postgresql/15/bin"
}

// asService runs a Postgres tool as the unprivileged service user when the
// tests run as root (Postgres refuses root), as scripts/stack.sh does.
func asService(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", serviceUser(), "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func serviceUser() string {
	if u := os.Getenv("ADMEM_SERVICE_USER"); u != "" {
		return u
	}
	return "admem"
}

// giveToService makes dir (and everything in it) the service user's.
func giveToService(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup(serviceUser())
	if err != nil {
		return fmt.Errorf("service user %s: %w (scripts/stack.sh creates it)", serviceUser(), err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// PrivatePostgres starts a Postgres cluster of this test's own on a free
// loopback port, holding a migrated admem database, and removes it when the
// test ends. The first call in a test binary makes a migrated cluster that
// later calls copy (initdb and migrations once). Without Postgres's
// programs the test skips on a developer's machine and fails under CI=true.
func PrivatePostgres(t testing.TB) *PGCluster {
	t.Helper()
	goldenOnce.Do(func() { goldenDir, goldenErr = makeGolden() })
	if goldenErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("testenv: private Postgres: %v", goldenErr)
		}
		t.Skipf("testenv: private Postgres: %v", goldenErr)
	}
	parent, err := os.MkdirTemp("", "admem-pg-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		t.Fatal(err)
	}
	c := &PGCluster{dir: filepath.Join(parent, "data"), port: FreePort(t)}
	if out, err := exec.Command("cp", "-a", goldenDir, c.dir).CombinedOutput(); err != nil {
		t.Fatalf("testenv: copy the cluster: %v\n%s", err, out)
	}
	c.setURLs()
	t.Cleanup(func() {
		_ = asService(filepath.Join(pgBin(), "pg_ctl"), "-D", c.dir, "-m", "immediate", "-w", "stop").Run()
		_ = os.RemoveAll(parent)
	})
	if err := c.Start(); err != nil {
		t.Fatalf("testenv: start private Postgres: %v", err)
	}
	return c
}

func (c *PGCluster) setURLs() {
	base := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/postgres?sslmode=disable", pgSuperPassword, c.port)
	c.AdminURL = base
	c.Postgres = Postgres{
		AppURL:   withDB(base, pgDatabase, "admem_api", pgAppPassword),
		OwnerURL: withDB(base, pgDatabase, "", ""),
		Name:     pgDatabase,
	}
}

// Start starts the server and waits until it accepts connections.
func (c *PGCluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, err := asService(filepath.Join(pgBin(), "pg_ctl"), "-D", c.dir, "-l", filepath.Join(c.dir, "server.log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s", c.port, c.dir), "start").CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// Stop stops the server: mode "fast" (clients are disconnected, a clean
// shutdown) or "immediate" (as a crash: recovery at the next start).
func (c *PGCluster) Stop(mode string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	out, err := asService(filepath.Join(pgBin(), "pg_ctl"), "-D", c.dir, "-m", mode, "-w", "-t", "60", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop -m %s: %v\n%s", mode, err, out)
	}
	return nil
}

// Dump writes a pg_dump (custom format) of the admem database to a file
// and returns its path.
func (c *PGCluster) Dump(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "admem.dump")
	cmd := exec.Command(filepath.Join(pgBin(), "pg_dump"), "-Fc", "-f", path, "-h", "127.0.0.1", "-p", strconv.Itoa(c.port),
		"-U", "postgres", pgDatabase)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pgSuperPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: pg_dump: %v\n%s", err, out)
	}
	return path
}

// Restore replaces the admem database with the dump at path, as an
// operator restoring a backup does: the database is dropped (its clients'
// connections are cut) and made again from the dump.
func (c *PGCluster) Restore(t testing.TB, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		t.Fatalf("testenv: restore: %v", err)
	}
	defer conn.Close(ctx)
	for _, q := range []string{`DROP DATABASE ` + pgDatabase + ` WITH (FORCE)`, `CREATE DATABASE ` + pgDatabase} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("testenv: restore: %s: %v", q, err)
		}
	}
	cmd := exec.CommandContext(ctx, filepath.Join(pgBin(), "pg_restore"), "--exit-on-error", "-h", "127.0.0.1", "-p", strconv.Itoa(c.port),
		"-U", "postgres", "-d", pgDatabase, path)
	cmd.Env = append(os.Environ(), "PGPASSWORD="+pgSuperPassword)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("testenv: pg_restore: %v\n%s", err, out)
	}
}

// makeGolden initdb's a cluster, creates the roles and the migrated admem
// database, and stops it; tests copy its folder.
func makeGolden() (string, error) {
	if _, err := os.Stat(filepath.Join(pgBin(), "initdb")); err != nil {
		return "", fmt.Errorf("no initdb in %s (set PG_BIN): %w", pgBin(), err)
	}
	parent, err := os.MkdirTemp("", "admem-pg-golden-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(parent, 0o755); err != nil {
		return "", err
	}
	dir := filepath.Join(parent, "data")
	pw := filepath.Join(parent, "pw")
	if err := os.WriteFile(pw, []byte(pgSuperPassword+"\n"), 0o600); err != nil {
		return "", err
	}
	if err := giveToService(parent); err != nil {
		return "", err
	}
	if out, err := asService(filepath.Join(pgBin(), "initdb"), "-D", dir, "-U", "postgres", "--auth-local=peer",
		"--auth-host=scram-sha-256", "--pwfile="+pw, "-E", "UTF8", "--locale=C.UTF-8", "-N").CombinedOutput(); err != nil {
		return "", fmt.Errorf("initdb: %v\n%s", err, out)
	}
	_ = os.Remove(pw)
	// Throwaway data: durability costs time and buys nothing, except that
	// a crash (pg_ctl stop -m immediate) must still recover what was
	// committed, which fsync = off keeps as long as the machine stays up.
	conf := "listen_addresses = '127.0.0.1'\nmax_connections = 100\nshared_buffers = 32MB\nfsync = off\n" +
		"full_page_writes = off\nlog_min_messages = warning\n"
	f, err := os.OpenFile(filepath.Join(dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(conf)
	f.Close()
	if err != nil {
		return "", err
	}
	if err := giveToService(dir); err != nil {
		return "", err
	}
	c := &PGCluster{dir: dir}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	c.port = port
	c.setURLs()
	if err := c.Start(); err != nil {
		return "", err
	}
	defer c.Stop("fast") //nolint:errcheck
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.AdminURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	for _, q := range []string{
		`CREATE ROLE admem_app NOLOGIN NOSUPERUSER NOBYPASSRLS`,
		`CREATE ROLE admem_api LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE IN ROLE admem_app PASSWORD '` + pgAppPassword + `'`,
		`CREATE DATABASE ` + pgDatabase,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return "", fmt.Errorf("%s: %w", q, err)
		}
	}
	if _, err := store.Migrate(c.OwnerURL); err != nil {
		return "", fmt.Errorf("migrate: %w", err)
	}
	return dir, nil
}
