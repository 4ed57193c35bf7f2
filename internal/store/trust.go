package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/mistake"
	"github.com/admem/admem/internal/toolclass"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// GuardKnowledge reads, in one transaction, what guard needs for a
// request about the tools: their active mistakes with who backs each
// mistake's failures and each fix's recoveries, the guard settings, the
// learning quorum, and the tool policy that concerns them (declared
// classes of the tools the fixes call, replacements confirmed for the
// tools).
func (db *DB) GuardKnowledge(ctx context.Context, tenantID string, tools []string) (guard.Knowledge, error) {
	var k guard.Knowledge
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if k.Mistakes, err = toolMistakes(ctx, tx, tenantID, tools, true); err != nil {
			return err
		}
		if k.Settings, err = guardSettings(ctx, tx, tenantID); err != nil {
			return err
		}
		if k.Quorum, err = learningQuorum(ctx, tx, tenantID); err != nil {
			return err
		}
		if err := backMistakes(ctx, tx, tenantID, k.Mistakes); err != nil {
			return err
		}
		k.Tools, err = toolPolicy(ctx, tx, tenantID, tools, k.Mistakes)
		return err
	})
	if err != nil {
		return guard.Knowledge{}, fmt.Errorf("store: guard knowledge: %w", err)
	}
	return k, nil
}

func learningQuorum(ctx context.Context, tx pgx.Tx, tenantID string) (int, error) {
	var q int
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT learning_quorum FROM learning_settings WHERE tenant_id = $1), $2)`,
		tenantID, judge.DefaultQuorum).Scan(&q)
	return q, translate(err)
}

// trustedKey is the SQL that says a key (k, left-joined) is trusted for
// learning: marked so and not revoked (revoking a key withdraws its trust).
const trustedKey = `coalesce(k.trusted_for_learning AND k.revoked_at IS NULL, false)`

// keyAgent is the SQL for the agent a piece of evidence counts as: the
// agent its key (k, left-joined) was issued to, else the one its request
// named (column).
func keyAgent(column string) string { return "coalesce(k.agent_id, " + column + ", '')" }

// backMistakes sets each mistake's Backing from the provenance of the
// failures it counted, and each fix's from the trajectories that taught it.
func backMistakes(ctx context.Context, tx pgx.Tx, tenantID string, ms []*mistake.Mistake) error {
	if len(ms) == 0 {
		return nil
	}
	sigs := make([]string, 0, len(ms))
	var trajs []string
	for _, m := range ms {
		sigs = append(sigs, m.SignatureID)
		for _, f := range m.Fixes {
			for _, id := range f.Sources {
				if validUUID(id) && !slices.Contains(trajs, id) {
					trajs = append(trajs, id)
				}
			}
		}
	}
	failures := map[string][]admem.Provenance{}
	trusted := map[string]bool{}
	rows, err := tx.Query(ctx, `SELECT o.signature_id, coalesce(o.key_id::text, ''), `+keyAgent("o.agent_id")+`, `+trustedKey+`
		FROM mistake_occurrences o LEFT JOIN api_keys k ON k.tenant_id = o.tenant_id AND k.id = o.key_id
		WHERE o.tenant_id = $1 AND o.signature_id = ANY ($2)
		GROUP BY 1, 2, 3, 4`, tenantID, sigs)
	if err != nil {
		return translate(err)
	}
	for rows.Next() {
		var sig string
		var p admem.Provenance
		var t bool
		if err := rows.Scan(&sig, &p.ActorKeyID, &p.AgentID, &t); err != nil {
			rows.Close()
			return translate(err)
		}
		failures[sig] = append(failures[sig], p)
		trusted[sig] = trusted[sig] || t
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return translate(err)
	}
	taught, err := trajectorySources(ctx, tx, tenantID, trajs)
	if err != nil {
		return err
	}
	for _, m := range ms {
		m.Backing = mistake.Backing{Sources: judge.IndependentSources(failures[m.SignatureID]), Trusted: trusted[m.SignatureID]}
		for i := range m.Fixes {
			m.Fixes[i].Backing = backingOf(taught, m.Fixes[i].Sources)
		}
	}
	return nil
}

// trajectorySource is who posted a trajectory, and whether its key is
// trusted for learning.
type trajectorySource struct {
	p       admem.Provenance
	trusted bool
}

// trajectorySources reads the sources of the trajectories (ids that are
// no trajectory are left out).
func trajectorySources(ctx context.Context, tx pgx.Tx, tenantID string, ids []string) (map[string]trajectorySource, error) {
	taught := map[string]trajectorySource{}
	if len(ids) == 0 {
		return taught, nil
	}
	rows, err := tx.Query(ctx, `SELECT t.id::text, coalesce(t.key_id::text, ''), `+keyAgent("t.agent_id")+`, `+trustedKey+`
		FROM trajectories t LEFT JOIN api_keys k ON k.tenant_id = t.tenant_id AND k.id = t.key_id
		WHERE t.tenant_id = $1 AND t.id = ANY ($2::uuid[])`, tenantID, ids)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var s trajectorySource
		if err := rows.Scan(&id, &s.p.ActorKeyID, &s.p.AgentID, &s.trusted); err != nil {
			return nil, translate(err)
		}
		taught[id] = s
	}
	return taught, translate(rows.Err())
}

// backingOf is the backing of what the trajectories taught.
func backingOf(taught map[string]trajectorySource, ids []string) mistake.Backing {
	var ps []admem.Provenance
	b := mistake.Backing{}
	for _, id := range ids {
		if s, ok := taught[id]; ok {
			ps = append(ps, s.p)
			b.Trusted = b.Trusted || s.trusted
		}
	}
	b.Sources = judge.IndependentSources(ps)
	return b
}

// LearnedTrust is what recall weighs learned items with: the backing of
// each procedure (keyed as asked), the tenant's learning quorum, and the
// tool policy of the tools the mistakes' fixes call.
type LearnedTrust struct {
	Procedures map[string]mistake.Backing
	Quorum     int
	Tools      toolclass.Policy
}

// LearnedBacking reads, in one transaction, who vouches for learned items
// recall is about to serve: it sets the backing of each mistake (its
// failures) and of each of its fixes (their recoveries), and returns the
// backing of each procedure (by the trajectories that support it, keyed
// as procs is), the tenant's learning quorum and the tool policy.
func (db *DB) LearnedBacking(ctx context.Context, tenantID string, ms []*mistake.Mistake, procs map[string][]string) (LearnedTrust, error) {
	out := map[string]mistake.Backing{}
	lt := LearnedTrust{Procedures: out}
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if lt.Quorum, err = learningQuorum(ctx, tx, tenantID); err != nil {
			return err
		}
		if err := backMistakes(ctx, tx, tenantID, ms); err != nil {
			return err
		}
		var tools []string
		for _, m := range ms {
			if !slices.Contains(tools, m.Signature.Tool) {
				tools = append(tools, m.Signature.Tool)
			}
		}
		if lt.Tools, err = toolPolicy(ctx, tx, tenantID, tools, ms); err != nil {
			return err
		}
		var ids []string
		for _, srcs := range procs {
			for _, id := range srcs {
				if validUUID(id) && !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		taught, err := trajectorySources(ctx, tx, tenantID, ids)
		if err != nil {
			return err
		}
		for k, srcs := range procs {
			out[k] = backingOf(taught, srcs)
		}
		return nil
	})
	if err != nil {
		return LearnedTrust{}, fmt.Errorf("store: learned backing: %w", err)
	}
	return lt, nil
}

// toolPolicy reads the declared classes of the tools the mistakes' fixes
// would call and the replacements confirmed for the candidates' tools.
func toolPolicy(ctx context.Context, tx pgx.Tx, tenantID string, tools []string, ms []*mistake.Mistake) (toolclass.Policy, error) {
	p := toolclass.Policy{Declared: map[string]toolclass.Class{}, Replacements: map[string]map[string]bool{}}
	var called []string
	for _, m := range ms {
		for _, f := range m.Fixes {
			if f.Tool != "" && !slices.Contains(called, f.Tool) {
				called = append(called, f.Tool)
			}
		}
	}
	if len(called) == 0 {
		return p, nil // no fix calls another tool
	}
	rows, err := tx.Query(ctx, `SELECT tool, class FROM tool_annotations WHERE tenant_id = $1 AND tool = ANY ($2)`, tenantID, called)
	if err != nil {
		return p, translate(err)
	}
	for rows.Next() {
		var tool, class string
		if err := rows.Scan(&tool, &class); err != nil {
			rows.Close()
			return p, translate(err)
		}
		p.Declared[tool] = toolclass.Class(class)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, translate(err)
	}
	rows, err = tx.Query(ctx, `SELECT from_tool, to_tool FROM tool_replacements WHERE tenant_id = $1 AND from_tool = ANY ($2)`, tenantID, tools)
	if err != nil {
		return p, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var from, to string
		if err := rows.Scan(&from, &to); err != nil {
			return p, translate(err)
		}
		if p.Replacements[from] == nil {
			p.Replacements[from] = map[string]bool{}
		}
		p.Replacements[from][to] = true
	}
	return p, translate(rows.Err())
}

// GuardHistories returns the tools' recent calls (tools never called are
// left out; a history that cannot be read is too).
func (db *DB) GuardHistories(ctx context.Context, tenantID string, tools []string) ([]*mistake.Tool, error) {
	var out []*mistake.Tool
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT tool, state FROM tool_histories WHERE tenant_id = $1 AND tool = ANY ($2)`, tenantID, tools)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var name string
			var state []byte
			if err := rows.Scan(&name, &state); err != nil {
				return translate(err)
			}
			t := &mistake.Tool{}
			if json.Unmarshal(state, t) != nil {
				continue
			}
			t.Name = name
			out = append(out, t)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: guard histories: %w", err)
	}
	return out, nil
}

func validUUID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil
}

// KnownTools pages through the tenant's tools by name (after the name
// given): those it called, those an admin annotated, and those named in a
// confirmed replacement, each with its declared class ("" when none) and
// its confirmed replacements.
func (db *DB) KnownTools(ctx context.Context, tenantID, after string, limit int) ([]toolclass.Known, error) {
	var out []toolclass.Known
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH names AS (
				SELECT tool FROM tool_histories WHERE tenant_id = $1
				UNION SELECT tool FROM tool_annotations WHERE tenant_id = $1
				UNION SELECT from_tool FROM tool_replacements WHERE tenant_id = $1
				UNION SELECT to_tool FROM tool_replacements WHERE tenant_id = $1)
			SELECT n.tool, coalesce(a.class, ''), coalesce(a.updated_at, 'epoch'::timestamptz),
				coalesce((SELECT array_agg(r.to_tool ORDER BY r.to_tool) FROM tool_replacements r
					WHERE r.tenant_id = $1 AND r.from_tool = n.tool), '{}')
			FROM names n LEFT JOIN tool_annotations a ON a.tenant_id = $1 AND a.tool = n.tool
			WHERE n.tool COLLATE "C" > $2 ORDER BY n.tool COLLATE "C" LIMIT $3`, tenantID, after, limit)
		if err != nil {
			return translate(err)
		}
		defer rows.Close()
		for rows.Next() {
			var k toolclass.Known
			var class string
			if err := rows.Scan(&k.Name, &class, &k.DeclaredAt, &k.Replacements); err != nil {
				return translate(err)
			}
			k.Declared = toolclass.Class(class)
			out = append(out, k)
		}
		return translate(rows.Err())
	})
	if err != nil {
		return nil, fmt.Errorf("store: known tools: %w", err)
	}
	return out, nil
}

// KnownTool is KnownTools for one tool (a tool nobody called or annotated
// is returned too, undeclared).
func (db *DB) KnownTool(ctx context.Context, tenantID, tool string) (toolclass.Known, error) {
	var k toolclass.Known
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		return knownTool(ctx, tx, tenantID, tool, &k)
	})
	if err != nil {
		return toolclass.Known{}, fmt.Errorf("store: known tool: %w", err)
	}
	return k, nil
}

func knownTool(ctx context.Context, tx pgx.Tx, tenantID, tool string, k *toolclass.Known) error {
	var class string
	err := tx.QueryRow(ctx, `SELECT coalesce((SELECT class FROM tool_annotations WHERE tenant_id = $1 AND tool = $2), ''),
			coalesce((SELECT updated_at FROM tool_annotations WHERE tenant_id = $1 AND tool = $2), 'epoch'::timestamptz),
			coalesce((SELECT array_agg(to_tool ORDER BY to_tool) FROM tool_replacements WHERE tenant_id = $1 AND from_tool = $2), '{}')`,
		tenantID, tool).Scan(&class, &k.DeclaredAt, &k.Replacements)
	k.Name, k.Declared = tool, toolclass.Class(class)
	return translate(err)
}

// AnnotateTool declares a tool's class (class "" removes the declaration:
// the class is inferred from the name again) and audits it.
func (db *DB) AnnotateTool(ctx context.Context, tenantID, tool string, class toolclass.Class, audit admem.AuditEvent) (toolclass.Known, error) {
	var k toolclass.Known
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if class == "" {
			_, err = tx.Exec(ctx, `DELETE FROM tool_annotations WHERE tenant_id = $1 AND tool = $2`, tenantID, tool)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO tool_annotations (tenant_id, tool, class, actor_key_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (tenant_id, tool) DO UPDATE SET class = excluded.class, actor_key_id = excluded.actor_key_id, updated_at = now()`,
				tenantID, tool, string(class), nullableUUID(audit.ActorKeyID))
		}
		if err != nil {
			return translate(err)
		}
		audit.TenantID, audit.TargetType, audit.TargetID = tenantID, "tool", tool
		audit.Details = map[string]any{"class": string(class)}
		if err := insertAuditAs(ctx, tx, audit); err != nil {
			return err
		}
		return knownTool(ctx, tx, tenantID, tool, &k)
	})
	if err != nil {
		return toolclass.Known{}, fmt.Errorf("store: annotate tool %s: %w", tool, err)
	}
	return k, nil
}

