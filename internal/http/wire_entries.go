package http

import (
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/admem/admem"
)

// Wire types of factual memory (openapi.yaml: Entry, WriteResult, …).

type entryScopeJSON struct {
	AgentID   string `json:"agent_id,omitempty"`
	UserID    string `json:"user_id,omitempty"`
	SessionID string `json:"session_id,omitempty"`
}

type entryJSON struct {
	ID         string         `json:"id"`
	Kind       string         `json:"kind"`
	Key        string         `json:"key,omitempty"`
	Content    string         `json:"content"`
	Metadata   map[string]any `json:"metadata"`
	Tags       []string       `json:"tags"`
	Scope      entryScopeJSON `json:"scope"`
	ExpiresAt  *time.Time     `json:"expires_at,omitempty"`
	Status     string         `json:"status"`
	Version    int            `json:"version"`
	Uses       int            `json:"uses"`
	Successes  int            `json:"successes"`
	SeenCount  int            `json:"seen_count"`
	LastSeenAt time.Time      `json:"last_seen_at"`
	CreatedAt  time.Time      `json:"created_at"`
	UpdatedAt  time.Time      `json:"updated_at"`
	Trust      string         `json:"trust"`
	// Quarantine* say why the content looks like an instruction and who
	// released it.
	QuarantineReason     string     `json:"quarantine_reason,omitempty"`
	QuarantineReleasedAt *time.Time `json:"quarantine_released_at,omitempty"`
	QuarantineReleasedBy string     `json:"quarantine_released_by,omitempty"`
}

func toEntryJSON(e admem.Entry) entryJSON {
	md, tags := e.Metadata, e.Tags
	if md == nil {
		md = map[string]any{}
	}
	if tags == nil {
		tags = []string{}
	}
	return entryJSON{ID: e.ID, Kind: string(e.Kind), Key: e.Key, Content: e.Content, Metadata: md, Tags: tags,
		Scope: entryScopeJSON(e.Scope), ExpiresAt: e.ExpiresAt, Status: string(e.Status), Version: e.Version,
		Uses: e.Uses, Successes: e.Successes, SeenCount: e.SeenCount, LastSeenAt: e.LastSeenAt, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		Trust: string(e.Quarantine.Trust()), QuarantineReason: e.Quarantine.Reason, QuarantineReleasedAt: e.Quarantine.ReleasedAt,
		QuarantineReleasedBy: e.Quarantine.ReleasedBy}
}

type newEntryJSON struct {
	Kind        string          `json:"kind"`
	Key         string          `json:"key"`
	Content     string          `json:"content"`
	Metadata    map[string]any  `json:"metadata"`
	Tags        []string        `json:"tags"`
	Scope       *entryScopeJSON `json:"scope"`
	ExpiresAt   *time.Time      `json:"expires_at"`
	Vector      []float32       `json:"vector"`
	VectorSpace string          `json:"vector_space"`
}

func (n newEntryJSON) domain(p admem.Principal, requestID string) admem.NewEntry {
	e := admem.NewEntry{Kind: admem.EntryKind(n.Kind), Key: n.Key, Content: n.Content, Metadata: n.Metadata, Tags: n.Tags,
		ExpiresAt: n.ExpiresAt, Vector: n.Vector, VectorSpace: n.VectorSpace,
		Provenance: admem.Provenance{ActorKeyID: p.KeyID, Source: admem.SourceRequest, SourceID: requestID}}
	if n.Scope != nil {
		e.Scope = admem.Scope(*n.Scope)
	}
	return e
}

type createEntryRequest struct {
	newEntryJSON
	Infer   *bool `json:"infer"`
	Explain bool  `json:"explain"`
}

type createEntriesRequest struct {
	Entries []newEntryJSON `json:"entries"`
	Infer   *bool          `json:"infer"`
	Explain bool           `json:"explain"`
}

type decisionJSON struct {
	Operation string             `json:"operation"`
	Reason    string             `json:"reason"`
	MatchedID string             `json:"matched_id,omitempty"`
	Matched   *entryJSON         `json:"matched,omitempty"`
	Scores    map[string]float64 `json:"scores"`
}

type writeResultJSON struct {
	Operation string        `json:"operation"`
	Entry     entryJSON     `json:"entry"`
	Decision  *decisionJSON `json:"decision,omitempty"`
}

func toWriteResultJSON(r admem.WriteResult) writeResultJSON {
	out := writeResultJSON{Operation: string(r.Op), Entry: toEntryJSON(r.Entry)}
	if r.Decision != nil {
		d := &decisionJSON{Operation: string(r.Decision.Op), Reason: r.Decision.Reason, MatchedID: r.Decision.MatchID, Scores: r.Decision.Scores}
		if d.Scores == nil {
			d.Scores = map[string]float64{}
		}
		if r.Matched != nil {
			m := toEntryJSON(*r.Matched)
			d.Matched = &m
		}
		out.Decision = d
	}
	return out
}

