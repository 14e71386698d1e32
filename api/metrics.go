package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/exhibit-archive/exhibit/archive"
	"github.com/exhibit-archive/exhibit/ledger"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the handler's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	captures *prometheus.CounterVec
	log      *slog.Logger
}

// noRoute is the route label of a request no pattern matched.
const noRoute = "none"

func newMetrics(a *archive.Archive, log *slog.Logger) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exhibit_http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "exhibit_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route"}),
		captures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "exhibit_captures_total",
			Help: "Records logged through the write API, by method (fetch, browser, upload) and outcome (captured, http_error, failed).",
		}, []string{"method", "outcome"}),
		log: log,
	}
	m.reg.MustRegister(
		m.requests,
		m.duration,
		m.captures,
		&logCollector{a: a, log: log},
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// observe counts one served request.
func (m *metrics) observe(pattern string, status int, d time.Duration) {
	if pattern == "" {
		pattern = noRoute
	}
	m.requests.WithLabelValues(pattern, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(pattern).Observe(d.Seconds())
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelError),
		Registry: m.reg,
	})
}

var (
	logSizeDesc = prometheus.NewDesc("exhibit_log_size",
		"Entries in the log, from its latest checkpoint (signature verified).", nil, nil)
	checkpointAgeDesc = prometheus.NewDesc("exhibit_log_checkpoint_age_seconds",
		"Seconds since the log's latest checkpoint was published (kept).", nil, nil)
	lagDesc = prometheus.NewDesc("exhibit_log_sequencing_lag_entries",
		"Entries sequenced but not yet integrated into the log's tree, by every frontend (served with a writer only).", nil, nil)
	indexLagDesc = prometheus.NewDesc("exhibit_index_lag_entries",
		"Entries of the latest kept checkpoint this frontend has not yet seen indexed (served with a writer only).", nil, nil)
	indexStalledDesc = prometheus.NewDesc("exhibit_index_stalled_seconds",
		"Seconds since the index follower's rounds began to fail (a database call not answered within its bound, or refused); 0 while they succeed (served with a writer only).", nil, nil)
)

// collectTimeout bounds the database calls of a scrape: a database that
// hangs leaves out the metric that needs it rather than the scrape.
const collectTimeout = 2 * time.Second

// logCollector reads the log's size and checkpoint age at scrape time.
// While the log has no readable checkpoint, it reports neither.
type logCollector struct {
	a   *archive.Archive
	log *slog.Logger
}

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logSizeDesc
	ch <- checkpointAgeDesc
	ch <- lagDesc
	ch <- indexLagDesc
	ch <- indexStalledDesc
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), collectTimeout)
	defer cancel()
	if c.a.Writable() == nil {
		stalled := 0.0
		var se *archive.IndexStalledError
		if errors.As(c.a.FollowerErr(), &se) {
			stalled = max(time.Since(se.Since).Seconds(), 1e-3)
		}
		ch <- prometheus.MustNewConstMetric(indexStalledDesc, prometheus.GaugeValue, stalled)
		if lag, err := c.a.IndexLag(); err == nil {
			ch <- prometheus.MustNewConstMetric(indexLagDesc, prometheus.GaugeValue, float64(lag))
		}
		if lag, err := c.a.SequencingLag(ctx); err == nil {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(lag))
		} else {
			c.log.LogAttrs(ctx, slog.LevelError, "metrics: reading the sequencing lag", slog.Any("error", err))
		}
	}
	_, cp, err := c.a.Checkpoint(ctx)
	if err != nil {
		if !errors.Is(err, ledger.ErrNoCheckpoint) && !errors.Is(err, archive.ErrNotFound) {
			c.log.LogAttrs(ctx, slog.LevelError, "metrics: reading the checkpoint", slog.Any("error", err))
		}
		return
	}
	ch <- prometheus.MustNewConstMetric(logSizeDesc, prometheus.GaugeValue, float64(cp.Size))
	at, err := c.a.CheckpointKeptAt(ctx, cp.Size)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelError, "metrics: kept checkpoint", slog.Any("error", err))
		return
	}
	ch <- prometheus.MustNewConstMetric(checkpointAgeDesc, prometheus.GaugeValue, time.Since(at).Seconds())
}
