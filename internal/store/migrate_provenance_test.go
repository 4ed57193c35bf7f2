package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Migration 000010 keeps existing rows, with unknown (NULL) provenance,
// and goes down and up again.
func TestProvenanceMigrationKeepsExistingRows(t *testing.T) {
	admin := os.Getenv("ADMEM_TEST_ADMIN_URL")
	if admin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ADMEM_TEST_ADMIN_URL is not set: run the tests with `make test`")
		}
		t.Skip("ADMEM_TEST_ADMIN_URL is not set: run `make test` to start Postgres")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	name := fmt.Sprintf("admem_mig10_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = conn.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) })
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	m, err := newMigrator(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Migrate(7); err != nil {
		t.Fatalf("migrate to 7: %v", err)
	}
	db, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var tenant, traj, recall string
	err = db.QueryRow(ctx, `INSERT INTO tenants (name) VALUES ('old') RETURNING id`).Scan(&tenant)
	if err == nil {
		err = db.QueryRow(ctx, `INSERT INTO trajectories (tenant_id, task, agent_id, closed_at) VALUES ($1, 'a task', 'bot', now()) RETURNING id`,
			tenant).Scan(&traj)
	}
	if err == nil {
		_, err = db.Exec(ctx, `INSERT INTO trajectory_steps (tenant_id, trajectory_id, idx, action, status) VALUES ($1, $2, 0, 'call', 'error')`,
			tenant, traj)
	}
	if err == nil {
		_, err = db.Exec(ctx, `INSERT INTO mistake_occurrences (tenant_id, signature_id, trajectory_id, step_idx) VALUES ($1, 'sig', $2, 0)`,
			tenant, traj)
	}
	if err == nil {
		err = db.QueryRow(ctx, `INSERT INTO recalls (tenant_id, task, feedback_at, outcome) VALUES ($1, 't', now(), 'failure') RETURNING id`,
			tenant).Scan(&recall)
	}
	if err == nil {
		_, err = db.Exec(ctx, `INSERT INTO learning_settings (tenant_id) VALUES ($1)`, tenant)
	}
	if err != nil {
		t.Fatalf("rows before the migration: %v", err)
	}
	if err := m.Migrate(10); err != nil {
		t.Fatalf("migrate to 10 over existing rows: %v", err)
	}
	var key, stepKey, occKey *string
	var quorum int
	if err := db.QueryRow(ctx, `SELECT t.key_id::text, s.key_id::text, o.key_id::text, ls.retire_quorum
		FROM trajectories t JOIN trajectory_steps s ON s.trajectory_id = t.id
		JOIN mistake_occurrences o ON o.trajectory_id = t.id JOIN learning_settings ls ON ls.tenant_id = t.tenant_id
		WHERE t.id = $1`, traj).Scan(&key, &stepKey, &occKey, &quorum); err != nil {
		t.Fatal(err)
	}
	if key != nil || stepKey != nil || occKey != nil || quorum != 2 {
		t.Fatalf("backfill: key %v step %v occurrence %v quorum %d", key, stepKey, occKey, quorum)
	}
	var fbKey *string
	if err := db.QueryRow(ctx, `SELECT feedback_key_id::text FROM recalls WHERE id = $1`, recall).Scan(&fbKey); err != nil || fbKey != nil {
		t.Fatalf("recall feedback key: %v %v", fbKey, err)
	}
	// The append-only guard now also keeps the key.
	if _, err := db.Exec(ctx, `UPDATE trajectories SET key_id = gen_random_uuid() WHERE id = $1`, traj); err == nil {
		t.Fatal("a closed trajectory's key changed")
	}
	if err := m.Migrate(7); err != nil {
		t.Fatalf("down to 7: %v", err)
	}
	if err := m.Migrate(10); err != nil {
		t.Fatalf("up to 10 again: %v", err)
	}
}
