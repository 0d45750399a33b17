package awsemu

import (
	"context"
	"math/rand/v2"
	"slices"
	"time"
)

// Faults describes injected failures and latency. The zero value injects
// nothing.
type Faults struct {
	// Rate is the probability, 0 to 1, that a matching call fails.
	Rate float64
	// Codes are the error codes to fail with, chosen at random; empty
	// means RequestLimitExceeded. Each is answered with EC2's HTTP status
	// for it (503 for RequestLimitExceeded and Unavailable, 500 for
	// InternalError, 403 for UnauthorizedOperation). Rate 1 with
	// UnauthorizedOperation and one action models a caller whose IAM
	// policy lacks that action.
	Codes []string
	// Actions limits faults and latency to these actions; empty means all.
	Actions []string
	// Latency delays every matching call, failed or not.
	Latency time.Duration
	// Seed makes the choice of failing calls reproducible.
	Seed int64
	// Skip lets the first Skip matching calls through untouched by Rate,
	// and Times, when not zero, ends the faults after that many: with
	// Rate 1, one action, Skip 3 and Times 1, exactly its fourth call
	// fails (a fault on the last of several writes, and not on what
	// follows).
	Skip, Times int
	// IgnoreOwners is a test hook, not EC2 behaviour: DescribeImages
	// ignores its Owner parameter and returns every image the caller can
	// see, as a broken or hostile endpoint might, so that tests can prove
	// clients re-check the owner of what they get. Not limited by Actions
	// or Rate.
	IgnoreOwners bool
}

type faultState struct {
	f       Faults
	rng     *rand.Rand
	skipped int // matching calls let through so far (Faults.Skip)
	failed  int // calls failed so far (Faults.Times)
}

func newFaultState(f Faults) faultState {
	f.Rate = min(max(f.Rate, 0), 1)
	if len(f.Codes) == 0 {
		f.Codes = []string{"RequestLimitExceeded"}
	}
	return faultState{f: f, rng: rand.New(rand.NewPCG(uint64(f.Seed), 0x9e3779b97f4a7c15))}
}

// SetFaults replaces the injected faults; SetFaults(Faults{}) removes them.
// A faulted call returns its error without touching any state. Rate is
// clamped to [0, 1].
func (e *Emulator) SetFaults(f Faults) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = newFaultState(f)
}

var faultMessages = map[string]string{
	"RequestLimitExceeded":  "Request limit exceeded.",
	"InternalError":         "An internal error has occurred",
	"InternalFailure":       "An internal error has occurred",
	"Unavailable":           "The server is overloaded and can't handle the request",
	"ServiceUnavailable":    "The service is unavailable. Please try again shortly.",
	"UnauthorizedOperation": "You are not authorized to perform this operation.",
}

// injectFault sleeps for the configured latency and decides whether action
// fails. It must be called without e.mu held. The sleep ends early when ctx
// (the request's) ends, as when the client went away: a test server can
// then close while a long latency is injected.
func (e *Emulator) injectFault(ctx context.Context, action string) error {
	e.mu.Lock()
	fs := &e.faults
	if len(fs.f.Actions) > 0 && !slices.Contains(fs.f.Actions, action) {
		e.mu.Unlock()
		return nil
	}
	latency := fs.f.Latency
	var code string
	if fs.skipped < fs.f.Skip {
		fs.skipped++
	} else if fs.f.Times > 0 && fs.failed >= fs.f.Times {
		// spent
	} else if fs.f.Rate > 0 && fs.rng.Float64() < fs.f.Rate {
		fs.failed++
		code = fs.f.Codes[fs.rng.IntN(len(fs.f.Codes))]
	}
	e.mu.Unlock()
	if latency > 0 {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if code == "" {
		return nil
	}
	msg, ok := faultMessages[code]
	if !ok {
		msg = "Injected fault"
	}
	return errorf(code, "%s", msg)
}
