package events

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Metrics are the pipeline's Prometheus series.
type Metrics struct {
	relayed       prometheus.Counter
	relayErrors   prometheus.Counter
	processed     *prometheus.CounterVec
	handleSeconds *prometheus.HistogramVec
	reclaimed     prometheus.Counter
	rerelayed     prometheus.Counter
	deadLettered  prometheus.Counter
	eventAge      prometheus.Histogram

	outboxPending prometheus.Gauge
	outboxAge     prometheus.Gauge
	streamLength  prometheus.Gauge
	groupPending  prometheus.Gauge
	groupLag      prometheus.Gauge
}

// NewMetrics registers the series with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		relayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "admem_events_relayed_total",
			Help: "Outbox events appended to the stream."}),
		relayErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "admem_events_relay_errors_total",
			Help: "Relay batches that failed (the events stay in the outbox)."}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "admem_events_processed_total",
			Help: "Events handled by type and result."}, []string{"type", "result"}),
		handleSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "admem_events_handle_duration_seconds",
			Help: "Time to apply one event."}, []string{"type"}),
		reclaimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "admem_events_reclaimed_total",
			Help: "Stream entries reclaimed from consumers that stopped (XAUTOCLAIM)."}),
		rerelayed: prometheus.NewCounter(prometheus.CounterOpts{Name: "admem_events_rerelayed_total",
			Help: "Relayed, unsettled events appended to the stream again because Redis lost the stream."}),
		deadLettered: prometheus.NewCounter(prometheus.CounterOpts{Name: "admem_events_dead_lettered_total",
			Help: "Events moved to the dead-letter stream."}),
		eventAge: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "admem_events_end_to_end_seconds",
			Help: "From the outbox write to the committed effect.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
		outboxPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "admem_outbox_pending",
			Help: "Outbox events not yet relayed (queue depth before the stream)."}),
		outboxAge: prometheus.NewGauge(prometheus.GaugeOpts{Name: "admem_outbox_oldest_age_seconds",
			Help: "Age of the oldest outbox event not yet relayed (relay lag)."}),
		streamLength: prometheus.NewGauge(prometheus.GaugeOpts{Name: "admem_events_stream_length",
			Help: "Entries in the event stream."}),
		groupPending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "admem_events_pending",
			Help: "Entries delivered to consumers and not yet acknowledged."}),
		groupLag: prometheus.NewGauge(prometheus.GaugeOpts{Name: "admem_events_lag",
			Help: "Entries in the stream not yet delivered to the consumer group."}),
	}
	reg.MustRegister(m.relayed, m.relayErrors, m.processed, m.handleSeconds, m.reclaimed, m.rerelayed, m.deadLettered, m.eventAge,
		m.outboxPending, m.outboxAge, m.streamLength, m.groupPending, m.groupLag)
	return m
}

// BacklogStore reports the outbox backlog.
type BacklogStore interface {
	OutboxBacklog(ctx context.Context) (int64, time.Duration, error)
}

// Depth is a snapshot of the pipeline's queues.
type Depth struct {
	OutboxPending int64
	OutboxAge     time.Duration
	StreamLength  int64
	GroupPending  int64
	GroupLag      int64
}

// Measure reads the queue depths and lag and sets the gauges. Redis being
// down is not an error here: the outbox figures are still set.
func Measure(ctx context.Context, db BacklogStore, rdb redis.UniversalClient, cfg Config, m *Metrics) (Depth, error) {
	var d Depth
	var err error
	if d.OutboxPending, d.OutboxAge, err = db.OutboxBacklog(ctx); err != nil {
		return d, err
	}
	if m != nil {
		m.outboxPending.Set(float64(d.OutboxPending))
		m.outboxAge.Set(d.OutboxAge.Seconds())
	}
	info, rerr := rdb.XInfoStream(ctx, cfg.Stream).Result()
	if rerr != nil {
		return d, nil
	}
	d.StreamLength = info.Length
	groups, rerr := rdb.XInfoGroups(ctx, cfg.Stream).Result()
	if rerr == nil {
		for _, g := range groups {
			if g.Name != cfg.Group {
				continue
			}
			d.GroupPending, d.GroupLag = g.Pending, g.Lag
			// Redis counts the lag from entries-read, which some
			// histories leave behind (a group created or moved by id):
			// a group that was delivered the stream's last entry has
			// none left, whatever the counter says.
			if g.LastDeliveredID == info.LastGeneratedID {
				d.GroupLag = 0
			}
		}
	}
	if m != nil {
		m.streamLength.Set(float64(d.StreamLength))
		m.groupPending.Set(float64(d.GroupPending))
		m.groupLag.Set(float64(d.GroupLag))
	}
	return d, nil
}
