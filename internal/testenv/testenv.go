// Package testenv gives tests their own real services: a fresh Postgres
// database cloned from a migrated template, and a private Redis key prefix.
// The services come from `make test` (scripts/stack.sh up test). Without them
// a test skips on a developer's machine, and fails under CI=true, where a skip
// would hide that nothing ran.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/admem/admem/internal/datafile"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
)

// Postgres holds the connection URLs of one test's private database.
type Postgres struct {
	AppURL   string // as the application role, subject to row-level security
	OwnerURL string // as the owner/superuser: migrations and test set-up only
	Name     string
}

func need(t testing.TB, vars ...string) {
	t.Helper()
	for _, v := range vars {
		if os.Getenv(v) == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not set: run the tests with `make test`, which starts Postgres and Redis", v)
			}
			t.Skipf("%s is not set: run `make test` to start Postgres and Redis", v)
		}
	}
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// DB creates a database for this test from the migrated template and drops it
// when the test ends.
func DB(t testing.TB) Postgres {
	t.Helper()
	need(t, "ADMEM_TEST_ADMIN_URL", "ADMEM_TEST_APP_USER", "ADMEM_TEST_APP_PASSWORD")
	admin := os.Getenv("ADMEM_TEST_ADMIN_URL")
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(admin) })
	if templateErr != nil {
		t.Fatalf("testenv: template database: %v", templateErr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := "admem_t_" + randHex(6)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testenv: connect admin: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("testenv: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Errorf("testenv: drop %s: %v", name, err)
		}
	})
	return Postgres{
		AppURL:   withDB(admin, name, os.Getenv("ADMEM_TEST_APP_USER"), os.Getenv("ADMEM_TEST_APP_PASSWORD")),
		OwnerURL: withDB(admin, name, "", ""),
		Name:     name,
	}
}

// SharedData returns the path of a data set the measurements share: the file
// named by the environment variable envVar when it is set, else rel under
// ../shared/data beside the repository. A missing file skips the test on a
// developer's machine and fails it under CI=true, where the figures it checks
// must not silently go unchecked.
func SharedData(t testing.TB, envVar, rel string) string {
	t.Helper()
	return datafile.Path(t, envVar, rel)
}

// Store opens the database as the application role (row-level security
// applies) and closes it when the test ends.
func (p Postgres) Store(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), p.AppURL, 4)
	if err != nil {
		t.Fatalf("testenv: open store: %v", err)
	}
	t.Cleanup(db.Close)
	return db
}

// Tenant creates an active tenant named name and returns its id.
func Tenant(t testing.TB, db *store.DB, name string) string {
	t.Helper()
	ten, err := db.CreateTenant(context.Background(), admem.Tenant{Name: name, Status: admem.TenantActive}, admem.AuditEvent{Action: "tenant.created"})
	if err != nil {
		t.Fatalf("testenv: create tenant %s: %v", name, err)
	}
	return ten.ID
}

// ensureTemplate creates admem_tpl_<digest> once per migration set, under an
// advisory lock because test binaries of several packages run at once.
func ensureTemplate(admin string) (string, error) {
	digest, err := store.MigrationsDigest()
	if err != nil {
		return "", err
	}
	name := "admem_tpl_" + digest
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(7245190)`); err != nil {
		return "", err
	}
	defer conn.Exec(context.Background(), `SELECT pg_advisory_unlock(7245190)`) //nolint:errcheck
	var ready bool
	err = conn.QueryRow(ctx, `SELECT coalesce(shobj_description(oid, 'pg_database') = 'ready', false)
		FROM pg_database WHERE datname = $1`, name).Scan(&ready)
	if err == nil && ready {
		return name, nil
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, name)); err != nil {
		return "", err
	}
	if _, err := store.Migrate(withDB(admin, name, "", "")); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, fmt.Sprintf(`COMMENT ON DATABASE %s IS 'ready'`, name)); err != nil {
		return "", err
	}
	return name, nil
}

func withDB(raw, db, user, password string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	u.Path = "/" + db
	if user != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Redis returns the test Redis URL and a key prefix private to this test; the
// prefix's keys are deleted when the test ends.
func Redis(t testing.TB) (redisURL, prefix string) {
	t.Helper()
	need(t, "ADMEM_TEST_REDIS_URL")
	redisURL = os.Getenv("ADMEM_TEST_REDIS_URL")
	prefix = "t" + randHex(5) + ":"
	t.Cleanup(func() {
		opt, err := redis.ParseURL(redisURL)
		if err != nil {
			return
		}
		c := redis.NewClient(opt)
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	})
	return redisURL, prefix
}
