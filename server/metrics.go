package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/askqa/ask/sched"
)

// Metrics are the server's Prometheus metrics on a registry of their own:
// the global default registry is process-wide mutable state, and two
// servers in one test binary would collide on it.
type Metrics struct {
	reg *prometheus.Registry

	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	inFlight      prometheus.Gauge
	queueDepth    prometheus.Gauge
	batchSize     prometheus.Histogram
	batchTokens   prometheus.Histogram
	batchWait     prometheus.Histogram
	dropped       prometheus.Counter
	tokens        prometheus.Counter
	contextTokens *prometheus.CounterVec
	readerInfo    *prometheus.GaugeVec
}

// NewMetrics creates the metrics and their registry, with the Go runtime and
// process collectors (memory, CPU, file descriptors) included.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ask_http_requests_total",
			Help: "HTTP requests by route and status code (499: the client went away).",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ask_http_request_duration_seconds",
			Help:    "HTTP request latency by route and status code.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route", "code"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ask_http_requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		queueDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ask_queue_depth",
			Help: "Windows waiting for the model.",
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ask_batch_size",
			Help:    "Windows per model batch.",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		batchTokens: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ask_batch_tokens",
			Help:    "Padded tokens per model batch (windows × longest window).",
			Buckets: prometheus.ExponentialBuckets(64, 2, 10),
		}),
		batchWait: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "ask_batch_wait_seconds",
			Help:    "How long the oldest window of a batch waited in the queue.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 5},
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ask_queue_dropped_total",
			Help: "Windows dropped before compute because their request was cancelled.",
		}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ask_tokens_processed_total",
			Help: "Tokens handed to the model (unpadded, questions and special tokens included).",
		}),
		contextTokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ask_context_tokens_total",
			Help: "Context tokens read, by reader (model tokens or lexical words).",
		}, []string{"reader"}),
		readerInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ask_reader_info",
			Help: "The reader answering questions (always 1).",
		}, []string{"reader", "model"}),
	}
	reg.MustRegister(m.requests, m.duration, m.inFlight, m.queueDepth, m.batchSize, m.batchTokens,
		m.batchWait, m.dropped, m.tokens, m.contextTokens, m.readerInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for callers that add metrics of their own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SchedHooks returns hooks that feed a sched.Batcher's events into these
// metrics; pass them in sched.Options.Hooks.
func (m *Metrics) SchedHooks() sched.Hooks {
	return sched.Hooks{
		QueueDepth: func(d int) { m.queueDepth.Set(float64(d)) },
		Batch: func(s sched.BatchStats) {
			m.batchSize.Observe(float64(s.Size))
			m.batchTokens.Observe(float64(s.PaddedTokens))
			m.batchWait.Observe(s.Wait.Seconds())
			m.tokens.Add(float64(s.Tokens))
		},
		Dropped: func(n int) { m.dropped.Add(float64(n)) },
	}
}

func (m *Metrics) observe(route string, code int, d time.Duration) {
	c := strconv.Itoa(code)
	m.requests.WithLabelValues(route, c).Inc()
	m.duration.WithLabelValues(route, c).Observe(d.Seconds())
}

func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
