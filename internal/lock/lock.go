// Package lock makes concurrent bakes of the same fingerprint build once,
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
//     create "L-t-X" for the stale entry X with the smallest id, so that of
//     the jobs taking over the same stale lock only one can create it.
//     Either name taken: another job won; go to 1.
//  3. Verify: list again. If any live entry other than ours exists, delete
//     ours, wait a random moment, and go to 1. Otherwise the lock is held,
//     and the stale entries are deleted.
//
// Entries are deleted only by key pair id, never by name: a name is reused
// as soon as its entry is gone, so a job whose lease ran out (and whose
// entry a taker deleted) would otherwise delete a newer holder's entry
// when it releases or steps back.
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
package lock

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
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
	// now is the clock; tests replace it.
	now func() time.Time

	once sync.Once // defaults
	// beforeCreate, when set, is called between listing the entries and
	// creating one; tests pause a job there. Nil in production.
	beforeCreate func(name string)
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
	if l.now == nil {
		l.now = time.Now
	}
	if l.Owner == "" {
		var b [4]byte
		rand.Read(b[:])
		l.Owner = fmt.Sprintf("%s/%d/%s", hostID(), os.Getpid(), hex.EncodeToString(b[:]))
	}
}

// Acquire takes the lock for fp in region, waiting while another job holds
// a live one. It returns release, which stops the renewals and deletes the
// lock; call it whatever happens to the build.
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
			if err := sleep(ctx, l.Poll); err != nil {
				return nil, fmt.Errorf("waiting for the build lock: %w", err)
			}
			continue
		}
		h, err := l.createEntry(ctx, c, region, base, entries)
		if isDuplicate(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		after, err := l.list(ctx, c, base)
		if err != nil {
			l.delete(c, h.id)
			return nil, err
		}
		if len(l.live(after, h.id)) > 0 {
			l.delete(c, h.id)
			if err := sleep(ctx, jitter(l.Poll)); err != nil {
				return nil, fmt.Errorf("waiting for the build lock: %w", err)
			}
			continue
		}
		for _, e := range after {
			if e.id != h.id {
				l.delete(c, e.id) // stale or dead; best effort
			}
		}
		l.Log.Info("took the build lock", "region", region, "lock", h.name)
		return l.renew(c, h), nil
	}
}

// createEntry creates this job's entry, after a list that found no live
// one: L when there are no entries, else the takeover name of the stale
// (or dead) entry with the smallest id, so every taker picks the same one.
func (l *Locker) createEntry(ctx context.Context, c EC2, region, base string, entries []held) (*held, error) {
	name := base
	if len(entries) > 0 {
		stale := entries[0]
		name = base + "-t-" + stale.id
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

// delete deletes the entry with key pair id, best effort.
func (l *Locker) delete(c EC2, id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String(id)})
}

// jitter returns a random duration in [d/2, d*3/2), so that jobs that
// stepped back together do not meet again.
func jitter(d time.Duration) time.Duration {
	var b [8]byte
	rand.Read(b[:])
	n := uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24
	return d/2 + time.Duration(n%uint64(d+1))
}

// renew keeps h alive until release is called.
func (l *Locker) renew(c EC2, h *held) func(context.Context) error {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(l.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				ctx, cancel := context.WithTimeout(context.Background(), l.Lease/3)
				_, err := c.CreateTags(ctx, &ec2.CreateTagsInput{
					Resources: []string{h.id},
					Tags:      []types.Tag{{Key: aws.String(TagExpires), Value: aws.String(l.now().Add(l.Lease).UTC().Format(time.RFC3339Nano))}},
				})
				cancel()
				if err != nil {
					l.Log.Warn("could not renew the build lock", "lock", h.name, "error", err)
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
			_, err = c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String(h.id)})
			if isNotFound(err) {
				// A taker deleted it: the lease ran out while we held it.
				l.Log.Warn("the build lock was gone when released; its lease had ended and another job took it over",
					"lock", h.name)
				err = nil
			}
			if err != nil {
				err = fmt.Errorf("releasing the build lock %s: %w", h.name, err)
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

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
