// Package buildlock makes concurrent bakes of the same fingerprint build once,
// with nothing but EC2: a lock is an EC2 key pair, whose name is unique per
// account and region, so creating one is atomic.
//
// Protocol. The lock for fingerprint F is named L = "ami-bakery-lock-F";
// a takeover of a stale lock with key pair id X is named "L-t-X". Every
// entry carries tags saying who holds it (ami-bakery:lock-owner) and until
// when (ami-bakery:lock-expires, RFC 3339). The holder renews the expiry
// every third of the lease while it builds and deletes its entry when done.
//
//  1. List the entries named L*. If one is live (not expired, and its
//     holder not provably dead), wait and look again, reporting progress.
//  2. If there are none, create L; if all are stale (their holders died),
//     create "L-t-X" for the stale entry X with the smallest id that
//     nobody has taken over yet (no entry is named "L-t-X"), so that of
//     the jobs taking over the same stale lock only one can create it. A
//     taker that died before deleting X left its own stale entry "L-t-X":
//     that one is taken over next, so dead takeovers never block the lock.
//     Either name taken: another job won, or the listing lagged behind;
//     wait a random moment and go to 1.
//  3. Verify: list again. If any live entry other than ours exists, give
//     ours up, wait a random moment, and go to 1. Otherwise the lock is
//     held: delete the stale entries, and list until they are gone.
//
// Entries are deleted only by key pair id, never by name: a name is reused
// as soon as its entry is gone, so a job whose lease ran out (and whose
// entry a taker deleted) would otherwise delete a newer holder's entry
// when it releases or steps back.
//
// A delete can fail: without ec2:DeleteKeyPair, or at an endpoint that
// answers a delete by KeyPairId without doing it. A job that gives its
// entry up and cannot delete it marks it expired instead, so that nobody
// waits for its lease. A holder that cannot delete the stale entries
// keeps trying for a lease and then fails: left in place they would pile
// up, one more with every takeover.
//
// A holder is provably dead when its owner tag names this machine (the
// host name qualified by the boot and the pid namespace, see hostID) and a
// pid that no longer exists; its entry is taken over at once instead of
// after the lease. Anything less certain waits for the lease.
//
// Safety: of two jobs that both created an entry, the later one's
// verification sees the earlier one's entry (created before, and live
// until its release), so two jobs never both hold the lock, even when a
// job acts on an old view of the entries. The lease (default 5 minutes)
// only has to outlast a verification and a renewal interval; the AMI name
// guard in package bake catches a double build even if EC2 errors kept a
// holder from renewing for minutes.
package buildlock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// EC2 is the part of the EC2 API the lock uses.
type EC2 interface {
	CreateKeyPair(ctx context.Context, in *ec2.CreateKeyPairInput, optFns ...func(*ec2.Options)) (*ec2.CreateKeyPairOutput, error)
	DescribeKeyPairs(ctx context.Context, in *ec2.DescribeKeyPairsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeKeyPairsOutput, error)
	DeleteKeyPair(ctx context.Context, in *ec2.DeleteKeyPairInput, optFns ...func(*ec2.Options)) (*ec2.DeleteKeyPairOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
}

// Tag keys on the lock's key pair.
const (
	TagOwner   = "ami-bakery:lock-owner"
	TagExpires = "ami-bakery:lock-expires"
	namePrefix = "ami-bakery-lock-"
)

// Locker takes build locks.
type Locker struct {
	Clients func(region string) EC2
	// Lease is how long a lock lives without renewal; default 5 minutes.
	Lease time.Duration
	// Poll is how often a waiting job looks again; default 5 seconds.
	Poll time.Duration
	// ReportEvery is how often a waiting job says so; default 30 seconds.
	ReportEvery time.Duration
	Log         *slog.Logger
	// Owner identifies this job in the lock; default host/pid/random.
	Owner string

	// clock is the time; tests replace it. Default the real one.
	clock clock
	once  sync.Once // defaults
	// beforeCreate, when set, is called between listing the entries and
	// creating one; tests pause a job there. Nil in production.
	beforeCreate func(name string)
	// renewed, when set, is called after each renewal tick has been
	// handled; tests wait for it. Nil in production.
	renewed func()
}

type held struct {
	name    string
	id      string
	expires time.Time
	owner   string
}

// defaults fills in the unset settings, once: one Locker serves the
// parallel builds of a project's images.
func (l *Locker) defaults() { l.once.Do(l.setDefaults) }

func (l *Locker) setDefaults() {
	if l.Lease <= 0 {
		l.Lease = 5 * time.Minute
	}
	if l.Poll <= 0 {
		l.Poll = 5 * time.Second
	}
	if l.ReportEvery <= 0 {
		l.ReportEvery = 30 * time.Second
	}
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
	if l.clock == nil {
		l.clock = realClock{}
	}
	if l.Owner == "" {
		var b [4]byte
		rand.Read(b[:])
		l.Owner = fmt.Sprintf("%s/%d/%s", hostID(), os.Getpid(), hex.EncodeToString(b[:]))
	}
}

func (l *Locker) now() time.Time { return l.clock.Now() }

// wait sleeps for d while waiting for the lock.
func (l *Locker) wait(ctx context.Context, d time.Duration) error {
	if err := l.clock.Sleep(ctx, d); err != nil {
		return fmt.Errorf("waiting for the build lock: %w", err)
	}
	return nil
}

// Acquire takes the lock for fp in region, waiting while another job holds
// a live one. It returns release, which stops the renewals and deletes the
// lock; call it whatever happens to the build.
//
// Every way round the loop waits (a poll, or a random moment after a
// taken name or a step back): a job never asks EC2 in a tight loop.
func (l *Locker) Acquire(ctx context.Context, region, fp string) (func(context.Context) error, error) {
	l.defaults()
	c := l.Clients(region)
	base := namePrefix + fp
	start := l.now()
	lastReport := start
	for {
		entries, err := l.list(ctx, c, base)
		if err != nil {
			return nil, err
		}
		if live := l.live(entries, ""); len(live) > 0 {
			if l.now().Sub(lastReport) >= l.ReportEvery {
				l.Log.Info("waiting for another job's build of this fingerprint", "region", region,
					"holder", live[0].owner, "waited", l.now().Sub(start).Round(time.Second).String(),
					"lease_ends_in", live[0].expires.Sub(l.now()).Round(time.Second).String())
				lastReport = l.now()
			}
			if err := l.wait(ctx, l.Poll); err != nil {
				return nil, err
			}
			continue
		}
		h, err := l.createEntry(ctx, c, region, base, entries)
		if isDuplicate(err) {
			// Another job created the name since we listed, or the
			// listing lags behind EC2. Either way the next listing
			// decides; jobs that met here must not meet again.
			l.Log.Debug("the build lock's name was taken; looking again", "region", region, "error", err)
			if err := l.wait(ctx, jitter(l.Poll)); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		after, err := l.list(ctx, c, base)
		if err != nil {
			l.giveUp(c, h)
			return nil, err
		}
		if len(l.live(after, h.id)) > 0 {
			l.giveUp(c, h)
			if err := l.wait(ctx, jitter(l.Poll)); err != nil {
				return nil, err
			}
			continue
		}
		// Held from here: renew while the stale entries are deleted.
		release := l.renew(c, h)
		if err := l.clearStale(ctx, c, region, base, h, after); err != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			if rerr := release(rctx); rerr != nil {
				l.Log.Warn("could not release the build lock", "region", region, "lock", h.name, "error", rerr)
			} else {
				// Deletes here may answer without doing anything: expire
				// the entry too, should it still be there, so that the
				// next job need not wait for its lease.
				l.setExpiry(rctx, c, h, l.now().Add(-l.Lease))
			}
			cancel()
			return nil, err
		}
		l.Log.Info("took the build lock", "region", region, "lock", h.name)
		return release, nil
	}
}

// createEntry creates this job's entry, after a list that found no live
// one: L when there are no entries, else the takeover name of the entry
// takeoverTarget picks, so every taker picks the same one.
func (l *Locker) createEntry(ctx context.Context, c EC2, region, base string, entries []held) (*held, error) {
	name := base
	if len(entries) > 0 {
		stale := takeoverTarget(base, entries)
		name = takeoverName(base, stale.id)
		if l.now().Before(stale.expires) {
			l.Log.Warn("taking over the build lock of a job that is no longer running", "region", region,
				"holder", stale.owner)
		} else {
			l.Log.Warn("taking over a stale build lock; its holder stopped renewing it", "region", region,
				"holder", stale.owner, "expired", stale.expires.Format(time.RFC3339))
		}
	}
	if l.beforeCreate != nil {
		l.beforeCreate(name)
	}
	return l.create(ctx, c, name)
}

func takeoverName(base, id string) string { return base + "-t-" + id }

// takeoverTarget picks, of entries (sorted by id), the one with the
// smallest id that has not been taken over: no entry bears its takeover
// name. An entry that has been is the stale entry of a taker that died (or
// could not delete it) before deleting it; its name would be taken for
// ever, while the taker's own entry, also stale, is free to take over.
// Following takeovers from any entry ends at one not taken over (a
// takeover is younger than its target, so there are no cycles); should
// there be none, the smallest id is taken and the create finds the name
// taken, as in any race.
func takeoverTarget(base string, entries []held) held {
	names := make(map[string]bool, len(entries))
	for _, e := range entries {
		names[e.name] = true
	}
	for _, e := range entries {
		if !names[takeoverName(base, e.id)] {
			return e
		}
	}
	return entries[0]
}

// live returns the entries, other than the one with id except, whose
// lease has not ended and whose holder is not provably dead.
func (l *Locker) live(entries []held, except string) []held {
	var out []held
	for _, e := range entries {
		if e.id != except && l.now().Before(e.expires) && !deadHolder(e.owner) {
			out = append(out, e)
		}
	}
	return out
}

// deleteHint is the hint of an error for entries that could not be
// deleted; %s is the lock's name L.
const deleteHint = "the build lock deletes its EC2 key pairs by key pair id: allow ec2:DeleteKeyPair " +
	"(besides ec2:CreateKeyPair, ec2:DescribeKeyPairs and ec2:CreateTags) on the key pairs named " +
	"ami-bakery-lock-*, then delete the key pairs named %s* that are left " +
	"(aws ec2 describe-key-pairs --filters Name=key-name,Values='%[1]s*')"

// clearStale deletes the entries the verification found besides h, all
// of them stale, while h is held and renewed. The listing, not the answer
// to a delete, says whether they are gone: an endpoint may answer a delete
// by KeyPairId it did not do. A delete that keeps failing fails after a
// lease of tries: left in place, stale entries would pile up, one more
// with every takeover.
func (l *Locker) clearStale(ctx context.Context, c EC2, region, base string, h *held, after []held) error {
	var stale []string
	for _, e := range after {
		if e.id != h.id {
			stale = append(stale, e.id)
		}
	}
	start := l.now()
	for tries := 1; len(stale) > 0; tries++ {
		var lastErr error
		for _, id := range stale {
			if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String(id)}); err != nil && !isNotFound(err) {
				lastErr = err
			}
		}
		entries, err := l.list(ctx, c, base)
		if err != nil {
			return err
		}
		stale = slices.DeleteFunc(stale, func(id string) bool {
			return !slices.ContainsFunc(entries, func(e held) bool { return e.id == id })
		})
		if len(stale) == 0 {
			return nil
		}
		what := fmt.Sprintf("deleting the stale build lock entries %s (%s)", base, strings.Join(stale, ", "))
		if l.now().Sub(start) >= l.Lease {
			if lastErr != nil {
				err = fmt.Errorf("%s, tried %d times for %s: %w", what, tries, l.Lease, lastErr)
			} else {
				err = fmt.Errorf("%s: deleted %d times without an error, but still listed after %s", what, tries, l.Lease)
			}
			return usererr.WithHint(err, deleteHint, base)
		}
		if tries == 1 {
			l.Log.Warn("could not delete the stale build lock entries; trying until the lease ends",
				"region", region, "entries", strings.Join(stale, ","), "lease", l.Lease.String(), "error", fmt.Sprint(lastErr))
		}
		if err := l.clock.Sleep(ctx, jitter(l.Poll)); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// giveUp discards the entry of a job that steps back, best effort.
func (l *Locker) giveUp(c EC2, h *held) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.discard(ctx, c, h); err != nil && !isNotFound(err) {
		l.Log.Warn("could not give up the build lock entry", "lock", h.name, "error", err)
	}
}

