// Package memory owns factual memory: versioned entries with provenance,
// the judge's ADD / UPDATE / NOOP decision on every write, history and
// rollback, right-to-be-forgotten, hybrid (BM25 + vector) search, and the
// background embedding that keeps vectors in the active embedder's space.
//
// Other packages write memories through the same API as HTTP clients do. The
// learner, for instance, records a mistake note with
//
//	svc.Write(ctx, tenantID, admem.NewEntry{
//		Kind: admem.KindMistake, Key: "mistake:" + clusterID, Content: note,
//		Provenance: admem.Provenance{Source: admem.SourceWorker, SourceID: trajectoryID},
//	}, admem.WriteOptions{Infer: true})
//
// and, because the key matches, a later write of the same key becomes a new
// version of the same entry (UPDATE), or a NOOP when nothing changed.
// FindByKey and List (with a kind filter) read them back.
package memory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/embed"
	"github.com/admem/admem/internal/judge"
	"github.com/admem/admem/internal/lexical"
	"github.com/admem/admem/internal/store"
)

// Store is the storage the service needs (internal/store implements it).
type Store interface {
	InsertEntries(ctx context.Context, tenantID string, ws []admem.EntryWrite) ([]admem.Entry, error)
	GetEntry(ctx context.Context, tenantID, id string) (admem.Entry, error)
	GetEntries(ctx context.Context, tenantID string, ids []string) ([]admem.Entry, error)
	ListEntries(ctx context.Context, tenantID string, f admem.EntryFilter, page admem.Page) ([]admem.Entry, string, error)
	ReviseEntry(ctx context.Context, tenantID, id string, revise func(cur admem.Entry) (admem.EntryRevision, error)) (admem.Entry, error)
	TouchEntry(ctx context.Context, tenantID, id string) (admem.Entry, error)
	ListEntryVersions(ctx context.Context, tenantID, id string, page admem.Page) ([]admem.EntryVersion, string, error)
	GetEntryVersion(ctx context.Context, tenantID, id string, version int) (admem.EntryVersion, error)
	ForgetUser(ctx context.Context, tenantID, userID string, audit admem.AuditEvent) (admem.ForgetResult, error)
	ReleaseQuarantine(ctx context.Context, tenantID, id string, audit admem.AuditEvent) (admem.Entry, error)
	LexicalSearch(ctx context.Context, tenantID string, terms []string, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error)
	VectorSearch(ctx context.Context, tenantID, embedder string, v []float32, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error)
	SessionLayout(ctx context.Context, tenantID string, sessions []string, f admem.EntryFilter, limit int) ([]admem.RankedEntry, error)
	JudgeCandidates(ctx context.Context, tenantID string, kind admem.EntryKind, scope admem.Scope, key string, terms []string, embedder string, limit int) ([]admem.JudgeCandidate, error)
	JudgeCandidatesBatch(ctx context.Context, tenantID string, reqs []store.JudgeRequest, limit int) ([]store.JudgeCandidateSet, store.JudgeStats, error)
	ApplyBatch(ctx context.Context, tenantID string, ops []store.BatchWrite) ([]admem.Entry, error)
	EmbedPending(ctx context.Context, tenantID, embedder string, limit int, embed func(ctx context.Context, texts []string) ([][]float32, error)) (int, error)
	TenantsToEmbed(ctx context.Context, embedder string) (queued, switching []string, err error)
	SwitchEmbedder(ctx context.Context, tenantID, embedder string) (int, error)
}

// Service implements factual memory for every tenant.
type Service struct {
	store  Store
	emb    embed.Embedder // nil: no vectors, search is lexical
	log    *slog.Logger
	judge  judge.WriteThresholds
	now    admem.Clock
	embMu  sync.Mutex
	active map[string]bool // tenants with an embedding run in flight
	again  map[string]bool // tenants written to during that run
	// lastWrite is when each tenant with a run in flight last wrote.
	lastWrite map[string]time.Time
	embWG     sync.WaitGroup
	// embSlots bounds the embedding batches in flight across tenants.
	embSlots chan struct{}
}

