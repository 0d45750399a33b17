package buildlock

import (
	"context"
	"sync"
	"time"
)

// fakeClock is a clock that moves only when told: by Advance, or by a
// Sleep, which moves it by the time slept and returns at once. It records
// the sleeps. Its tickers tick as it passes their times.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	tickers []*fakeTicker
}

type fakeTicker struct {
	c       chan time.Time
	every   time.Duration
	next    time.Time
	stopped bool
}

// newFakeClock starts at the real time, so that entries made with real
// times compare as expected.
func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	f.sleeps = append(f.sleeps, d)
	f.mu.Unlock()
	f.Advance(d)
	return ctx.Err()
}

// Sleeps returns the sleeps so far.
func (f *fakeClock) Sleeps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

func (f *fakeClock) NewTicker(d time.Duration) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTicker{c: make(chan time.Time, 1), every: d, next: f.now.Add(d)}
	f.tickers = append(f.tickers, t)
	return t.c, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		t.stopped = true
	}
}

// Advance moves the clock by d and returns how many ticks it delivered.
// Like a real ticker's, a tick finding the last one not yet received is
// dropped.
func (f *fakeClock) Advance(d time.Duration) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	n := 0
	for _, t := range f.tickers {
		for ; !t.stopped && !t.next.After(f.now); t.next = t.next.Add(t.every) {
			select {
			case t.c <- t.next:
				n++
			default:
			}
		}
	}
	return n
}
