package wiring

import (
	"context"
	"log/slog"
	"sync"

	"github.com/admem/admem"
	"github.com/admem/admem/internal/auth"
	"github.com/admem/admem/internal/config"
	"github.com/admem/admem/internal/events"
	apihttp "github.com/admem/admem/internal/http"
	"github.com/admem/admem/internal/memory"
	"github.com/admem/admem/internal/ratelimit"
	"github.com/admem/admem/internal/recall"
	"github.com/admem/admem/internal/tenancy"
	"github.com/admem/admem/internal/toolclass"
	"github.com/admem/admem/internal/trajectories"
	"github.com/prometheus/client_golang/prometheus"
)

// API is the assembled HTTP API and the services behind it.
type API struct {
	Server  *apihttp.Server
	Tenancy *tenancy.Service
	Auth    *auth.Authenticator
	// Learning is failure clusters, adapter admin, guard and this
	// replica's adapter registry (kept current in the background).
	Learning *Learning
	// Memory is factual memory (entries and search).
	Memory *memory.Service

	stop      context.CancelFunc // ends the background work
	done      chan struct{}      // closed when it has ended
	closeOnce sync.Once
}

// NewAPI assembles the API over infra; the binary and the tests both build it
// here, so tests exercise exactly what runs.
func NewAPI(cfg config.Config, infra *Infra, log *slog.Logger, reg *prometheus.Registry) *API {
	learning := NewLearning(cfg, infra, log)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "admem_redis_breaker_open", Help: "1 while the request path's Redis circuit breaker is open (Redis keeps failing).",
	}, func() float64 {
		if open, _ := infra.RedisBreaker.Open(); open {
			return 1
		}
		return 0
	}))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		learning.FollowAdapters(ctx, infra.Redis, cfg.RedisPrefix, cfg.AdapterPoll, log)
	}()
	authn := auth.NewAuthenticator(infra.DB, auth.NewTokenIssuer(cfg.JWTSecret, cfg.JWTIssuer, cfg.JWTAudience, cfg.JWTTTL), log)
	ten := tenancy.New(infra.DB, authn)
	mem := NewMemory(cfg, infra, log)
	srv := apihttp.New(apihttp.Deps{
		Log:            log,
		Auth:           authn,
		Tenancy:        ten,
		Idempotency:    infra.DB,
		Limiter:        ratelimit.New(infra.RequestRedis, cfg.RedisPrefix),
		DefaultLimit:   ratelimit.Limit{RPS: cfg.RateLimitRPS, Burst: cfg.RateLimitBurst},
		KeyLimit:       ratelimit.Limit{RPS: cfg.KeyRateLimitRPS, Burst: cfg.KeyRateLimitBurst},
		AuthFailLimit:  ratelimit.Limit{RPS: cfg.AuthFailRPS, Burst: cfg.AuthFailBurst},
		Ready:          infra.Ready,
		Degradable:     []string{"redis"},
		Registry:       reg,
		MaxBodyBytes:   cfg.MaxBodyBytes,
		TrustedProxies: cfg.TrustedProxies,
		HSTS:           true,
		SealKey:        []byte(cfg.JWTSecret),
		OpenAPI:        admem.OpenAPISpec,
		Failures:       learning.Failures,
		Adapters:       learning.Adapters,
		Guard:          learning.Guard,
		Tools:          toolclass.NewService(infra.DB),
		Trajectories:   trajectories.New(infra.DB, trajectories.NewLearner(), log),
		DeadLetters:    infra.DB,
		LearningStatus: events.NewStatus(infra.DB),
		Recall:         recall.New(infra.DB, mem, log).WithAdapters(learning.Registry, learning.Embedder, infra.DB),
		Memory:         mem,

		IdempotencyLease: cfg.IdempotencyLease,
	})
	return &API{Server: srv, Tenancy: ten, Auth: authn, Learning: learning, Memory: mem, stop: stop, done: done}
}

// Close stops the API's background work (the adapter follower) and waits
// for it to end. Call it after the HTTP server has drained and before the
// infrastructure closes; calling it again does nothing.
func (a *API) Close() {
	a.closeOnce.Do(func() {
		a.stop()
		<-a.done
	})
}
