package prune

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

const region = "us-east-1"

func clients(s *awsemu.TestServer) Clients {
	return Clients{
		EC2:         func(r string) EC2 { return s.EC2(awsemu.DefaultAccount, r) },
		SSM:         func(r string) SSM { return s.BakerySSM(awsemu.DefaultAccount, r) },
		AutoScaling: func(r string) AutoScaling { return s.BakeryAutoScaling(awsemu.DefaultAccount, r) },
	}
}

// seed puts n AMIs of image app, fingerprints fp0 (oldest) to fp{n-1}, a
// day apart, and returns their ids.
func seed(t *testing.T, s *awsemu.TestServer, n int, extra map[int]map[string]string) []string {
	t.Helper()
	var ids []string
	for i := range n {
		tags := map[string]string{"ami_config_checksum": fp(i), TagImage: "app", TagProject: project, TagInputs: inputs}
		for k, v := range extra[i] {
			tags[k] = v
		}
		id, err := s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{
			Name: "app-" + fp(i), Tags: tags, CreationDate: s.Now().Add(-time.Duration(n-i) * 24 * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

func fp(i int) string { return "fp" + string(rune('0'+i)) }

// The lineage of the tests' AMIs: project shop, image app, variant 11111111.
const (
	project = "shop"
	variant = "11111111"
	inputs  = "t:00000000;d0:22222222;v:" + variant
)

func opts(s *awsemu.TestServer, current string, mode Mode) Options {
	return Options{
		Images:  []Current{{Project: project, Name: "app", Variant: variant, Fingerprint: current, TagKey: "ami_config_checksum"}},
		Regions: []string{region},
		Keep:    1, Mode: mode, Grace: 7 * 24 * time.Hour,
		Now: s.Now(),
	}
}

func decisions(p *Plan) map[string]Decision {
	out := map[string]Decision{}
	for _, a := range p.AMIs {
		out[a.ID] = a.Decision
	}
	return out
}

func TestPlanKeepsWhatIsUsed(t *testing.T) {
	ctx := context.Background()
	s := awsemu.NewTestServer(t)
	ids := seed(t, s, 5, map[int]map[string]string{3: {TagParentAMI: "x"}})
	e := s.EC2(awsemu.DefaultAccount, region)
	if _, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ids[0]), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("web-lt"),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(ids[1])}}); err != nil {
		t.Fatal(err)
	}
	p, err := PlanPrune(ctx, clients(s), opts(s, fp(2), ModeDelete))
	if err != nil {
		t.Fatal(err)
	}
	got := decisions(p)
	want := map[string]Decision{ids[0]: Keep, ids[1]: Keep, ids[2]: Keep, ids[3]: Delete, ids[4]: Keep}
	for id, d := range want {
		if got[id] != d {
			t.Errorf("%s: %s, want %s (plan %+v)", id, got[id], d, p.AMIs)
		}
	}

	s.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{"DescribeLaunchTemplateVersions"}})
	if _, err := PlanPrune(ctx, clients(s), opts(s, fp(2), ModeDelete)); err == nil {
		t.Fatal("a failed DescribeLaunchTemplateVersions gave a plan")
	}
	s.SetFaults(awsemu.Faults{})

	before := len(s.Snapshots(awsemu.DefaultAccount, region))
	res, err := Execute(ctx, clients(s), p, ExecOptions{Lock: &testLocker{}, MaxDeletions: 5, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 1 || len(res.Snapshots) != 1 {
		t.Fatalf("changed %v, snapshots %v", res.Changed, res.Snapshots)
	}
	if _, ok := s.Image(ids[3]); ok {
		t.Errorf("%s still exists", ids[3])
	}
	if after := len(s.Snapshots(awsemu.DefaultAccount, region)); after != before-1 {
		t.Errorf("snapshots %d -> %d, want one fewer", before, after)
	}
}

func TestDeprecateThenDelete(t *testing.T) {
	ctx := context.Background()
	s := awsemu.NewTestServer(t)
	ids := seed(t, s, 4, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p, err := PlanPrune(ctx, clients(s), opts(s, fp(3), ModeDeprecate))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Execute(ctx, clients(s), p, ExecOptions{Lock: &testLocker{}, MaxDeletions: 2, Log: log})
	if err == nil || len(res.Changed) != 2 || len(res.Remaining) != 1 {
		t.Fatalf("cap 2 of 3: err %v, changed %d, remaining %d", err, len(res.Changed), len(res.Remaining))
	}
	// The oldest went first.
	if res.Changed[0].ID != ids[0] {
		t.Errorf("first changed %s, want the oldest %s", res.Changed[0].ID, ids[0])
	}
	// Within the grace period nothing more happens to them.
	p, err = PlanPrune(ctx, clients(s), opts(s, fp(3), ModeDeprecate))
	if err != nil {
		t.Fatal(err)
	}
	if d := decisions(p); d[ids[0]] != Keep || d[ids[2]] != Deprecate {
		t.Fatalf("second run: %v", p.AMIs)
	}
	s.Advance(8 * 24 * time.Hour)
	p, err = PlanPrune(ctx, clients(s), opts(s, fp(3), ModeDeprecate))
	if err != nil {
		t.Fatal(err)
	}
	if d := decisions(p); d[ids[0]] != Delete || d[ids[1]] != Delete {
		t.Fatalf("after the grace: %+v", p.AMIs)
	}
}

func TestParseAge(t *testing.T) {
	for in, want := range map[string]time.Duration{"14d": 14 * 24 * time.Hour, "0s": 0, "36h": 36 * time.Hour, "0d": 0} {
		if got, err := ParseAge(in); err != nil || got != want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	max := time.Duration(maxAgeDays) * 24 * time.Hour
	if got, err := ParseAge(fmt.Sprint(maxAgeDays) + "d"); err != nil || got != max {
		t.Errorf("the most days: %v, %v", got, err)
	}
	for _, bad := range []string{"", "d", "-1d", "1.5d", "x", "-3h", "110000d", fmt.Sprint(maxAgeDays+1) + "d",
		"99999999999999999999d", "2562048h", "9999999999999999999ns"} {
		if _, err := ParseAge(bad); err == nil {
			t.Errorf("ParseAge(%q) accepted", bad)
		}
	}
}

// An AMI shared or used after the plan is left alone by Execute.
func TestExecuteRechecks(t *testing.T) {
	ctx := context.Background()
	s := awsemu.NewTestServer(t)
	ids := seed(t, s, 4, nil)
	p, err := PlanPrune(ctx, clients(s), opts(s, fp(3), ModeDelete))
	if err != nil {
		t.Fatal(err)
	}
	e := s.EC2(awsemu.DefaultAccount, region)
	if _, err := e.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(ids[0]),
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{UserId: aws.String("210987654321")}}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ids[1]), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro}); err != nil {
		t.Fatal(err)
	}
	res, err := Execute(ctx, clients(s), p, ExecOptions{Lock: &testLocker{}, MaxDeletions: 5, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 1 || res.Changed[0].ID != ids[2] || len(res.Skipped) != 2 {
		t.Fatalf("changed %v, skipped %v; want %s changed, two skipped", res.Changed, res.Skipped, ids[2])
	}
	for _, id := range ids[:2] {
		if _, ok := s.Image(id); !ok {
			t.Errorf("%s was deleted", id)
		}
	}
}

// testLocker records the locks taken.
type testLocker struct {
	mu       sync.Mutex
	held     map[string]bool
	acquired []string // region/fingerprint
}

func (l *testLocker) Acquire(_ context.Context, region, fingerprint string) (func(context.Context) error, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	key := region + "/" + fingerprint
	if l.held == nil {
		l.held = map[string]bool{}
	}
	if l.held[key] {
		return nil, fmt.Errorf("%s is held", key)
	}
	l.held[key] = true
	l.acquired = append(l.acquired, key)
	return func(context.Context) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.held, key)
		return nil
	}, nil
}

// holding reports whether the lock of key is held now.
func (l *testLocker) holding(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held[key]
}
