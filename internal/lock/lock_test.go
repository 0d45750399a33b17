package lock

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/goleak"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const fp = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func newEmu(t *testing.T) (*awsemu.Emulator, func(string) EC2) {
	srv := awsemu.NewTestServer(t)
	return srv.Emulator, func(region string) EC2 { return srv.EC2(awsemu.DefaultAccount, region) }
}

func fast(clients func(string) EC2, owner string) *Locker {
	return &Locker{Clients: clients, Lease: 2 * time.Second, Poll: 10 * time.Millisecond, Owner: owner}
}

// Eight jobs after the same lock: never two holders at once, and all get
// it in the end.
func TestMutualExclusion(t *testing.T) {
	emu, clients := newEmu(t)
	var holders, maxHolders, done atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			l := fast(clients, "job"+string(rune('a'+i)))
			release, err := l.Acquire(context.Background(), "us-east-1", fp)
			if err != nil {
				t.Error(err)
				return
			}
			n := holders.Add(1)
			for {
				m := maxHolders.Load()
				if n <= m || maxHolders.CompareAndSwap(m, n) {
					break
				}
			}
			time.Sleep(5 * time.Millisecond)
			holders.Add(-1)
			if err := release(context.Background()); err != nil {
				t.Error(err)
			}
			done.Add(1)
		})
	}
	wg.Wait()
	if maxHolders.Load() != 1 {
		t.Errorf("%d holders at once, want 1", maxHolders.Load())
	}
	if done.Load() != 8 {
		t.Errorf("%d of 8 jobs got the lock", done.Load())
	}
	if kps := emu.KeyPairs(awsemu.DefaultAccount, "us-east-1"); len(kps) != 0 {
		t.Errorf("locks left behind: %v", kps)
	}
}

// A lock whose holder died (expired, never released) is taken over, and
// of many jobs taking it over at once exactly one holds it at a time.
func TestStaleTakeover(t *testing.T) {
	emu, clients := newEmu(t)
	ctx := context.Background()
	_, err := clients("us-east-1").CreateKeyPair(ctx, &ec2.CreateKeyPairInput{
		KeyName: aws.String(namePrefix + fp),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: []types.Tag{
			{Key: aws.String(TagOwner), Value: aws.String("dead-job")},
			{Key: aws.String(TagExpires), Value: aws.String(time.Now().Add(-time.Minute).UTC().Format(time.RFC3339Nano))},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	stale := emu.KeyPairs(awsemu.DefaultAccount, "us-east-1")[0].ID
	var holders, maxHolders atomic.Int32
	seen := make(chan string, 64)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			l := fast(clients, "taker"+string(rune('a'+i)))
			release, err := l.Acquire(ctx, "us-east-1", fp)
			if err != nil {
				t.Error(err)
				return
			}
			if n := holders.Add(1); n > maxHolders.Load() {
				maxHolders.Store(n)
			}
			for _, kp := range emu.KeyPairs(awsemu.DefaultAccount, "us-east-1") {
				seen <- kp.ID
			}
			time.Sleep(5 * time.Millisecond)
			holders.Add(-1)
			release(ctx)
		})
	}
	wg.Wait()
	close(seen)
	if maxHolders.Load() != 1 {
		t.Errorf("%d holders at once, want 1", maxHolders.Load())
	}
	for id := range seen {
		if id == stale {
			t.Errorf("the stale lock was still there while a taker held the lock")
		}
	}
	if kps := emu.KeyPairs(awsemu.DefaultAccount, "us-east-1"); len(kps) != 0 {
		t.Errorf("locks left behind: %v", kps)
	}
}

// A live lock makes others wait; its renewals keep it alive past the
// lease; release lets the next job in.
func TestWaitAndRenew(t *testing.T) {
	_, clients := newEmu(t)
	ctx := context.Background()
	first := &Locker{Clients: clients, Lease: 300 * time.Millisecond, Poll: 10 * time.Millisecond, Owner: "first"}
	release, err := first.Acquire(ctx, "us-east-1", fp)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan time.Time, 1)
	go func() {
		second := fast(clients, "second")
		r, err := second.Acquire(ctx, "us-east-1", fp)
		if err != nil {
			t.Error(err)
		}
		got <- time.Now()
		r(ctx)
	}()
	// Hold for three leases: renewal must keep the second job out.
	time.Sleep(900 * time.Millisecond)
	select {
	case <-got:
		t.Fatal("the second job got a lock that was being renewed")
	default:
	}
	released := time.Now()
	if err := release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case at := <-got:
		if at.Before(released) {
			t.Error("second job got the lock before it was released")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the second job never got the released lock")
	}
}

func TestCancelWhileWaiting(t *testing.T) {
	_, clients := newEmu(t)
	release, err := fast(clients, "holder").Acquire(context.Background(), "us-east-1", fp)
	if err != nil {
		t.Fatal(err)
	}
	defer release(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := fast(clients, "waiter").Acquire(ctx, "us-east-1", fp); err == nil {
		t.Fatal("acquire of a held lock returned without error after cancel")
	}
}