// New returns the service. emb may be nil, in which case entries are not
// embedded and searches rank lexically.
func New(store Store, emb embed.Embedder, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, emb: emb, log: log, judge: judge.DefaultWriteThresholds, now: time.Now,
		active: map[string]bool{}, again: map[string]bool{}, lastWrite: map[string]time.Time{},
		embSlots: make(chan struct{}, maxEmbedBatches)}
}

// Embedder returns the active embedder's id, or "" without one.
func (s *Service) Embedder() string {
	if s.emb == nil {
		return ""
	}
	return s.emb.ID()
}

var (
	kindRe  = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,62}$`)
	keyRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/@-]{0,199}$`)
	spaceRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$`)
)

// MaxVectorDim bounds client-supplied vectors (pgvector indexes up to 2,000).
const MaxVectorDim = 2000

// normalize checks a write and fills its defaults; field names in errors are
// prefixed with at ("" or "entries[3].").
func normalize(in admem.NewEntry, at string, now time.Time) (admem.NewEntry, error) {
	if in.Kind == "" {
		in.Kind = admem.KindFact
	}
	if !kindRe.MatchString(string(in.Kind)) {
		return in, admem.Invalid(at+"kind", "1–63 characters: lowercase letters, digits, '_', '.', '-', starting with a letter")
	}
	if strings.TrimSpace(in.Content) == "" {
		return in, admem.Invalid(at+"content", "required")
	}
	if len(in.Content) > admem.MaxContentBytes {
		return in, admem.Invalid(at+"content", fmt.Sprintf("at most %d bytes", admem.MaxContentBytes))
	}
	if !utf8.ValidString(in.Content) || strings.ContainsRune(in.Content, 0) {
		return in, admem.Invalid(at+"content", "must be valid UTF-8 text")
	}
	if in.Key != "" && !keyRe.MatchString(in.Key) {
		return in, admem.Invalid(at+"key", "up to 200 characters: letters, digits and _ . : / @ -, starting with a letter or digit")
	}
	tags, err := normalizeTags(in.Tags, at)
	if err != nil {
		return in, err
	}
	in.Tags = tags
	for _, f := range []struct{ name, v string }{{"agent_id", in.Scope.AgentID}, {"user_id", in.Scope.UserID}, {"session_id", in.Scope.SessionID}} {
		if len(f.v) > admem.MaxScopeLen || !utf8.ValidString(f.v) || strings.ContainsRune(f.v, 0) {
			return in, admem.Invalid(at+f.name, fmt.Sprintf("at most %d characters of valid UTF-8", admem.MaxScopeLen))
		}
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return in, admem.Invalid(at+"expires_at", "must be in the future")
	}
	if in.Metadata == nil {
		in.Metadata = map[string]any{}
	}
	if in.Vector != nil || in.VectorSpace != "" {
		if !spaceRe.MatchString(in.VectorSpace) {
			return in, admem.Invalid(at+"vector_space", "required with vector: 1–63 letters, digits, '_', '.', ':', '-'")
		}
		if err := checkVector(in.Vector, at+"vector"); err != nil {
			return in, err
		}
	}
	switch in.Provenance.Source {
	case "":
		in.Provenance.Source = admem.SourceRequest
	case admem.SourceRequest, admem.SourceTrajectory, admem.SourceWorker:
	default:
		return in, admem.Invalid(at+"source", "request, trajectory or worker")
	}
	return in, nil
}

func checkVector(v []float32, field string) error {
	if len(v) == 0 || len(v) > MaxVectorDim {
		return admem.Invalid(field, fmt.Sprintf("1 to %d numbers", MaxVectorDim))
	}
	var ss float64
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return admem.Invalid(field, "finite numbers only")
		}
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return admem.Invalid(field, "must not be the zero vector")
	}
	return nil
}

func normalizeTags(tags []string, at string) ([]string, error) {
	if len(tags) > admem.MaxTags {
		return nil, admem.Invalid(at+"tags", fmt.Sprintf("at most %d tags", admem.MaxTags))
	}
	out := make([]string, 0, len(tags))
	for _, t := range tags {
		t = strings.TrimSpace(t)
		if t == "" || len(t) > admem.MaxTagLen || !utf8.ValidString(t) || strings.ContainsRune(t, 0) {
			return nil, admem.Invalid(at+"tags", fmt.Sprintf("each tag 1–%d characters", admem.MaxTagLen))
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// keySeparators turns a key's separators into spaces, so that its parts are
// indexed as words.
var keySeparators = strings.NewReplacer(".", " ", "_", " ", ":", " ", "/", " ", "-", " ")

// indexText is the text an entry is searched by: its content, tags and key.
func indexText(content string, tags []string, key string) string {
	var b strings.Builder
	b.WriteString(content)
	for _, t := range tags {
		b.WriteString(" " + t)
	}
	if key != "" {
		b.WriteString(" " + keySeparators.Replace(key))
	}
	return b.String()
}

func clientSpace(name string) string { return "client:" + name }

// Write stores one entry as the judge decides: ADD a new entry, UPDATE the
// entry it matches (a new version), or NOOP (the matched entry is returned
// and its last-seen time bumped). With o.Infer false it always adds.
func (s *Service) Write(ctx context.Context, tenantID string, in admem.NewEntry, o admem.WriteOptions) (admem.WriteResult, error) {
	in, err := normalize(in, "", s.now())
	if err != nil {
		return admem.WriteResult{}, err
	}
	res, err := s.write(ctx, tenantID, in, o, true)
	if err != nil {
		return admem.WriteResult{}, err
	}
	s.kick(tenantID)
	return res, nil
}

// WriteBatch stores up to admem.MaxBatch entries in one transaction (all or
// nothing). Without inference they are inserted and embedded in the
// background; with it, each is judged in turn, in order, so a later entry
// can update or repeat an earlier one (see writeJudged).
func (s *Service) WriteBatch(ctx context.Context, tenantID string, ins []admem.NewEntry, o admem.WriteOptions) ([]admem.WriteResult, error) {
	if len(ins) == 0 {
		return nil, admem.Invalid("entries", "at least one entry")
	}
	if len(ins) > admem.MaxBatch {
		return nil, admem.Invalid("entries", fmt.Sprintf("at most %d entries per batch", admem.MaxBatch))
	}
	now := s.now()
	for i := range ins {
		var err error
		if ins[i], err = normalize(ins[i], fmt.Sprintf("entries[%d].", i), now); err != nil {
			return nil, err
		}
	}
	defer s.kick(tenantID)
	if !o.Infer {
		ws := make([]admem.EntryWrite, len(ins))
		for i, in := range ins {
			ws[i] = s.newWrite(in, judge.ReasonForcedAdd, nil)
		}
		es, err := s.store.InsertEntries(ctx, tenantID, ws)
		if err != nil {
			return nil, err
		}
		out := make([]admem.WriteResult, len(es))
		for i, e := range es {
			out[i] = admem.WriteResult{Op: admem.OpAdd, Entry: e}
			if o.Explain {
				out[i].Decision = &admem.WriteDecision{Op: admem.OpAdd, Reason: judge.ReasonForcedAdd}
			}
		}
		return out, nil
	}
	if out, err := s.writeJudged(ctx, tenantID, ins, o); !errors.Is(err, admem.ErrConflict) {
		return out, err
	}
	// A concurrent write took a key the batch adds: judge the entries one at
	// a time, each write retrying as an update of that entry.
	out := make([]admem.WriteResult, 0, len(ins))
	for _, in := range ins {
		r, err := s.write(ctx, tenantID, in, o, false)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// newWrite prepares an insert. vec is the service's own vector of the
// content, stored right away when given (a single write); otherwise the
// entry is embedded in the background.
func (s *Service) newWrite(in admem.NewEntry, reason string, vec []float32) admem.EntryWrite {
	idx := admem.EntryIndex{Terms: lexical.Analyze(indexText(in.Content, in.Tags, in.Key)),
		Quarantine: judge.ClassifyInstruction(in.Content).Reason()}
	switch {
	case in.Vector != nil:
		idx.Vector, idx.Embedder = in.Vector, clientSpace(in.VectorSpace)
	case vec != nil && s.emb != nil:
		idx.Vector, idx.Embedder = vec, s.emb.ID()
	}
	return admem.EntryWrite{
		Entry: admem.Entry{Kind: in.Kind, Key: in.Key, Content: in.Content, Metadata: in.Metadata, Tags: in.Tags,
			Scope: in.Scope, ExpiresAt: in.ExpiresAt, Status: admem.EntryActive},
		Index: idx, Provenance: in.Provenance, Reason: reason,
	}
}

func (s *Service) write(ctx context.Context, tenantID string, in admem.NewEntry, o admem.WriteOptions, embedNow bool) (admem.WriteResult, error) {
	var vec []float32
	space := ""
	switch {
	case in.Vector != nil:
		vec, space = in.Vector, clientSpace(in.VectorSpace)
	case s.emb != nil && (o.Infer || embedNow):
		vs, err := s.emb.Embed(ctx, []string{in.Content})
		if err != nil {
			return admem.WriteResult{}, fmt.Errorf("memory: embed: %w", err)
		}
		if len(vs) == 1 && !isZero(vs[0]) {
			vec, space = vs[0], s.emb.ID()
		}
	}
	d := admem.WriteDecision{Op: admem.OpAdd, Reason: judge.ReasonForcedAdd}
	var matched *admem.Entry
	if o.Infer {
		terms := lexical.Analyze(in.Content)
		cands, err := s.store.JudgeCandidates(ctx, tenantID, in.Kind, in.Scope, in.Key, terms, space, 5)
		if err != nil {
			return admem.WriteResult{}, err
		}
		jc := make([]judge.WriteCandidate, len(cands))
		for i, c := range cands {
			jc[i] = judge.WriteCandidate{ID: c.Entry.ID, Key: c.Entry.Key, Content: c.Entry.Content, Vector: c.Vector}
		}
		d = judge.DecideWrite(judge.WriteInput{Kind: in.Kind, Key: in.Key, Content: in.Content, Vector: vec}, jc, s.judge)
		for i := range cands {
			if cands[i].Entry.ID == d.MatchID {
				m := cands[i].Entry
				matched = &m
			}
		}
	}
	var res admem.WriteResult
	switch d.Op {
	case admem.OpNoop:
		e, err := s.store.TouchEntry(ctx, tenantID, d.MatchID)
		if err != nil {
			return admem.WriteResult{}, err
		}
		res = admem.WriteResult{Op: admem.OpNoop, Entry: e}
	case admem.OpUpdate:
		e, err := s.store.ReviseEntry(ctx, tenantID, d.MatchID, func(cur admem.Entry) (admem.EntryRevision, error) {
			return s.revision(updated(cur, in), admem.OpUpdate, in.Provenance, d.Reason, vec, space), nil
		})
		if err != nil {
			return admem.WriteResult{}, err
		}
		res = admem.WriteResult{Op: admem.OpUpdate, Entry: e}
	default:
		w := s.newWrite(in, d.Reason, nil)
		if vec != nil && embedNow {
			w.Index.Vector, w.Index.Embedder = vec, space
		}
		es, err := s.store.InsertEntries(ctx, tenantID, []admem.EntryWrite{w})
		if errors.Is(err, admem.ErrConflict) && in.Key != "" && o.Infer {
			// A concurrent write of the same key added it first: this
			// write is now an update of that entry.
			return s.write(ctx, tenantID, in, o, embedNow)
		}
		if err != nil {
			return admem.WriteResult{}, err
		}
		res = admem.WriteResult{Op: admem.OpAdd, Entry: es[0]}
	}
	if o.Explain {
		d.Scores = nonNil(d.Scores)
		res.Decision, res.Matched = &d, matched
	}
	return res, nil
}

// updated is the state an UPDATE by write in gives the entry cur: the new
// content, the write's key (if any), merged metadata and tags, and its expiry.
func updated(cur admem.Entry, in admem.NewEntry) admem.Entry {
	next := cur
	next.Content, next.Status = in.Content, admem.EntryActive
	if in.Key != "" {
		next.Key = in.Key
	}
	if len(in.Metadata) > 0 {
		next.Metadata = mergeMetadata(cur.Metadata, in.Metadata)
	}
	if len(in.Tags) > 0 {
		next.Tags = mergeTags(cur.Tags, in.Tags)
	}
	if in.ExpiresAt != nil {
		next.ExpiresAt = in.ExpiresAt
	}
	return next
}

func nonNil(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

func isZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return false
		}
	}
	return true
}

func mergeMetadata(old, add map[string]any) map[string]any {
	out := make(map[string]any, len(old)+len(add))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range add {
		out[k] = v
	}
	return out
}

func mergeTags(old, add []string) []string {
	out := slices.Clone(old)
	for _, t := range add {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

// revision builds the stored form of a new version. vec, when not nil, is
// the new content's vector in space; otherwise an unchanged content keeps
// its vector and a changed one is re-embedded in the background.
func (s *Service) revision(e admem.Entry, op admem.WriteOp, prov admem.Provenance, reason string, vec []float32, space string) admem.EntryRevision {
	if prov.Source == "" {
		prov.Source = admem.SourceRequest
	}
	r := admem.EntryRevision{Entry: e, Op: op, Provenance: prov, Reason: reason,
		Index: admem.EntryIndex{Terms: lexical.Analyze(indexText(e.Content, e.Tags, e.Key)),
			Quarantine: judge.ClassifyInstruction(e.Content).Reason()}}
	if vec != nil {
		r.Index.Vector, r.Index.Embedder = vec, space
	}
	return r
}

// Get returns one entry.
func (s *Service) Get(ctx context.Context, tenantID, id string) (admem.Entry, error) {
	return s.store.GetEntry(ctx, tenantID, id)
}

// List pages through entries matching f, newest first.
func (s *Service) List(ctx context.Context, tenantID string, f admem.EntryFilter, page admem.Page) ([]admem.Entry, string, error) {
	if err := checkFilter(f); err != nil {
		return nil, "", err
	}
	return s.store.ListEntries(ctx, tenantID, f, page)
}

// FindByKey returns the live entry of kind with key in exactly this scope.
func (s *Service) FindByKey(ctx context.Context, tenantID string, kind admem.EntryKind, key string, scope admem.Scope) (admem.Entry, error) {
	for _, st := range []admem.EntryStatus{admem.EntryActive, admem.EntryRetired} {
		es, _, err := s.store.ListEntries(ctx, tenantID, admem.EntryFilter{Kinds: []admem.EntryKind{kind}, Key: key, Status: st,
			AgentID: scope.AgentID, UserID: scope.UserID, SessionID: scope.SessionID, IncludeExpired: true}, admem.Page{Limit: 20})
		if err != nil {
			return admem.Entry{}, err
		}
		for _, e := range es {
			if e.Scope == scope {
				return e, nil
			}
		}
	}
	return admem.Entry{}, admem.ErrNotFound
}

func checkFilter(f admem.EntryFilter) error {
	switch f.Status {
	case "", admem.EntryActive, admem.EntryRetired, admem.EntryDeleted, "any":
	default:
		return admem.Invalid("status", "active, retired, deleted or any")
	}
	for _, k := range slices.Concat(f.Kinds, f.NotKinds) {
		if !kindRe.MatchString(string(k)) {
			return admem.Invalid("kind", "not a valid kind")
		}
	}
	if len(f.Tags) > admem.MaxTags {
		return admem.Invalid("tags", fmt.Sprintf("at most %d tags", admem.MaxTags))
	}
	if f.CreatedAfter != nil && f.CreatedBefore != nil && !f.CreatedAfter.Before(*f.CreatedBefore) {
		return admem.Invalid("created_before", "must be after created_after")
	}
	return nil
}

// Update makes a new version with the changed fields.
func (s *Service) Update(ctx context.Context, tenantID, id string, u admem.EntryUpdate) (admem.Entry, error) {
	if u.Content == nil && u.Key == nil && u.Metadata == nil && u.Tags == nil && u.ExpiresAt == nil && u.Status == nil {
		return admem.Entry{}, admem.Invalid("(body)", "change at least one of content, key, metadata, tags, expires_at, status")
	}
	if u.Status != nil && *u.Status != admem.EntryActive && *u.Status != admem.EntryRetired {
		return admem.Entry{}, admem.Invalid("status", "active or retired (DELETE the entry to delete it)")
	}
	if u.Tags != nil {
		t, err := normalizeTags(u.Tags, "")
		if err != nil {
			return admem.Entry{}, err
		}
		u.Tags = t
	}
	if u.Provenance.Source == "" {
		u.Provenance.Source = admem.SourceRequest
	}
	e, err := s.store.ReviseEntry(ctx, tenantID, id, func(cur admem.Entry) (admem.EntryRevision, error) {
		if cur.Status == admem.EntryDeleted {
			return admem.EntryRevision{}, admem.Errorf(admem.ECONFLICT, "the entry is deleted; roll it back to a version to restore it")
		}
		next := cur
		if u.Content != nil {
			next.Content = *u.Content
		}
		if u.Key != nil {
			next.Key = *u.Key
		}
		if u.Metadata != nil {
			next.Metadata = u.Metadata
		}
		if u.Tags != nil {
			next.Tags = u.Tags
		}
		if u.ExpiresAt != nil {
			next.ExpiresAt = u.ExpiresAt
		}
		if u.Status != nil {
			next.Status = *u.Status
		}
		chk, err := normalize(admem.NewEntry{Kind: cur.Kind, Key: next.Key, Content: next.Content, Tags: next.Tags,
			Scope: cur.Scope, ExpiresAt: u.ExpiresAt, Provenance: u.Provenance}, "", s.now())
		if err != nil {
			return admem.EntryRevision{}, err
		}
		next.Tags = chk.Tags
		var vec []float32
		space := ""
		if s.emb != nil && next.Content != cur.Content {
			if vs, err := s.emb.Embed(ctx, []string{next.Content}); err == nil && len(vs) == 1 && !isZero(vs[0]) {
				vec, space = vs[0], s.emb.ID()
			}
		}
		return s.revision(next, admem.OpUpdate, u.Provenance, "update", vec, space), nil
	})
	if err != nil {
		return admem.Entry{}, err
	}
	s.kick(tenantID)
	return e, nil
}

// Delete tombstones an entry: a DELETE version; history stays, and search
// no longer finds it. Deleting a deleted entry changes nothing.
func (s *Service) Delete(ctx context.Context, tenantID, id string, prov admem.Provenance) (admem.Entry, error) {
	cur, err := s.store.GetEntry(ctx, tenantID, id)
	if err != nil {
		return admem.Entry{}, err
	}
	if cur.Status == admem.EntryDeleted {
		return cur, nil
	}
	return s.store.ReviseEntry(ctx, tenantID, id, func(cur admem.Entry) (admem.EntryRevision, error) {
		next := cur
		next.Status = admem.EntryDeleted
		return s.revision(next, admem.OpDelete, prov, "deleted", nil, ""), nil
	})
}

// Versions pages through an entry's versions, newest first.
func (s *Service) Versions(ctx context.Context, tenantID, id string, page admem.Page) ([]admem.EntryVersion, string, error) {
	return s.store.ListEntryVersions(ctx, tenantID, id, page)
}

// Rollback restores version v: a new ROLLBACK version with v's key, content,
// metadata, tags, expiry and status (a rollback to a deleted version deletes).
func (s *Service) Rollback(ctx context.Context, tenantID, id string, v int, prov admem.Provenance) (admem.Entry, error) {
	if v < 1 {
		return admem.Entry{}, admem.Invalid("version", "a version number from 1")
	}
	old, err := s.store.GetEntryVersion(ctx, tenantID, id, v)
	if err != nil {
		if errors.Is(err, admem.ErrNotFound) {
			if _, gerr := s.store.GetEntry(ctx, tenantID, id); gerr != nil {
				return admem.Entry{}, gerr
			}
			return admem.Entry{}, admem.Invalid("version", fmt.Sprintf("the entry has no version %d", v))
		}
		return admem.Entry{}, err
	}
	e, err := s.store.ReviseEntry(ctx, tenantID, id, func(cur admem.Entry) (admem.EntryRevision, error) {
		next := cur
		next.Key, next.Content, next.Metadata, next.Tags, next.ExpiresAt, next.Status = old.Key, old.Content, old.Metadata, old.Tags, old.ExpiresAt, old.Status
		var vec []float32
		space := ""
		if s.emb != nil && next.Content != cur.Content {
			if vs, err := s.emb.Embed(ctx, []string{next.Content}); err == nil && len(vs) == 1 && !isZero(vs[0]) {
				vec, space = vs[0], s.emb.ID()
			}
		}
		return s.revision(next, admem.OpRollback, prov, fmt.Sprintf("rollback to version %d", v), vec, space), nil
	})
	if errors.Is(err, admem.ErrConflict) {
		return admem.Entry{}, admem.Errorf(admem.ECONFLICT, "another live entry now holds this entry's key in its scope")
	}
	if err != nil {
		return admem.Entry{}, err
	}
	s.kick(tenantID)
	return e, nil
}

// ForgetUser deletes every entry scoped to userID and all their versions
// (right to be forgotten). The audit log keeps a record of it that names the
// user only by a salted hash.
func (s *Service) ForgetUser(ctx context.Context, tenantID, userID string, prov admem.Provenance) (admem.ForgetResult, error) {
	if strings.TrimSpace(userID) == "" || len(userID) > admem.MaxScopeLen {
		return admem.ForgetResult{}, admem.Invalid("user_id", "required, at most 200 characters")
	}
	return s.store.ForgetUser(ctx, tenantID, userID, admem.AuditEvent{ActorKeyID: prov.ActorKeyID, Action: "entries.user_forgotten",
		RequestID: prov.SourceID})
}

// Quarantined pages through the entries held in quarantine: written with
// content the judge found instruction-like, not yet released.
func (s *Service) Quarantined(ctx context.Context, tenantID string, page admem.Page) ([]admem.Entry, string, error) {
	return s.store.ListEntries(ctx, tenantID, admem.EntryFilter{Status: "any", IncludeExpired: true, Quarantined: true}, page)
}

// ReleaseQuarantine lets a tenant admin vouch for a quarantined entry: it
// becomes trusted and recall serves it in the prompt text. The release is
// audited and holds until the entry's content changes.
func (s *Service) ReleaseQuarantine(ctx context.Context, tenantID, id string, prov admem.Provenance) (admem.Entry, error) {
	return s.store.ReleaseQuarantine(ctx, tenantID, id, admem.AuditEvent{ActorKeyID: prov.ActorKeyID, Action: "entry.quarantine_released",
		RequestID: prov.SourceID})
}