// discard deletes h's entry by id. Where the delete fails it marks the
// entry expired instead, best effort, so that nobody waits for its lease.
func (l *Locker) discard(ctx context.Context, c EC2, h *held) error {
	_, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String(h.id)})
	if err == nil || isNotFound(err) {
		return err
	}
	// A lease in the past tolerates clocks a lease behind ours.
	l.setExpiry(ctx, c, h, l.now().Add(-l.Lease))
	base, _, _ := strings.Cut(h.name, "-t-")
	return usererr.WithHint(fmt.Errorf("deleting the build lock entry %s (%s): %w", h.name, h.id, err), deleteHint, base)
}

func (l *Locker) setExpiry(ctx context.Context, c EC2, h *held, t time.Time) error {
	_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{
		Resources: []string{h.id},
		Tags:      []types.Tag{{Key: aws.String(TagExpires), Value: aws.String(t.UTC().Format(time.RFC3339Nano))}},
	})
	return err
}

// jitter returns a random duration in [d/2, d*3/2), so that jobs that
// stepped back together do not meet again.
func jitter(d time.Duration) time.Duration {
	var b [8]byte
	rand.Read(b[:])
	n := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
	return d/2 + time.Duration(n%uint64(d+1))
}

// renew keeps h alive, renewing it every third of the lease, until release
// is called. The ticker starts before renew returns.
func (l *Locker) renew(c EC2, h *held) func(context.Context) error {
	ticks, stopTicks := l.clock.NewTicker(l.Lease / 3)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer stopTicks()
		for {
			select {
			case <-stop:
				return
			case <-ticks:
				ctx, cancel := context.WithTimeout(context.Background(), l.Lease/3)
				err := l.setExpiry(ctx, c, h, l.now().Add(l.Lease))
				cancel()
				if err != nil {
					l.Log.Warn("could not renew the build lock", "lock", h.name, "error", err)
				}
				if l.renewed != nil {
					l.renewed()
				}
			}
		}
	})
	var once sync.Once
	return func(ctx context.Context) error {
		var err error
		once.Do(func() {
			close(stop)
			wg.Wait()
			err = l.discard(ctx, c, h)
			if isNotFound(err) {
				// A taker deleted it: the lease ran out while we held it.
				l.Log.Warn("the build lock was gone when released; its lease had ended and another job took it over",
					"lock", h.name)
				err = nil
			}
			if err != nil {
				err = fmt.Errorf("releasing the build lock: %w", err)
			}
		})
		return err
	}
}