type batchResultJSON struct {
	Results []writeResultJSON `json:"results"`
	Counts  map[string]int    `json:"counts"`
}

type entryList struct {
	Items      []entryJSON `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

type updateEntryRequest struct {
	Content   *string        `json:"content"`
	Key       *string        `json:"key"`
	Metadata  map[string]any `json:"metadata"`
	Tags      []string       `json:"tags"`
	ExpiresAt *time.Time     `json:"expires_at"`
	Status    *string        `json:"status"`
}

type versionJSON struct {
	Version    int            `json:"version"`
	Operation  string         `json:"operation"`
	Key        string         `json:"key,omitempty"`
	Content    string         `json:"content"`
	Metadata   map[string]any `json:"metadata"`
	Tags       []string       `json:"tags"`
	ExpiresAt  *time.Time     `json:"expires_at,omitempty"`
	Status     string         `json:"status"`
	Provenance provenanceJSON `json:"provenance"`
	Reason     string         `json:"reason,omitempty"`
	CreatedAt  time.Time      `json:"created_at"`
}

type provenanceJSON struct {
	ActorKeyID string `json:"actor_key_id,omitempty"`
	AgentID    string `json:"agent_id,omitempty"`
	SessionID  string `json:"session_id,omitempty"`
	Source     string `json:"source,omitempty"`
	SourceID   string `json:"source_id,omitempty"`
}

func toVersionJSON(v admem.EntryVersion) versionJSON {
	md, tags := v.Metadata, v.Tags
	if md == nil {
		md = map[string]any{}
	}
	if tags == nil {
		tags = []string{}
	}
	return versionJSON{Version: v.Version, Operation: string(v.Operation), Key: v.Key, Content: v.Content, Metadata: md, Tags: tags,
		ExpiresAt: v.ExpiresAt, Status: string(v.Status), Provenance: provenanceJSON(v.Provenance), Reason: v.Reason, CreatedAt: v.CreatedAt}
}

type versionList struct {
	Items      []versionJSON `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

type rollbackRequest struct {
	Version int `json:"version"`
}

type forgetRequest struct {
	UserID string `json:"user_id"`
}

type forgetResponse struct {
	EntriesDeleted  int `json:"entries_deleted"`
	VersionsDeleted int `json:"versions_deleted"`
}

type searchFilterJSON struct {
	Kinds         []string        `json:"kinds"`
	Key           string          `json:"key"`
	Scope         *entryScopeJSON `json:"scope"`
	Tags          []string        `json:"tags"`
	Metadata      map[string]any  `json:"metadata"`
	CreatedAfter  *time.Time      `json:"created_after"`
	CreatedBefore *time.Time      `json:"created_before"`
}

type searchRequest struct {
	Query                string            `json:"query"`
	Limit                int               `json:"limit"`
	Mode                 string            `json:"mode"`
	Filter               *searchFilterJSON `json:"filter"`
	Vector               []float32         `json:"vector"`
	VectorSpace          string            `json:"vector_space"`
	LexicalWeight        *float64          `json:"lexical_weight"`
	VectorWeight         *float64          `json:"vector_weight"`
	SessionContext       bool              `json:"session_context"`
	RecencyWeight        float64           `json:"recency_weight"`
	RecencyHalfLifeHours float64           `json:"recency_half_life_hours"`
	UtilityWeight        float64           `json:"utility_weight"`
	Explain              bool              `json:"explain"`
}

type searchExplainJSON struct {
	Lexical     float64 `json:"lexical"`
	LexicalRank int     `json:"lexical_rank,omitempty"`
	Vector      float64 `json:"vector"`
	VectorRank  int     `json:"vector_rank,omitempty"`
	Fused       float64 `json:"fused"`
	Context     float64 `json:"context"`
	Recency     float64 `json:"recency"`
	Utility     float64 `json:"utility"`
	Embedder    string  `json:"embedder,omitempty"`
}

type searchHitJSON struct {
	Entry   entryJSON          `json:"entry"`
	Score   float64            `json:"score"`
	Explain *searchExplainJSON `json:"explain,omitempty"`
}

type searchResponse struct {
	Items []searchHitJSON `json:"items"`
}

// maxMetadataPath bounds a metadata filter path (a.b.c): the filter becomes
// a jsonb value nested that deep, and Postgres walks it recursively.
const maxMetadataPath = 16

// parseMetadataFilter reads the list filter syntax for metadata:
// comma-separated path=value pairs, where a path is dot-separated keys
// (a.b matches {"a": {"b": …}}) and a value is a JSON number, true, false,
// null, a double-quoted JSON string (which may hold commas), or else the
// bare text as a string. The result is a JSON object to match by
// containment.
func parseMetadataFilter(s string) (map[string]any, error) {
	bad := func(reason string) error { return admem.Invalid("metadata", reason) }
	if len(s) > 4096 {
		return nil, bad("at most 4096 characters")
	}
	out := map[string]any{}
	rest := s
	for pairs := 0; rest != ""; pairs++ {
		if pairs >= 32 {
			return nil, bad("at most 32 conditions")
		}
		path, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, bad("want path=value pairs separated by commas")
		}
		var raw string
		if strings.HasPrefix(after, `"`) {
			end := closingQuote(after)
			if end < 0 {
				return nil, bad("unterminated quoted value")
			}
			raw, rest = after[:end+1], after[end+1:]
			if rest != "" && !strings.HasPrefix(rest, ",") {
				return nil, bad("a quoted value must be followed by a comma or the end")
			}
		} else {
			var found bool
			raw, rest, found = strings.Cut(after, ",")
			if found {
				rest = "," + rest
			}
		}
		if rest == "," {
			return nil, bad("a trailing comma")
		}
		rest = strings.TrimPrefix(rest, ",")
		val, err := metadataValue(raw)
		if err != nil {
			return nil, bad(err.Error())
		}
		keys := strings.Split(strings.TrimSpace(path), ".")
		if len(keys) > maxMetadataPath {
			return nil, bad("a path of at most " + strconv.Itoa(maxMetadataPath) + " keys")
		}
		node := out
		for i, k := range keys {
			if k == "" || len(k) > 128 {
				return nil, bad("empty or over-long key in path " + strconv.Quote(path))
			}
			if i == len(keys)-1 {
				if _, dup := node[k]; dup {
					return nil, bad("path " + strconv.Quote(path) + " given twice or inside another")
				}
				node[k] = val
				break
			}
			child, exists := node[k]
			if !exists {
				m := map[string]any{}
				node[k] = m
				node = m
				continue
			}
			m, isMap := child.(map[string]any)
			if !isMap {
				return nil, bad("path " + strconv.Quote(path) + " given twice or inside another")
			}
			node = m
		}
	}
	if len(out) == 0 {
		return nil, bad("empty filter")
	}
	return out, nil
}

