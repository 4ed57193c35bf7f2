package http

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsHandler serves the registry in the Prometheus text format, with
// no authentication of its own.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

type metrics struct {
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	rateLimited     prometheus.Counter
	rateLimitErrors prometheus.Counter
	authThrottled   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "admem_http_requests_total", Help: "HTTP requests by method, route pattern and status.",
		}, []string{"method", "route", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "admem_http_request_duration_seconds",
			Help:    "HTTP request latency, server side, by method, route pattern and status.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route", "status"}),
		rateLimited: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "admem_http_rate_limited_total", Help: "Requests refused with 429.",
		}),
		rateLimitErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "admem_http_rate_limiter_errors_total", Help: "Requests let through (or failed authentications not counted) because the rate limiter (Redis) failed or its breaker was open.",
		}),
		authThrottled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "admem_http_auth_throttled_total", Help: "Requests refused with 429 because their client address or key prefix failed authentication too often.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.rateLimited, m.rateLimitErrors, m.authThrottled)
	return m
}
