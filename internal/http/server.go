// Package http serves admem's HTTP API: the routes (all in routes.go),
// middleware for request ids, logs, metrics, auth, rate limits, body limits
// and idempotency, the wire types of openapi.yaml, and the one mapping from
// domain errors to problem+json responses. It never writes SQL.
package http

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/adapters"
	"github.com/admem/admem/internal/auth"
	"github.com/admem/admem/internal/failures"
	"github.com/admem/admem/internal/guard"
	"github.com/admem/admem/internal/memory"
	"github.com/admem/admem/internal/ratelimit"
	"github.com/admem/admem/internal/recall"
	"github.com/admem/admem/internal/tenancy"
	"github.com/admem/admem/internal/toolclass"
	"github.com/admem/admem/internal/trajectories"
	"github.com/go-chi/chi/v5"
	"github.com/prometheus/client_golang/prometheus"
)

// Deps are what the server is built from.
type Deps struct {
	Log          *slog.Logger
	Auth         *auth.Authenticator
	Tenancy      *tenancy.Service
	Idempotency  IdempotencyStore
	Limiter      Limiter // nil disables rate limiting
	DefaultLimit ratelimit.Limit
	// KeyLimit caps one key within its tenant's limit; zero: no cap.
	KeyLimit ratelimit.Limit
	// AuthFailLimit bounds failed authentications per client address and
	// per key prefix; zero: unbounded.
	AuthFailLimit ratelimit.Limit
	Ready         func(ctx context.Context) map[string]error
	// Degradable names the Ready checks the API works without (in a
	// degraded way): their failure makes /readyz say "degraded" with a
	// 200, so a load balancer keeps the replica.
	Degradable     []string
	Registry       *prometheus.Registry
	MaxBodyBytes   int64
	TrustedProxies []netip.Prefix
	HSTS           bool   // the deployment is reached over HTTPS
	SealKey        []byte // seals stored idempotent responses
	OpenAPI        []byte
	// Learning from failure: clusters, adapter admin, guard.
	Failures *failures.Service
	Adapters *adapters.Service
	Guard    *guard.Service
	// Tools: what each tool does, declared by admins or inferred.
	Tools        *toolclass.Service
	Trajectories *trajectories.Service
	DeadLetters  DeadLetters
	// LearningStatus tells a tenant whether the worker has caught up.
	LearningStatus LearningStatus
	Recall         *recall.Service
	// Memory is factual memory: entries, their history and search.
	Memory *memory.Service
	// IdempotencyLease is how long a claimed Idempotency-Key outlives its
	// request's last renewal (zero: DefaultIdempotencyLease).
	IdempotencyLease time.Duration
}

// Server is the HTTP API.
type Server struct {
	log            *slog.Logger
	auth           *auth.Authenticator
	tenancy        *tenancy.Service
	idem           IdempotencyStore
	idemLease      time.Duration
	limiter        Limiter
	defaultLimit   ratelimit.Limit
	keyLimit       ratelimit.Limit
	authThrottle   authThrottle
	ready          func(ctx context.Context) map[string]error
	degradable     []string
	registry       *prometheus.Registry
	maxBody        int64
	trustedProxies []netip.Prefix
	hsts           bool
	sealKey        []byte
	openapi        []byte
	failures       *failures.Service
	adapters       *adapters.Service
	guard          *guard.Service
	tools          *toolclass.Service
	trajectories   *trajectories.Service
	deadLetters    DeadLetters
	learningStatus LearningStatus
	recall         *recall.Service
	memory         *memory.Service
	metrics        *metrics
	specOps        map[string]specOp // openapi.yaml's operations, for validate
	mux            *chi.Mux
	handler        http.Handler
}

// New builds the server and its router.
func New(d Deps) *Server {
	s := &Server{
		log:            d.Log,
		auth:           d.Auth,
		tenancy:        d.Tenancy,
		idem:           d.Idempotency,
		idemLease:      d.IdempotencyLease,
		limiter:        d.Limiter,
		defaultLimit:   d.DefaultLimit,
		keyLimit:       d.KeyLimit,
		authThrottle:   authThrottle{limit: d.AuthFailLimit},
		ready:          d.Ready,
		degradable:     d.Degradable,
		registry:       d.Registry,
		maxBody:        d.MaxBodyBytes,
		trustedProxies: d.TrustedProxies,
		hsts:           d.HSTS,
		sealKey:        d.SealKey,
		openapi:        d.OpenAPI,
		failures:       d.Failures,
		adapters:       d.Adapters,
		guard:          d.Guard,
		tools:          d.Tools,
		trajectories:   d.Trajectories,
		deadLetters:    d.DeadLetters,
		learningStatus: d.LearningStatus,
		recall:         d.Recall,
		memory:         d.Memory,
	}
	if s.idemLease <= 0 {
		s.idemLease = DefaultIdempotencyLease
	}
	if s.maxBody <= 0 {
		s.maxBody = 16 << 20
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	s.metrics = newMetrics(s.registry)
	spec := d.OpenAPI
	if len(spec) == 0 {
		spec = admem.OpenAPISpec
	}
	ops, err := loadSpecOps(spec)
	if err != nil {
		panic(err) // the spec is embedded and checked by the tests
	}
	s.specOps = ops
	s.handler = s.routes()
	return s
}

// ServeHTTP makes Server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }
