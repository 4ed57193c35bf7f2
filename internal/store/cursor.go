package store

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Cursors are opaque to clients: base64url of "unixmicro:uuid" for lists
// ordered by (created_at DESC, id DESC), or of "id" for lists ordered by a
// serial id.

func encodeTimeCursor(t time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(t.UnixMicro(), 10) + ":" + id))
}

func decodeTimeCursor(c string) (time.Time, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return time.Time{}, "", admem.Invalid("cursor", "not a cursor this service issued")
	}
	ts, id, ok := strings.Cut(string(b), ":")
	us, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil {
		return time.Time{}, "", admem.Invalid("cursor", "not a cursor this service issued")
	}
	// Every list ordered by time breaks ties by a uuid id: checking it here
	// keeps a forged cursor a validation error rather than a failed query.
	if _, err := uuid.Parse(id); err != nil {
		return time.Time{}, "", admem.Invalid("cursor", "not a cursor this service issued")
	}
	return time.UnixMicro(us), id, nil
}

func encodeIDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

// decodeIDCursor returns the id a page starts below, 0 for the first page.
func decodeIDCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if id, err := strconv.ParseInt(string(b), 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, admem.Invalid("cursor", "not a cursor this service issued")
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, tx pgx.Tx, scan func(pgx.Row) (T, error), sql string, args ...any) ([]T, error) {
	rows, err := tx.Query(ctx, sql, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, translate(rows.Err())
}

// trimPage cuts a result fetched with LIMIT page.Limit+1 to the page and
// returns the cursor of the next page ("" on the last one).
func trimPage[T any](items []T, limit int, cursor func(T) string) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	return items, cursor(items[limit-1])
}