func (l *Locker) create(ctx context.Context, c EC2, name string) (*held, error) {
	expires := l.now().Add(l.Lease).UTC()
	out, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{
		KeyName: aws.String(name),
		TagSpecifications: []types.TagSpecification{{
			ResourceType: types.ResourceTypeKeyPair,
			Tags: []types.Tag{
				{Key: aws.String(TagOwner), Value: aws.String(l.Owner)},
				{Key: aws.String(TagExpires), Value: aws.String(expires.Format(time.RFC3339Nano))},
			},
		}},
	})
	if err != nil {
		if isDuplicate(err) {
			return nil, err
		}
		return nil, fmt.Errorf("taking the build lock %s: %w", name, err)
	}
	return &held{name: name, id: aws.ToString(out.KeyPairId), expires: expires, owner: l.Owner}, nil
}

// list returns the lock entries named base*, sorted by key pair id.
func (l *Locker) list(ctx context.Context, c EC2, base string) ([]held, error) {
	out, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{
		Filters: []types.Filter{{Name: aws.String("key-name"), Values: []string{base, base + "-t-*"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("reading the build lock: %w", err)
	}
	var hs []held
	for _, kp := range out.KeyPairs {
		h := held{name: aws.ToString(kp.KeyName), id: aws.ToString(kp.KeyPairId)}
		for _, t := range kp.Tags {
			switch aws.ToString(t.Key) {
			case TagOwner:
				h.owner = aws.ToString(t.Value)
			case TagExpires:
				// An unreadable expiry counts as expired: a lock nobody
				// can judge must not block builds forever.
				h.expires, _ = time.Parse(time.RFC3339Nano, aws.ToString(t.Value))
			}
		}
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].id < hs[j].id })
	return hs, nil
}

func isDuplicate(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "InvalidKeyPair.Duplicate"
}

func isNotFound(err error) bool {
	var api smithy.APIError
	return errors.As(err, &api) && api.ErrorCode() == "InvalidKeyPair.NotFound"
}
