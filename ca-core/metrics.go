package cacore

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/certgate/certgate/ca-core/fault"
)

// issuanceMetrics observes the issuance pipeline.
type issuanceMetrics struct {
	outcomes *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newIssuanceMetrics(reg prometheus.Registerer) (*issuanceMetrics, error) {
	m := &issuanceMetrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "certgate_issuance_total",
			Help: "Issuance requests by tenant and outcome (issued, replayed or the refusal reason)."}, []string{"tenant", "outcome"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "certgate_issuance_seconds",
			Help: "Issuance pipeline latency by outcome class.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"result"}),
	}
	for _, c := range []prometheus.Collector{m.outcomes, m.latency} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *issuanceMetrics) Issued(tenant string, replayed bool, d time.Duration) {
	outcome := "issued"
	if replayed {
		outcome = "replayed"
	}
	m.outcomes.WithLabelValues(tenant, outcome).Inc()
	m.latency.WithLabelValues("success").Observe(d.Seconds())
}

func (m *issuanceMetrics) Refused(tenant string, reason fault.Reason, d time.Duration) {
	m.outcomes.WithLabelValues(tenant, reason.String()).Inc()
	m.latency.WithLabelValues("refused").Observe(d.Seconds())
}