// ConfirmReplacement records (confirm) or withdraws an admin's
// confirmation that to may replace from in guard's suggestions, audited.
func (db *DB) ConfirmReplacement(ctx context.Context, tenantID, from, to string, confirm bool, audit admem.AuditEvent) (toolclass.Known, error) {
	var k toolclass.Known
	err := db.inTenant(ctx, tenantID, func(tx pgx.Tx) error {
		var err error
		if confirm {
			_, err = tx.Exec(ctx, `INSERT INTO tool_replacements (tenant_id, from_tool, to_tool, actor_key_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT DO NOTHING`, tenantID, from, to, nullableUUID(audit.ActorKeyID))
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM tool_replacements WHERE tenant_id = $1 AND from_tool = $2 AND to_tool = $3`, tenantID, from, to)
		}
		if err != nil {
			return translate(err)
		}
		audit.TenantID, audit.TargetType, audit.TargetID = tenantID, "tool", from
		audit.Details = map[string]any{"replacement": to}
		if err := insertAuditAs(ctx, tx, audit); err != nil {
			return err
		}
		return knownTool(ctx, tx, tenantID, from, &k)
	})
	if err != nil {
		return toolclass.Known{}, fmt.Errorf("store: confirm replacement %s → %s: %w", from, to, err)
	}
	return k, nil
}
