package buildlock

import (
	"context"
	"time"
)

// clock is a Locker's time: the present, its waits and the renewal
// ticker. Tests replace it with a fake one that they move by hand, so that
// the lease, poll and renewal rules are checked without sleeping.
type clock interface {
	Now() time.Time
	// Sleep waits for d, or until ctx ends, and returns ctx's error then.
	Sleep(ctx context.Context, d time.Duration) error
	// NewTicker ticks every d until stop is called.
	NewTicker(d time.Duration) (ticks <-chan time.Time, stop func())
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (realClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	t := time.NewTicker(d)
	return t.C, t.Stop
}
