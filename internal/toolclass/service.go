package toolclass

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/admem/admem"
)

// Known is a tool as the tenant's store knows it: its declared class (""
// when none), when it was declared, and the replacements an admin
// confirmed for it.
type Known struct {
	Name         string
	Declared     Class
	DeclaredAt   time.Time
	Replacements []string
}

// Listing is a tool as the admin routes show it: its class and where the
// class came from.
type Listing struct {
	Tool
	DeclaredAt   *time.Time
	Replacements []string
}

// Store keeps the tenant's tool annotations and confirmed replacements.
type Store interface {
	KnownTools(ctx context.Context, tenantID, after string, limit int) ([]Known, error)
	KnownTool(ctx context.Context, tenantID, tool string) (Known, error)
	AnnotateTool(ctx context.Context, tenantID, tool string, class Class, audit admem.AuditEvent) (Known, error)
	ConfirmReplacement(ctx context.Context, tenantID, from, to string, confirm bool, audit admem.AuditEvent) (Known, error)
}

// Service is the tenant admins' view of tool classes.
type Service struct{ store Store }

// NewService returns the service.
func NewService(store Store) *Service { return &Service{store: store} }

func listing(k Known) Listing {
	l := Listing{Tool: Tool{Name: k.Name, Class: Infer(k.Name)}, Replacements: k.Replacements}
	if k.Declared != "" {
		at := k.DeclaredAt
		l.Class, l.Declared, l.DeclaredAt = k.Declared, true, &at
	}
	if l.Replacements == nil {
		l.Replacements = []string{}
	}
	return l
}

// List pages through the tenant's tools by name: those called, annotated
// or named in a replacement, with their declared or inferred class.
func (s *Service) List(ctx context.Context, p admem.Principal, page admem.Page) ([]Listing, string, error) {
	if !p.Can(admem.ScopeAdmin) {
		return nil, "", admem.ErrForbidden
	}
	page = page.Normalize()
	after := ""
	if page.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(page.Cursor)
		if err != nil || len(b) == 0 || len(b) > MaxToolLen {
			return nil, "", admem.Invalid("cursor", "not a cursor this list returned")
		}
		after = string(b)
	}
	ks, err := s.store.KnownTools(ctx, p.TenantID, after, page.Limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ks) > page.Limit {
		ks = ks[:page.Limit]
		next = base64.RawURLEncoding.EncodeToString([]byte(ks[len(ks)-1].Name))
	}
	out := make([]Listing, len(ks))
	for i, k := range ks {
		out[i] = listing(k)
	}
	return out, next, nil
}

// Get returns one tool's class (any name: a tool never seen has its
// inferred class).
func (s *Service) Get(ctx context.Context, p admem.Principal, tool string) (Listing, error) {
	if !p.Can(admem.ScopeAdmin) {
		return Listing{}, admem.ErrForbidden
	}
	if err := validTool("tool", tool); err != nil {
		return Listing{}, err
	}
	k, err := s.store.KnownTool(ctx, p.TenantID, tool)
	if err != nil {
		return Listing{}, err
	}
	return listing(k), nil
}

// Annotate declares what a tool does (audited as tool.annotated); class
// "" removes the declaration.
func (s *Service) Annotate(ctx context.Context, p admem.Principal, tool string, class Class) (Listing, error) {
	if !p.Can(admem.ScopeAdmin) {
		return Listing{}, admem.ErrForbidden
	}
	if err := validTool("tool", tool); err != nil {
		return Listing{}, err
	}
	if class != "" && !class.Valid() {
		return Listing{}, admem.Invalid("class", "read_only, writes or destructive")
	}
	k, err := s.store.AnnotateTool(ctx, p.TenantID, tool, class, admem.AuditEvent{ActorKeyID: p.KeyID, Action: "tool.annotated"})
	if err != nil {
		return Listing{}, err
	}
	return listing(k), nil
}

// ConfirmReplacement confirms (or withdraws, confirm false) that guard may
// suggest calling to instead of from even when to writes or destroys
// (audited as tool.replacement_confirmed / tool.replacement_withdrawn).
func (s *Service) ConfirmReplacement(ctx context.Context, p admem.Principal, from, to string, confirm bool) (Listing, error) {
	if !p.Can(admem.ScopeAdmin) {
		return Listing{}, admem.ErrForbidden
	}
	if err := validTool("tool", from); err != nil {
		return Listing{}, err
	}
	if err := validTool("replacement", to); err != nil {
		return Listing{}, err
	}
	if from == to {
		return Listing{}, admem.Invalid("replacement", "another tool than the one it replaces")
	}
	action := "tool.replacement_confirmed"
	if !confirm {
		action = "tool.replacement_withdrawn"
	}
	k, err := s.store.ConfirmReplacement(ctx, p.TenantID, from, to, confirm, admem.AuditEvent{ActorKeyID: p.KeyID, Action: action})
	if err != nil {
		return Listing{}, err
	}
	return listing(k), nil
}

func validTool(field, tool string) error {
	if msg := checkTool(tool); msg != "" {
		return admem.Invalid(field, msg)
	}
	return nil
}
