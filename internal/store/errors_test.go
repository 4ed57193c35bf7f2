package store_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/store"
	"github.com/admem/admem/internal/testenv"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

func TestTranslateTable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err  error
		code string
	}{
		{&pgconn.PgError{Code: "22021"}, admem.EINVALID}, // bytes that are not UTF-8
		{&pgconn.PgError{Code: "22P05"}, admem.EINVALID}, // \u0000 in jsonb
		{&pgconn.PgError{Code: "54001"}, admem.EINVALID}, // stack depth exceeded
		{&pgconn.PgError{Code: "54000"}, admem.EINVALID}, // index row too large
		{&pgconn.PgError{Code: "23505"}, admem.ECONFLICT},
		{&pgconn.PgError{Code: "57P01"}, admem.EUNAVAILABLE}, // terminated by an administrator
		{&pgconn.PgError{Code: "08006"}, admem.EUNAVAILABLE},
		{&pgconn.PgError{Code: "53300"}, admem.EUNAVAILABLE}, // too many connections
		{&pgconn.PgError{Code: "57014"}, admem.EUNAVAILABLE},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), admem.EUNAVAILABLE},
		{errors.New("conn closed"), admem.EUNAVAILABLE},
		{pgx.ErrNoRows, admem.ENOTFOUND},
		{&pgconn.PgError{Code: "42P01"}, admem.EINTERNAL}, // our bug, not the client's
	}
	for _, c := range cases {
		if got := admem.ErrorCode(store.Translate(c.err)); got != c.code {
			t.Errorf("%v: %s, want %s", c.err, got, c.code)
		}
	}
}

// TestBadTextIsInvalidNotInternal sends Postgres text it refuses (bytes that
// are not UTF-8, NUL): the second line of defence behind the HTTP edge
// turns its refusal into a validation error.
func TestBadTextIsInvalidNotInternal(t *testing.T) {
	t.Parallel()
	db := openTest(t)
	for _, s := range []string{"adm_\xff\xfe", "adm_\x00"} {
		_, err := db.LookupKey(context.Background(), s)
		if admem.ErrorCode(err) != admem.EINVALID {
			t.Errorf("%q: %v, want a validation error", s, err)
		}
	}
}

// TestLostConnectionIsUnavailable kills the pool's connections in Postgres
// (pg_terminate_backend, as a restart or a failover does) and checks that a
// query on a dead connection is EUNAVAILABLE (a 503 the client retries),
// and that the next one works without a restart.
func TestLostConnectionIsUnavailable(t *testing.T) {
	t.Parallel()
	pg := testenv.DB(t)
	db := pg.Store(t)
	ctx := context.Background()
	owner, err := pgx.Connect(ctx, pg.OwnerURL)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close(ctx)
	unavailable := 0
	for i := 0; i < 5; i++ {
		// Use a pooled connection, then kill every one of the pool's.
		if _, err := db.LookupKey(ctx, "adm_0000000000"); !errors.Is(err, admem.ErrNotFound) {
			t.Fatalf("before: %v", err)
		}
		var killed int
		if err := owner.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = 'admem'`).Scan(&killed); err != nil || killed == 0 {
			t.Fatalf("terminate: %d killed, %v", killed, err)
		}
		_, err := db.LookupKey(ctx, "adm_0000000000")
		switch code := admem.ErrorCode(err); {
		case code == admem.EUNAVAILABLE:
			unavailable++
		case errors.Is(err, admem.ErrNotFound): // the pool noticed first and reconnected
		default:
			t.Fatalf("on a killed connection: %v (code %s), want unavailable", err, code)
		}
		if _, err := db.LookupKey(ctx, "adm_0000000000"); !errors.Is(err, admem.ErrNotFound) {
			t.Fatalf("after: %v, want the pool to have reconnected", err)
		}
	}
	if unavailable == 0 {
		t.Fatal("no query ever met a killed connection: the test did not test anything")
	}
}
