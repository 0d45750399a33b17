package buildlock

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
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

// putEntry creates a lock entry as another job would, and returns its id.
func putEntry(t *testing.T, c EC2, name, owner string, expires time.Time) string {
	t.Helper()
	out, err := c.CreateKeyPair(context.Background(), &ec2.CreateKeyPairInput{
		KeyName: aws.String(name),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeKeyPair, Tags: []types.Tag{
			{Key: aws.String(TagOwner), Value: aws.String(owner)},
			{Key: aws.String(TagExpires), Value: aws.String(expires.UTC().Format(time.RFC3339Nano))},
		}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyPairId)
}

// The check for other live entries after creating our own: job A lists
// (nothing), and is paused before it creates L. Meanwhile a dead holder's
// L appears and job C takes it over (creating L-t-X and deleting L). When
// A resumes, the name L is free again, so its create succeeds on an old
// view; only the second listing shows it C's live entry. A must step back
// and wait for C's release.
func TestVerifyAfterCreate(t *testing.T) {
	emu, clients := newEmu(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	paused, resume := make(chan string), make(chan struct{})
	a := fast(clients, "a")
	var once sync.Once
	a.beforeCreate = func(name string) {
		once.Do(func() {
			paused <- name
			<-resume
		})
	}
	type result struct {
		release func(context.Context) error
		err     error
	}
	got := make(chan result, 1)
	go func() {
		r, err := a.Acquire(ctx, "us-east-1", fp)
		got <- result{r, err}
	}()
	if name := <-paused; name != namePrefix+fp {
		t.Fatalf("job a was about to create %s, want %s", name, namePrefix+fp)
	}
	putEntry(t, clients("us-east-1"), namePrefix+fp, "dead-job", time.Now().Add(-time.Minute))
	releaseC, err := fast(clients, "c").Acquire(ctx, "us-east-1", fp)
	if err != nil {
		t.Fatal(err)
	}
	close(resume)
	select {
	case r := <-got:
		t.Fatalf("job a took the lock while job c held it (err %v); entries: %v", r.err, emu.KeyPairs(awsemu.DefaultAccount, "us-east-1"))
	case <-time.After(time.Second):
	}
	if err := releaseC(ctx); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if err := r.release(ctx); err != nil {
		t.Fatal(err)
	}
	if kps := emu.KeyPairs(awsemu.DefaultAccount, "us-east-1"); len(kps) != 0 {
		t.Errorf("locks left behind: %v", kps)
	}
}

// A job whose lease ran out, and whose entry a taker deleted, must not
// delete a newer holder's entry of the same name when it releases.
func TestReleaseSparesNewerHolder(t *testing.T) {
	emu, clients := newEmu(t)
	ctx := context.Background()
	c := clients("us-east-1")
	release, err := fast(clients, "old").Acquire(ctx, "us-east-1", fp)
	if err != nil {
		t.Fatal(err)
	}
	old := emu.KeyPairs(awsemu.DefaultAccount, "us-east-1")[0].ID
	if _, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String(old)}); err != nil {
		t.Fatal(err)
	}
	newer := putEntry(t, c, namePrefix+fp, "newer", time.Now().Add(time.Hour))
	if err := release(ctx); err != nil {
		t.Errorf("release of a lock already taken over: %v", err)
	}
	kps := emu.KeyPairs(awsemu.DefaultAccount, "us-east-1")
	if len(kps) != 1 || kps[0].ID != newer {
		t.Errorf("after the old holder's release the entries are %v, want only the newer holder's %s", kps, newer)
	}
}

// requireQualifiedHost skips a test of dead-holder takeover where the host
// cannot be qualified by its boot and pid namespace (not Linux); on Linux
// it must be, or takeover would silently never happen, so the test fails.
func requireQualifiedHost(t *testing.T) {
	t.Helper()
	if strings.Contains(hostID(), "+") {
		return
	}
	if runtime.GOOS == "linux" {
		t.Fatalf("hostID() = %q: on Linux the boot id and pid namespace must qualify it", hostID())
	}
	t.Skip("this system cannot tell whether a pid belongs to this machine")
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatalf("running true for a pid that has exited: %v", err)
	}
	return cmd.Process.Pid
}

// A holder on this machine whose process is gone is taken over at once,
// long before its lease ends; one whose process lives is not.
func TestDeadHolderTakenOverAtOnce(t *testing.T) {
	requireQualifiedHost(t)
	emu, clients := newEmu(t)
	c := clients("us-east-1")
	alive := putEntry(t, c, namePrefix+fp, fmt.Sprintf("%s/%d/alive", hostID(), os.Getppid()), time.Now().Add(time.Hour))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := fast(clients, "a").Acquire(ctx, "us-east-1", fp); err == nil {
		t.Fatal("took over the lock of a holder whose process is alive")
	}
	c.DeleteKeyPair(context.Background(), &ec2.DeleteKeyPairInput{KeyPairId: aws.String(alive)})

	dead := putEntry(t, c, namePrefix+fp, fmt.Sprintf("%s/%d/dead", hostID(), deadPid(t)), time.Now().Add(time.Hour))
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	release, err := fast(clients, "b").Acquire(ctx, "us-east-1", fp)
	if err != nil {
		t.Fatalf("a dead holder's lock was not taken over: %v", err)
	}
	for _, kp := range emu.KeyPairs(awsemu.DefaultAccount, "us-east-1") {
		if kp.ID == dead {
			t.Error("the dead holder's entry is still there while the lock is held")
		}
	}
	release(ctx)
}

// otherBoot returns a boot and pid namespace hash that is not this one's.
func otherBoot() string {
	if strings.HasSuffix(hostID(), "+00000000") {
		return "11111111"
	}
	return "00000000"
}

func TestDeadHolder(t *testing.T) {
	requireQualifiedHost(t)
	gone := deadPid(t)
	tests := []struct {
		owner string
		want  bool
	}{
		{fmt.Sprintf("%s/%d/x", hostID(), gone), true},
		{fmt.Sprintf("%s/%d/x", hostID(), os.Getppid()), false},
		{fmt.Sprintf("%s/%d/x", hostID(), os.Getpid()), false},
		{fmt.Sprintf("other+00000000/%d/x", gone), false},
		{fmt.Sprintf("%s/%d/x", strings.Split(hostID(), "+")[0], gone), false},                 // unqualified host
		{fmt.Sprintf("%s+%s/%d/x", strings.Split(hostID(), "+")[0], otherBoot(), gone), false}, // same host name, another boot
		{"job-a", false},
		{hostID() + "/notapid/x", false},
	}
	for _, tt := range tests {
		if got := deadHolder(tt.owner); got != tt.want {
			t.Errorf("deadHolder(%q) = %v, want %v", tt.owner, got, tt.want)
		}
	}
}
