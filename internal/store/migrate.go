package store

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strings"

	"github.com/admem/admem/migrations"
	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers pgx5://
	"github.com/golang-migrate/migrate/v4/source/iofs"
)

// Migrate brings the database at url up to the newest embedded migration and
// returns the version it is at.
func Migrate(url string) (uint, error) {
	m, err := newMigrator(url)
	if err != nil {
		return 0, err
	}
	defer m.Close()
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return 0, fmt.Errorf("store: migrate up: %w", err)
	}
	v, dirty, err := m.Version()
	if err != nil {
		return 0, fmt.Errorf("store: migration version: %w", err)
	}
	if dirty {
		return v, fmt.Errorf("store: migration %d is dirty; fix it by hand and force the version", v)
	}
	return v, nil
}

// MigrationsDigest identifies the embedded migration set, so a cached
// migrated database (the test template) can tell when it is stale.
func MigrationsDigest() (string, error) {
	names, err := fs.Glob(migrations.FS, "*.up.sql")
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := newDigest()
	for _, n := range names {
		b, err := fs.ReadFile(migrations.FS, n)
		if err != nil {
			return "", err
		}
		h.add(n, b)
	}
	return h.sum(), nil
}

func newMigrator(dbURL string) (*migrate.Migrate, error) {
	src, err := iofs.New(migrations.FS, ".")
	if err != nil {
		return nil, fmt.Errorf("store: migrations source: %w", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, fmt.Errorf("store: parse migrate url: %w", err)
	}
	u.Scheme = "pgx5"
	q := u.Query()
	q.Set("x-migrations-table", "schema_migrations")
	u.RawQuery = q.Encode()
	m, err := migrate.NewWithSourceInstance("iofs", src, u.String())
	if err != nil {
		return nil, fmt.Errorf("store: open migrator: %s", strings.ReplaceAll(err.Error(), dbURL, "(url)"))
	}
	return m, nil
}