// closingQuote returns the index of the quote that closes the JSON string
// starting at s[0], or -1.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

type valueError string

func (e valueError) Error() string { return string(e) }

func metadataValue(raw string) (any, error) {
	t := strings.TrimSpace(raw)
	switch {
	case strings.HasPrefix(t, `"`):
		var s string
		if err := json.Unmarshal([]byte(t), &s); err != nil {
			return nil, valueError("bad quoted value " + strconv.Quote(t))
		}
		return s, nil
	case t == "true":
		return true, nil
	case t == "false":
		return false, nil
	case t == "null":
		return nil, nil
	}
	var n json.Number
	if json.Unmarshal([]byte(t), &n) == nil {
		if f, err := n.Float64(); err == nil {
			return f, nil
		}
	}
	return t, nil
}

// entryFilterFromQuery reads the list filters of GET /v1/entries.
func entryFilterFromQuery(q url.Values) (admem.EntryFilter, error) {
	f := admem.EntryFilter{Key: q.Get("key"), AgentID: q.Get("agent_id"), UserID: q.Get("user_id"), SessionID: q.Get("session_id"),
		Status: admem.EntryStatus(q.Get("status"))}
	for _, k := range splitList(q["kind"]) {
		f.Kinds = append(f.Kinds, admem.EntryKind(k))
	}
	f.Tags = splitList(q["tag"])
	if v := q.Get("metadata"); v != "" {
		m, err := parseMetadataFilter(v)
		if err != nil {
			return f, err
		}
		f.Metadata = m
	}
	for _, t := range []struct {
		name string
		dst  **time.Time
	}{{"created_after", &f.CreatedAfter}, {"created_before", &f.CreatedBefore}} {
		if v := q.Get(t.name); v != "" {
			ts, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return f, admem.Invalid(t.name, "an RFC 3339 time")
			}
			*t.dst = &ts
		}
	}
	if v := q.Get("include_expired"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, admem.Invalid("include_expired", "true or false")
		}
		f.IncludeExpired = b
	}
	return f, nil
}

// splitList reads a repeated and/or comma-separated query parameter.
func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
