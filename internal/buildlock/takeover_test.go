package buildlock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const region = "us-east-1"

// entrySpec is a lock entry another job left behind. name gets the ids of
// the entries made before it, so a takeover can name its target.
type entrySpec struct {
	name    func(prev []string) string
	owner   string
	expires time.Time
}

func lockName([]string) string { return namePrefix + fp }

// takeoverOf names the takeover of the i-th entry made before.
func takeoverOf(i int) func([]string) string {
	return func(prev []string) string { return takeoverName(namePrefix+fp, prev[i]) }
}

// putEntries makes the entries in turn, each with an id greater (up) or
// smaller (!up) than the one before. EC2's ids, and the emulator's, are
// random, so an entry is made again until its id falls the right way.
func putEntries(t *testing.T, c EC2, up bool, specs ...entrySpec) []string {
	t.Helper()
	var ids []string
	for _, s := range specs {
		for try := 0; ; try++ {
			if try == 64 {
				t.Fatalf("no id in the wanted order after %d tries", try)
			}
			id := putEntry(t, c, s.name(ids), s.owner, s.expires)
			if len(ids) == 0 || (id > ids[len(ids)-1]) == up {
				ids = append(ids, id)
				break
			}
			if _, err := c.DeleteKeyPair(context.Background(), &ec2.DeleteKeyPairInput{KeyPairId: aws.String(id)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

func order(up bool) string {
	if up {
		return "ids ascending"
	}
	return "ids descending"
}

// Stale entries left by jobs that died, or could not delete, in any id
// order: the lock is taken over, by one job at a time, and the entries are
// gone. A taker that died between creating its entry and deleting the stale
// one left both behind: before the fix every later job computed the name
// of the existing takeover, found it taken and looked again at once, for
// ever (thousands of calls a second, and nobody got the lock).
func TestTakeoverOfLeftovers(t *testing.T) {
	past := time.Now().Add(-time.Minute)
	cases := []struct {
		name    string
		entries func(t *testing.T) []entrySpec
	}{
		{"a stale lock and its dead taker's stale entry", func(*testing.T) []entrySpec {
			return []entrySpec{{lockName, "dead-x", past}, {takeoverOf(0), "dead-taker", past}}
		}},
		{"a stale lock and the entry of its taker, provably dead within its lease", func(t *testing.T) []entrySpec {
			requireQualifiedHost(t)
			dead := fmt.Sprintf("%s/%d/taker", hostID(), deadPid(t))
			return []entrySpec{{lockName, "dead-x", past}, {takeoverOf(0), dead, time.Now().Add(time.Hour)}}
		}},
		{"a chain of three stale takeovers", func(*testing.T) []entrySpec {
			return []entrySpec{{lockName, "dead-x", past}, {takeoverOf(0), "dead-1", past}, {takeoverOf(1), "dead-2", past}}
		}},
		{"two stale entries nobody took over", func(*testing.T) []entrySpec {
			gone := func([]string) string { return takeoverName(namePrefix+fp, "key-00000000000000000") }
			return []entrySpec{{lockName, "dead-x", past}, {gone, "dead-y", past}}
		}},
		{"a stale lock taken over twice, one taker dead", func(*testing.T) []entrySpec {
			return []entrySpec{{lockName, "dead-x", past}, {takeoverOf(0), "dead-1", past},
				{func(prev []string) string { return takeoverName(namePrefix+fp, "key-00000000000000001") }, "dead-2", past}}
		}},
	}
	for _, tc := range cases {
		for _, up := range []bool{true, false} {
			t.Run(tc.name+"/"+order(up), func(t *testing.T) {
				specs := tc.entries(t)
				emu, clients := newEmu(t)
				putEntries(t, clients(region), up, specs...)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var holders, maxHolders, done atomic.Int32
				var wg sync.WaitGroup
				for i := range 3 {
					wg.Go(func() {
						release, err := fast(clients, fmt.Sprintf("job%d", i)).Acquire(ctx, region, fp)
						if err != nil {
							t.Errorf("job %d: %v; entries: %s", i, err, entriesOf(emu))
							return
						}
						if n := holders.Add(1); n > maxHolders.Load() {
							maxHolders.Store(n)
						}
						time.Sleep(5 * time.Millisecond)
						holders.Add(-1)
						if err := release(ctx); err != nil {
							t.Error(err)
						}
						done.Add(1)
					})
				}
				wg.Wait()
				if done.Load() != 3 || maxHolders.Load() != 1 {
					t.Errorf("%d of 3 jobs got the lock, at most %d at once", done.Load(), maxHolders.Load())
				}
				if kps := emu.KeyPairs(awsemu.DefaultAccount, region); len(kps) != 0 {
					t.Errorf("entries left behind: %s", entriesOf(emu))
				}
				if n := emu.CallCount("CreateKeyPair"); n > 60 {
					t.Errorf("%d CreateKeyPair calls for 3 jobs", n)
				}
			})
		}
	}
}

// entriesOf describes the lock entries in emu briefly: the part of the
// name after the fingerprint, the id and the owner.
func entriesOf(emu *awsemu.Emulator) string {
	var out []string
	for _, kp := range emu.KeyPairs(awsemu.DefaultAccount, region) {
		out = append(out, fmt.Sprintf("L%s=%s(%s)", strings.TrimPrefix(kp.Name, namePrefix+fp), kp.ID, kp.Tags[TagOwner]))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// quirkyEC2 is a client with an endpoint's quirks, and a hook on every
// call.
type quirkyEC2 struct {
	EC2
	// hide is left out of listings, as by a DescribeKeyPairs that lags
	// behind EC2.
	hide string
	// ignoreDelete answers DeleteKeyPair with success and does nothing,
	// as an endpoint that ignores KeyPairId.
	ignoreDelete bool
	onCall       func(action string)
}

func (q *quirkyEC2) call(action string) {
	if q.onCall != nil {
		q.onCall(action)
	}
}

func (q *quirkyEC2) CreateKeyPair(ctx context.Context, in *ec2.CreateKeyPairInput, optFns ...func(*ec2.Options)) (*ec2.CreateKeyPairOutput, error) {
	q.call("CreateKeyPair")
	return q.EC2.CreateKeyPair(ctx, in, optFns...)
}

func (q *quirkyEC2) DescribeKeyPairs(ctx context.Context, in *ec2.DescribeKeyPairsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error) {
	q.call("DescribeKeyPairs")
	out, err := q.EC2.DescribeKeyPairs(ctx, in, optFns...)
	if err == nil && q.hide != "" {
		out.KeyPairs = slices.DeleteFunc(out.KeyPairs, func(kp types.KeyPairInfo) bool { return aws.ToString(kp.KeyName) == q.hide })
	}
	return out, err
}

func (q *quirkyEC2) DeleteKeyPair(ctx context.Context, in *ec2.DeleteKeyPairInput, optFns ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error) {
	q.call("DeleteKeyPair")
	if q.ignoreDelete {
		return &ec2.DeleteKeyPairOutput{Return: aws.Bool(true)}, nil
	}
	return q.EC2.DeleteKeyPair(ctx, in, optFns...)
}

func (q *quirkyEC2) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	q.call("CreateTags")
	return q.EC2.CreateTags(ctx, in, optFns...)
}

// A blocked job asks EC2 a bounded number of times, whatever blocks it: it
// waits between any two listings. Time is a fake clock's, so the count
// does not depend on the machine's speed: over 100 polls a job may make a
// few hundred calls; a job that does not wait makes thousands, and is
// stopped there.
func TestBlockedJobCallsBounded(t *testing.T) {
	const poll, period = time.Second, 100 * time.Second
	cases := []struct {
		name  string
		setup func(t *testing.T, emu *awsemu.TestServer, c EC2, clk *fakeClock) *quirkyEC2
		// wantErr is what ends Acquire, if not the end of the period.
		wantErr string
	}{
		{"a live holder", func(t *testing.T, _ *awsemu.TestServer, c EC2, clk *fakeClock) *quirkyEC2 {
			putEntry(t, c, namePrefix+fp, "holder", clk.Now().Add(time.Hour))
			return &quirkyEC2{EC2: c}
		}, ""},
		{"a takeover name taken that the listing does not show", func(t *testing.T, _ *awsemu.TestServer, c EC2, clk *fakeClock) *quirkyEC2 {
			ids := putEntries(t, c, true, entrySpec{lockName, "dead-x", clk.Now().Add(-time.Hour)})
			hidden := takeoverName(namePrefix+fp, ids[0])
			putEntry(t, c, hidden, "lagging", clk.Now().Add(time.Hour))
			return &quirkyEC2{EC2: c, hide: hidden}
		}, ""},
		{"deletes refused", func(t *testing.T, emu *awsemu.TestServer, c EC2, clk *fakeClock) *quirkyEC2 {
			ids := putEntries(t, c, true, entrySpec{lockName, "dead-x", clk.Now().Add(-time.Hour)})
			putEntry(t, c, takeoverName(namePrefix+fp, ids[0]), "dead-taker", clk.Now().Add(-time.Hour))
			emu.SetFaults(awsemu.Faults{Rate: 1, Codes: []string{"UnauthorizedOperation"}, Actions: []string{"DeleteKeyPair"}})
			return &quirkyEC2{EC2: c}
		}, "UnauthorizedOperation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := awsemu.NewTestServer(t)
			clk := newFakeClock()
			q := tc.setup(t, emu, emu.EC2(awsemu.DefaultAccount, region), clk)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			start := clk.Now()
			var mu sync.Mutex
			calls := map[string]int{}
			q.onCall = func(action string) {
				mu.Lock()
				defer mu.Unlock()
				calls[action]++
				if calls["CreateKeyPair"]+calls["DescribeKeyPairs"] >= 3000 || clk.Now().Sub(start) >= period {
					cancel()
				}
			}
			l := &Locker{Clients: func(string) EC2 { return q }, Lease: time.Minute, Poll: poll, Owner: "blocked", clock: clk}
			release, err := l.Acquire(ctx, region, fp)
			if err == nil {
				release(context.Background())
				t.Fatal("the blocked job got the lock")
			}
			if tc.wantErr != "" && !strings.Contains(err.Error(), tc.wantErr) || tc.wantErr == "" && !errors.Is(err, context.Canceled) {
				t.Errorf("Acquire: %v, want %s", err, cmpOr(tc.wantErr, "the end of the period"))
			}
			mu.Lock()
			defer mu.Unlock()
			elapsed := clk.Now().Sub(start)
			// Between two sleeps of at least poll/2: a listing, a create
			// and a listing; or deletes and a listing.
			limit := 3*int(elapsed/(poll/2)) + 3
			if n := calls["CreateKeyPair"] + calls["DescribeKeyPairs"]; n > limit || n == 0 {
				t.Errorf("%d CreateKeyPair and DescribeKeyPairs calls in %s of polls every %s, want 1 to %d (all calls %v)",
					n, elapsed, poll, limit, calls)
			}
			if n := calls["DeleteKeyPair"]; n > limit {
				t.Errorf("%d DeleteKeyPair calls in %s, want at most %d", n, elapsed, limit)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// A taken name is looked at again after a random moment around the poll,
// not at once and not after the same time each round: jobs that met there
// must not meet again.
func TestDuplicateBacksOffWithJitter(t *testing.T) {
	emu := awsemu.NewTestServer(t)
	clk := newFakeClock()
	c := emu.EC2(awsemu.DefaultAccount, region)
	ids := putEntries(t, c, true, entrySpec{lockName, "dead-x", clk.Now().Add(-time.Hour)})
	hidden := takeoverName(namePrefix+fp, ids[0])
	putEntry(t, c, hidden, "lagging", clk.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var creates atomic.Int32
	q := &quirkyEC2{EC2: c, hide: hidden, onCall: func(action string) {
		if action == "CreateKeyPair" && creates.Add(1) > 20 {
			cancel()
		}
	}}
	const poll = time.Second
	l := &Locker{Clients: func(string) EC2 { return q }, Lease: time.Minute, Poll: poll, Owner: "a", clock: clk}
	if _, err := l.Acquire(ctx, region, fp); !errors.Is(err, context.Canceled) {
		t.Fatalf("Acquire: %v, want it cancelled", err)
	}
	sleeps := clk.Sleeps()
	if len(sleeps) < 19 {
		t.Fatalf("%d waits for 20 taken names: %v", len(sleeps), sleeps)
	}
	distinct := map[time.Duration]bool{}
	for _, d := range sleeps {
		distinct[d] = true
		if d < poll/2 || d >= poll*3/2 {
			t.Errorf("waited %s after a taken name, want %s to %s", d, poll/2, poll*3/2)
		}
	}
	if len(distinct) < len(sleeps)/2 {
		t.Errorf("waits after a taken name are not random: %v", sleeps)
	}
}

// expiryOf returns the expiry tag of the entry with id.
func expiryOf(t *testing.T, emu *awsemu.TestServer, id string) time.Time {
	t.Helper()
	for _, kp := range emu.KeyPairs(awsemu.DefaultAccount, region) {
		if kp.ID == id {
			exp, err := time.Parse(time.RFC3339Nano, kp.Tags[TagExpires])
			if err != nil {
				t.Fatal(err)
			}
			return exp
		}
	}
	t.Fatalf("no entry %s", id)
	return time.Time{}
}

// Without ec2:DeleteKeyPair, or at an endpoint that answers deletes by
// KeyPairId without doing them, a job that takes over cannot delete the
// stale entries. It keeps trying for a lease (never in a tight loop), then
// fails with a hint naming the permission, and marks its own entry
// expired so that the next job does not wait for its lease.
func TestStaleEntriesNotDeleted(t *testing.T) {
	cases := []struct {
		name      string
		refuse    bool // the emulator refuses DeleteKeyPair
		ignore    bool // DeleteKeyPair answers success, does nothing
		leftovers []entrySpec
		wantErr   string
	}{
		{"refused, a stale lock", true, false,
			[]entrySpec{{lockName, "dead-x", time.Now().Add(-time.Hour)}}, "UnauthorizedOperation"},
		{"refused, a stale lock and its dead taker's entry", true, false,
			[]entrySpec{{lockName, "dead-x", time.Now().Add(-time.Hour)}, {takeoverOf(0), "dead-taker", time.Now().Add(-time.Hour)}},
			"UnauthorizedOperation"},
		{"ignored, a stale lock", false, true,
			[]entrySpec{{lockName, "dead-x", time.Now().Add(-time.Hour)}}, "still listed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := awsemu.NewTestServer(t)
			c := emu.EC2(awsemu.DefaultAccount, region)
			before := putEntries(t, c, true, tc.leftovers...)
			if tc.refuse {
				emu.SetFaults(awsemu.Faults{Rate: 1, Codes: []string{"UnauthorizedOperation"}, Actions: []string{"DeleteKeyPair"}})
			}
			q := &quirkyEC2{EC2: c, ignoreDelete: tc.ignore}
			clk := newFakeClock()
			const lease, poll = time.Minute, time.Second
			l := &Locker{Clients: func(string) EC2 { return q }, Lease: lease, Poll: poll, Owner: "a", clock: clk}
			start := clk.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			release, err := l.Acquire(ctx, region, fp)
			if err == nil {
				release(ctx)
				t.Fatalf("took the lock with the stale entries still there: %s", entriesOf(emu.Emulator))
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Acquire: %v, want %s", err, tc.wantErr)
			}
			var api smithy.APIError
			if tc.refuse && (!errors.As(err, &api) || api.ErrorCode() != "UnauthorizedOperation") {
				t.Errorf("Acquire: %v does not wrap the UnauthorizedOperation", err)
			}
			if hints := strings.Join(usererr.Hints(err), "\n"); !strings.Contains(hints, "ec2:DeleteKeyPair") {
				t.Errorf("Acquire: %v: hints %q do not name ec2:DeleteKeyPair", err, hints)
			}
			if elapsed := clk.Now().Sub(start); elapsed < lease || elapsed > 2*lease {
				t.Errorf("gave up after %s, want after the lease %s", elapsed, lease)
			}
			if n := emu.CallCount("DeleteKeyPair"); n > int(3*lease/poll) {
				t.Errorf("%d DeleteKeyPair calls in a lease of %s with polls every %s", n, lease, poll)
			}
			kps := emu.KeyPairs(awsemu.DefaultAccount, region)
			if len(kps) != len(before)+1 {
				t.Fatalf("entries after: %s, want the %d before and the job's own", entriesOf(emu.Emulator), len(before))
			}
			for _, kp := range kps {
				if !slices.Contains(before, kp.ID) {
					if exp := expiryOf(t, emu, kp.ID); exp.After(clk.Now()) {
						t.Errorf("the job's own entry, not deleted, expires at %s, after now %s", exp, clk.Now())
					}
				}
			}
		})
	}
}

// A release that cannot delete the entry fails with the hint, and marks
// the entry expired, so that the next job takes it over at once instead of
// after the lease.
func TestReleaseRefused(t *testing.T) {
	emu := awsemu.NewTestServer(t)
	clk := newFakeClock()
	clients := func(string) EC2 { return emu.EC2(awsemu.DefaultAccount, region) }
	l := &Locker{Clients: clients, Lease: time.Hour, Poll: time.Second, Owner: "a", clock: clk}
	release, err := l.Acquire(context.Background(), region, fp)
	if err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(awsemu.Faults{Rate: 1, Codes: []string{"UnauthorizedOperation"}, Actions: []string{"DeleteKeyPair"}})
	err = release(context.Background())
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "UnauthorizedOperation" {
		t.Fatalf("release: %v, want UnauthorizedOperation", err)
	}
	if hints := strings.Join(usererr.Hints(err), "\n"); !strings.Contains(hints, "ec2:DeleteKeyPair") {
		t.Errorf("release: %v: hints %q do not name ec2:DeleteKeyPair", err, hints)
	}
	kps := emu.KeyPairs(awsemu.DefaultAccount, region)
	if len(kps) != 1 {
		t.Fatalf("entries: %v", kps)
	}
	if exp := expiryOf(t, emu, kps[0].ID); exp.After(clk.Now()) {
		t.Errorf("the released entry expires at %s, after now %s: the next job waits for it", exp, clk.Now())
	}
}

// The holder renews its entry every third of the lease: a waiting job
// sees it live until the holder has missed two renewals. The fake clock
// is moved a third of the lease at a time, and each step must have renewed
// the entry to a whole lease from then (a holder renewing once a lease
// fails the first step).
func TestRenewEveryThirdOfLease(t *testing.T) {
	emu := awsemu.NewTestServer(t)
	clk := newFakeClock()
	clients := func(string) EC2 { return emu.EC2(awsemu.DefaultAccount, region) }
	const lease = 90 * time.Second
	renewed := make(chan struct{})
	l := &Locker{Clients: clients, Lease: lease, Poll: time.Second, Owner: "a", clock: clk,
		renewed: func() { renewed <- struct{}{} }}
	release, err := l.Acquire(context.Background(), region, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer release(context.Background())
	id := emu.KeyPairs(awsemu.DefaultAccount, region)[0].ID
	for step := 1; step <= 6; step++ {
		for range clk.Advance(lease / 3) {
			<-renewed
		}
		if exp, want := expiryOf(t, emu, id), clk.Now().Add(lease); !exp.Equal(want) {
			t.Fatalf("after %d thirds of the lease the entry expires at %s, want %s (renewed now)", step, exp, want)
		}
	}
	if n := emu.CallCount("CreateTags"); n != 6 {
		t.Errorf("%d renewals in two leases, want 6", n)
	}
}

// A holder with this machine's host name but another boot (or pid
// namespace) is not judged by its pid, which means nothing here: its
// entry is taken over only when its lease ends.
func TestSameHostOtherBootWaitsForLease(t *testing.T) {
	requireQualifiedHost(t)
	host, _, _ := strings.Cut(hostID(), "+")
	emu := awsemu.NewTestServer(t)
	clk := newFakeClock()
	c := emu.EC2(awsemu.DefaultAccount, region)
	expires := clk.Now().Add(time.Minute)
	putEntry(t, c, namePrefix+fp, fmt.Sprintf("%s+%s/%d/x", host, otherBoot(), deadPid(t)), expires)
	l := &Locker{Clients: func(string) EC2 { return c }, Lease: time.Minute, Poll: time.Second, Owner: "a", clock: clk}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	release, err := l.Acquire(ctx, region, fp)
	if err != nil {
		t.Fatal(err)
	}
	defer release(ctx)
	if clk.Now().Before(expires) {
		t.Errorf("took over at %s the lock of a holder from another boot, before its lease ended at %s", clk.Now(), expires)
	}
}
