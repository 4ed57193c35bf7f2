package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// inTenantOneTrip runs queries under the tenant's row-level security in
// one round trip: the tenant setting and the queries go as one pipeline,
// which Postgres runs as one implicit transaction (the setting is local to
// it, as in inTenant; a write commits with it, or nothing does). inTenant
// costs a BEGIN, the setting and a COMMIT on top of the queries, each a
// round trip: for the hot path's one-row statements that was most of their
// cost. It is for statements that need no Go logic between them; read
// consumes their results in order.
func (db *DB) inTenantOneTrip(ctx context.Context, tenantID string, b *pgx.Batch, read func(pgx.BatchResults) error) error {
	if tenantID == "" {
		return errors.New("store: no tenant for a tenant-scoped read")
	}
	all := &pgx.Batch{}
	all.Queue(`SELECT set_config('admem.tenant_id', $1, true)`, tenantID)
	all.QueuedQueries = append(all.QueuedQueries, b.QueuedQueries...)
	br := db.pool.SendBatch(ctx, all)
	if _, err := br.Exec(); err != nil {
		br.Close()
		return translate(err)
	}
	if err := read(br); err != nil {
		br.Close()
		return translate(err)
	}
	return translate(br.Close())
}

// GuardStamp is where what guard reads for a tenant stands (migrations
// 000012 and 000015): a copy of guard's knowledge read at an equal stamp is
// current.
type GuardStamp struct {
	Learned LearnedVersion
	// Policy counts changes of everything else guard's knowledge is read
	// from: who backs a mistake, the clusters' suppression, the settings,
	// the quorum, keys' trust, the tool policy.
	Policy int64
}

// GuardStamp returns the tenant's guard stamp: one row, one round trip.
func (db *DB) GuardStamp(ctx context.Context, tenantID string) (GuardStamp, error) {
	var s GuardStamp
	b := &pgx.Batch{}
	b.Queue(`SELECT version, reset_version, policy_version FROM learned_versions WHERE tenant_id = $1`, tenantID)
	err := db.inTenantOneTrip(ctx, tenantID, b, func(br pgx.BatchResults) error {
		err := br.QueryRow().Scan(&s.Learned.Version, &s.Learned.Reset, &s.Policy)
		if errors.Is(err, pgx.ErrNoRows) {
			s = GuardStamp{} // nothing was ever learnt or set
			return nil
		}
		return err
	})
	if err != nil {
		return GuardStamp{}, fmt.Errorf("store: guard stamp: %w", err)
	}
	return s, nil
}
