package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/admem/admem"
	"github.com/jackc/pgx/v5"
)

// DefaultLearningSettings apply to tenants that never set theirs.
var DefaultLearningSettings = admem.LearningSettings{JudgeRule: "last_ok_recovered", JudgeThreshold: 0.5, Strategy: admem.StrategyReflect,
	RetireQuorum: 2, LearningQuorum: 2}

func getSettings(ctx context.Context, tx pgx.Tx, tenantID string) (admem.LearningSettings, error) {
	var s admem.LearningSettings
	var strategy string
	err := translate(tx.QueryRow(ctx, `SELECT judge_rule, judge_threshold, strategy, retire_quorum, learning_quorum, updated_at FROM learning_settings WHERE tenant_id = $1`,
		tenantID).Scan(&s.JudgeRule, &s.JudgeThreshold, &strategy, &s.RetireQuorum, &s.LearningQuorum, &s.UpdatedAt))
	if errors.Is(err, admem.ErrNotFound) {
		return DefaultLearningSettings, nil
	}
	s.Strategy = admem.UpdateStrategy(strategy)
	return s, err
}

// LearningSettings returns the tenant's learning settings (defaults when unset).
func (db *DB) LearningSettings(ctx context.Context, tenantID string) (admem.LearningSettings, error) {
	var out admem.LearningSettings
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		out, err = getSettings(ctx, tx, tenantID)
		return err
	})
	if err != nil {
		return admem.LearningSettings{}, fmt.Errorf("store: learning settings: %w", err)
	}
	return out, nil
}

// PutLearningSettings replaces the tenant's learning settings and audits it.
func (db *DB) PutLearningSettings(ctx context.Context, tenantID string, s admem.LearningSettings, audit admem.AuditEvent) (admem.LearningSettings, error) {
	var out admem.LearningSettings
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO learning_settings (tenant_id, judge_rule, judge_threshold, strategy, retire_quorum, learning_quorum)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (tenant_id) DO UPDATE SET judge_rule = $2, judge_threshold = $3, strategy = $4, retire_quorum = $5,
				learning_quorum = $6, updated_at = now()`,
			tenantID, s.JudgeRule, s.JudgeThreshold, string(s.Strategy), s.RetireQuorum, s.LearningQuorum); err != nil {
			return translate(err)
		}
		audit.TenantID = tenantID
		if err := insertAuditAs(ctx, tx, audit); err != nil {
			return err
		}
		var err error
		out, err = getSettings(ctx, tx, tenantID)
		return err
	})
	if err != nil {
		return admem.LearningSettings{}, fmt.Errorf("store: put learning settings: %w", err)
	}
	return out, nil
}
