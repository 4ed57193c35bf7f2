// Package admem holds the domain types of the admem memory service: tenants,
// keys, memory entries, trajectories and the errors every layer speaks.
// It imports no infrastructure (HTTP, SQL, Redis, JWT); the packages under
// internal/ implement and serve it.
package admem

import "time"

// Scope narrows a memory item or trajectory to an agent, a user and a session.
// Any field may be empty, meaning "not scoped by this".
type Scope struct {
	AgentID   string
	UserID    string
	SessionID string
}

// Page asks for one page of a list, after Cursor (empty for the first page).
type Page struct {
	Limit  int
	Cursor string
}

// DefaultPageLimit and MaxPageLimit bound list requests.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 500
)

// Normalize returns p with its limit defaulted and clamped.
func (p Page) Normalize() Page {
	if p.Limit <= 0 {
		p.Limit = DefaultPageLimit
	}
	if p.Limit > MaxPageLimit {
		p.Limit = MaxPageLimit
	}
	return p
}

// Clock returns the current time; tests replace it.
type Clock func() time.Time
