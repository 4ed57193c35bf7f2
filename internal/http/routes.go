package http

import (
	"net/http"

	"github.com/admem/admem"
	"github.com/go-chi/chi/v5"
)

// routes lists every route of the API.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	s.mux = r
	r.Use(withRequestID, s.realIP, s.observe, s.limitBody)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemFor(r, http.StatusNotFound, admem.ENOTFOUND, "no such route"))
	})
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, problemFor(r, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here"))
	})

	r.Get("/healthz", s.handleHealthz)
	r.Get("/readyz", s.handleReadyz)
	// Metrics span every tenant: on the API port only for the platform.
	// ADMEM_METRICS_ADDR serves them without credentials on a listener of
	// their own (cmd/api), for a scraper on a private network.
	r.With(s.authenticate, s.rateLimit, s.require(admem.ScopePlatform)).Method(http.MethodGet, "/metrics", s.MetricsHandler())
	r.Get("/openapi.yaml", s.handleOpenAPI)
	// MCP (streamable HTTP): each tool is one call of the routes below with
	// the request's own credential, so the same scopes and limits hold.
	r.With(s.authenticate).Handle("/mcp", s.mcpHandler())

	r.Route("/v1", func(r chi.Router) {
		r.Use(s.authenticate, s.rateLimit, s.validate)

		r.Post("/auth/token", s.handleIssueToken)
		r.Get("/me", s.handleMe)

		// Platform administration.
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopePlatform))
			r.With(s.idempotent).Post("/tenants", s.handleCreateTenant)
			r.Get("/tenants", s.handleListTenants)
			r.Patch("/tenants/{tenantID}", s.handleUpdateTenant)
			r.With(s.idempotent).Post("/tenants/{tenantID}/keys", s.handleCreateTenantKey)
		})
		r.Get("/tenants/{tenantID}", s.handleGetTenant)

		// Tenant administration.
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopeAdmin))
			r.With(s.idempotent).Post("/keys", s.handleCreateKey)
			r.Get("/keys", s.handleListKeys)
			r.Get("/keys/{keyID}", s.handleGetKey)
			r.Delete("/keys/{keyID}", s.handleRevokeKey)
			r.Put("/keys/{keyID}/learning-trust", s.handleSetKeyTrust)
			r.Get("/tools", s.handleListTools)
			r.Get("/tools/{tool}", s.handleGetTool)
			r.Put("/tools/{tool}/annotations", s.handlePutToolAnnotation)
			r.Delete("/tools/{tool}/annotations", s.handleDeleteToolAnnotation)
			r.Put("/tools/{tool}/replacements/{replacement}", s.handleConfirmReplacement)
			r.Delete("/tools/{tool}/replacements/{replacement}", s.handleWithdrawReplacement)
			r.Get("/audit", s.handleListAudit)
			r.Patch("/failures/{failureID}", s.handleUpdateFailure)
			r.Post("/failures/{failureID}/merge", s.handleMergeFailure)
			r.Post("/failures/{failureID}/split", s.handleSplitFailure)
			r.Get("/adapters", s.handleListAdapters)
			r.Get("/adapters/{version}", s.handleGetAdapter)
			r.Post("/adapters/{version}/activate", s.handleActivateAdapter)
			r.Put("/guard/settings", s.handlePutGuardSettings)
			r.Get("/dead-letters", s.handleListDeadLetters)
			r.Put("/learning/settings", s.handlePutLearningSettings)
			r.Get("/provenance", s.handleGetProvenance)
			r.Post("/provenance/purge", s.handlePurgeProvenance)
			r.Get("/quarantine", s.handleListQuarantine)
			r.Post("/quarantine/{entryID}/release", s.handleReleaseQuarantine)
		})

		// Learning from failure: failure clusters and guard (read scope).
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopeRead))
			r.Get("/failures", s.handleListFailures)
			r.Get("/failures/{failureID}", s.handleGetFailure)
			r.Post("/guard", s.handleGuard)
			r.Get("/guard/settings", s.handleGetGuardSettings)
		})

		// Factual memory: versioned entries, history, search.
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopeWrite))
			r.With(s.idempotent).Post("/entries", s.handleCreateEntry)
			r.With(s.idempotent).Post("/entries/batch", s.handleCreateEntries)
			r.Patch("/entries/{entryID}", s.handleUpdateEntry)
			r.Delete("/entries/{entryID}", s.handleDeleteEntry)
			r.With(s.idempotent).Post("/entries/{entryID}/rollback", s.handleRollbackEntry)
		})
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopeRead))
			r.Get("/entries", s.handleListEntries)
			r.Post("/entries/search", s.handleSearchEntries)
			r.Get("/entries/{entryID}", s.handleGetEntry)
			r.Get("/entries/{entryID}/versions", s.handleListEntryVersions)
		})
		r.With(s.require(admem.ScopeAdmin)).Post("/entries/forget", s.handleForgetUser)

		// Trajectories (episodic memory) and what was learnt from them.
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopeWrite))
			r.With(s.idempotent).Post("/trajectories", s.handleRecordTrajectory)
			r.With(s.idempotent).Post("/trajectories/batch", s.handleRecordTrajectoryBatch)
			r.With(s.idempotent).Post("/trajectories/{trajectoryID}/steps", s.handleAppendSteps)
			r.With(s.idempotent).Post("/trajectories/{trajectoryID}/close", s.handleCloseTrajectory)
			r.Post("/recalls/{recallID}/feedback", s.handleRecallFeedback)
		})
		r.Group(func(r chi.Router) {
			r.Use(s.require(admem.ScopeRead))
			r.Get("/trajectories", s.handleListTrajectories)
			r.Get("/trajectories/{trajectoryID}", s.handleGetTrajectory)
			r.Get("/learned", s.handleListLearned)
			r.Get("/learned/{itemID}", s.handleGetLearned)
			r.Get("/learned/{itemID}/versions", s.handleListLearnedVersions)
			r.Get("/learning/settings", s.handleGetLearningSettings)
			r.Get("/learning/status", s.handleGetLearningStatus)
			r.Post("/recall", s.handleRecall)
		})
	})
	return r
}
