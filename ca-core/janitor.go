package cacore

import (
	"context"
	"log/slog"
	"time"

	"github.com/certgate/certgate/ca-core/audit"
	"github.com/certgate/certgate/ca-core/store"
)

// janitorInterval is how often the janitor runs.
const janitorInterval = 30 * time.Second

// janitor releases reservations whose ca-core died while signing (their
// quota unit would otherwise stay taken) and prunes rate windows and
// expired challenges. Every replica runs it; the store's conditional
// statements make concurrent runs harmless.
func janitor(ctx context.Context, st *store.Store, log *slog.Logger, timeout time.Duration) error {
	t := time.NewTicker(janitorInterval)
	defer t.Stop()
	for {
		sweep(ctx, st, log, timeout)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func sweep(ctx context.Context, st *store.Store, log *slog.Logger, timeout time.Duration) {
	now := time.Now()
	stale, err := st.StaleReservations(ctx, now.Add(-timeout))
	if err != nil && ctx.Err() == nil {
		log.Warn("janitor: listing stale reservations", "err", err)
	}
	for _, c := range stale {
		ev := &audit.Event{Tenant: c.Tenant, Actor: "system", Action: audit.ActionReservationExpired, Endpoint: c.Endpoint, EndEntity: c.EndEntity,
			Target: c.Serial, Result: audit.Failure, Detail: "signing did not complete within " + timeout.String()}
		if err := st.Release(ctx, c.Serial, ev); err != nil {
			log.Warn("janitor: releasing a stale reservation", "serial", c.Serial, "err", err)
			continue
		}
		log.Info("janitor: released a stale reservation", "tenant", c.Tenant, "serial", c.Serial)
	}
	if err := st.PruneRateWindows(ctx, now); err != nil && ctx.Err() == nil {
		log.Warn("janitor: pruning rate windows", "err", err)
	}
	if err := st.PruneChallenges(ctx, now.Add(-24*time.Hour)); err != nil && ctx.Err() == nil {
		log.Warn("janitor: pruning challenges", "err", err)
	}
	if err := st.PruneAcmeNonces(ctx, now); err != nil && ctx.Err() == nil {
		log.Warn("janitor: pruning ACME nonces", "err", err)
	}
}
