package prune

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// register makes an own AMI of the tests' lineage from existing
// snapshots (the first is its root), created now.
func (f *fixture) register(t *testing.T, name string, snaps ...string) string {
	t.Helper()
	var bdms []types.BlockDeviceMapping
	for i, s := range snaps {
		bdms = append(bdms, types.BlockDeviceMapping{DeviceName: aws.String(fmt.Sprintf("/dev/xvd%c", 'a'+i)),
			Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(s)}})
	}
	out, err := f.e.RegisterImage(f.ctx, &ec2.RegisterImageInput{Name: aws.String(name), RootDeviceName: aws.String("/dev/xvda"),
		BlockDeviceMappings: bdms, TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{
			{Key: aws.String(TagProject), Value: aws.String(project)}, {Key: aws.String(TagImage), Value: aws.String("app")},
			{Key: aws.String(TagInputs), Value: aws.String(inputs)}, {Key: aws.String("ami_config_checksum"), Value: aws.String("fp-" + name)}}}}})
	f.check(t, nil, err)
	return aws.ToString(out.ImageId)
}

// execute plans and executes with a cap, as the tests' lineage, in mode.
func (f *fixture) execute(t *testing.T, mode Mode, maxDeletions int, edit ...func(*Options)) (*Result, error) {
	t.Helper()
	o := opts(f.s, "current", mode)
	o.Keep = 0
	for _, e := range edit {
		e(&o)
	}
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	return Execute(f.ctx, clients(f.s), p, ExecOptions{Lock: &testLocker{}, MaxDeletions: maxDeletions})
}

// The cap counts every change: a deregistration and each snapshot
// deletion, a deprecation, a disabling.
func TestCapCountsEveryChange(t *testing.T) {
	for _, tc := range []struct {
		mode    Mode
		cap     int
		changed int
	}{
		{ModeDelete, 3, 1}, // 2 (AMI, snapshot) + 2 do not fit in 3
		{ModeDelete, 4, 2},
		{ModeDeprecate, 3, 3},
		{ModeDisable, 2, 2},
		{ModeDelete, 0, 0},
	} {
		t.Run(fmt.Sprintf("%s-%d", tc.mode, tc.cap), func(t *testing.T) {
			f := newFixture(t)
			seed(t, f.s, 4, nil)
			res, err := f.execute(t, tc.mode, tc.cap)
			if err == nil || !strings.Contains(err.Error(), ErrCap.Error()) {
				t.Fatalf("err %v, want the cap", err)
			}
			acts := 0
			for _, c := range f.s.Calls() {
				switch c.Action {
				case "DeregisterImage", "DeleteSnapshot", "EnableImageDeprecation", "DisableImage":
					acts++
				}
			}
			if len(res.Changed) != tc.changed || acts > tc.cap || res.Acts != acts || len(res.Remaining) != 4-tc.changed {
				t.Fatalf("changed %d, remaining %d, %d acts (%d counted); want %d changed within %d", len(res.Changed),
					len(res.Remaining), acts, res.Acts, tc.changed, tc.cap)
			}
		})
	}
}

// A snapshot another AMI uses stays when its first AMI is deleted, and
// goes with the last.
func TestSharedSnapshotSurvives(t *testing.T) {
	f := newFixture(t)
	ids := seed(t, f.s, 2, nil)
	im, _ := f.s.Image(ids[0])
	other := f.register(t, "other", im.SnapshotIDs[0])
	f.run(t, other) // the second user of the snapshot stays
	res, err := f.execute(t, ModeDelete, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 2 || len(res.Snapshots) != 1 {
		t.Fatalf("changed %v, snapshots %v", res.Changed, res.Snapshots)
	}
	if !slicesContains(snapshotIDs(f.s), im.SnapshotIDs[0]) {
		t.Fatalf("the snapshot %s of the used %s was deleted", im.SnapshotIDs[0], other)
	}
	// Not even tried (EC2 would refuse, but prune must not count on it),
	// nor marked as pruned.
	if n := f.s.CallCount("DeleteSnapshot"); n != 1 {
		t.Errorf("%d DeleteSnapshot calls, want 1", n)
	}
	out, err := f.e.DescribeSnapshots(f.ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: im.SnapshotIDs})
	f.check(t, nil, err)
	if v, ok := tagMap(out.Snapshots[0].Tags)[TagPrunedFrom]; ok {
		t.Errorf("the used snapshot is tagged %s=%s", TagPrunedFrom, v)
	}
}

func snapshotIDs(s *awsemu.TestServer) []string {
	var out []string
	for _, sn := range s.Snapshots(awsemu.DefaultAccount, region) {
		out = append(out, sn.ID)
	}
	return out
}

func slicesContains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// Execute refuses to run without the build lock, and holds the lock of
// every lineage it changes while it changes anything.
func TestExecuteTakesTheLock(t *testing.T) {
	f := newFixture(t)
	seed(t, f.s, 3, nil)
	p, err := PlanPrune(f.ctx, clients(f.s), opts(f.s, fp(2), ModeDelete))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Execute(f.ctx, clients(f.s), p, ExecOptions{MaxDeletions: 10}); err == nil {
		t.Fatal("Execute ran without a lock")
	}
	if n := f.s.CallCount("DeregisterImage"); n != 0 {
		t.Fatalf("%d deregistered without a lock", n)
	}
	l := &testLocker{}
	c := clients(f.s)
	var unlocked []string
	c.EC2 = func(r string) EC2 {
		return lockChecker{EC2: f.s.EC2(awsemu.DefaultAccount, r), check: func(action string) {
			if !l.holding(region + "/" + fp(2)) {
				unlocked = append(unlocked, action)
			}
		}}
	}
	if _, err := Execute(f.ctx, c, p, ExecOptions{Lock: l, MaxDeletions: 10}); err != nil {
		t.Fatal(err)
	}
	if len(l.acquired) != 1 || len(unlocked) > 0 || f.s.CallCount("DeregisterImage") != 2 {
		t.Fatalf("locks %v; changes without the lock: %v", l.acquired, unlocked)
	}
}

// lockChecker calls check before every change.
type lockChecker struct {
	EC2
	check func(action string)
}

func (l lockChecker) DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, o ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error) {
	l.check("DeregisterImage")
	return l.EC2.DeregisterImage(ctx, in, o...)
}

func (l lockChecker) DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, o ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error) {
	l.check("DeleteSnapshot")
	return l.EC2.DeleteSnapshot(ctx, in, o...)
}

func (l lockChecker) CreateTags(ctx context.Context, in *ec2.CreateTagsInput, o ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	l.check("CreateTags")
	return l.EC2.CreateTags(ctx, in, o...)
}

// Orphaned snapshots: only those tagged with one of the lineages' identity
// are deleted, never one an AMI uses or one shared, and within the cap.
func TestOrphans(t *testing.T) {
	f := newFixture(t)
	crash := func(name string, tags map[string]string) string {
		id := f.put(t, name, project, "app", "", 30)
		im, _ := f.s.Image(id)
		var ts []types.Tag
		for k, v := range tags {
			ts = append(ts, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		ts = append(ts, types.Tag{Key: aws.String(TagPrunedFrom), Value: aws.String(id)})
		_, err := f.e.CreateTags(f.ctx, &ec2.CreateTagsInput{Resources: im.SnapshotIDs, Tags: ts})
		f.check(t, nil, err)
		_, err = f.e.DeregisterImage(f.ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)})
		f.check(t, nil, err)
		return im.SnapshotIDs[0]
	}
	ours := map[string]string{TagProject: project, TagImage: "app", TagInputs: inputs}
	mine1 := crash("ours-1", ours)
	mine2 := crash("ours-2", ours)
	legacy := crash("legacy", nil)
	theirs := crash("theirs", map[string]string{TagProject: "blog", TagImage: "app", TagInputs: inputs})
	shared := crash("shared", ours)
	_, err := f.e.ModifySnapshotAttribute(f.ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(shared),
		Attribute:              types.SnapshotAttributeNameCreateVolumePermission,
		CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: []types.CreateVolumePermission{{UserId: aws.String("210987654321")}}}})
	f.check(t, nil, err)
	used := crash("used", ours)
	f.register(t, "reuses", used)

	o := opts(f.s, "current", ModeDelete)
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	var planned []string
	for _, s := range p.Orphans {
		planned = append(planned, s.ID)
	}
	if want := []string{mine1, mine2}; !sameSet(planned, want) {
		t.Fatalf("orphans %v, want %v (legacy %s, theirs %s, shared %s, used %s)", planned, want, legacy, theirs, shared, used)
	}
	res, err := Execute(f.ctx, clients(f.s), p, ExecOptions{Lock: &testLocker{}, MaxDeletions: 1})
	if err == nil || len(res.Snapshots) != 1 || len(res.Orphans) != 1 {
		t.Fatalf("cap 1: err %v, deleted %v, left %v", err, res.Snapshots, res.Orphans)
	}
	left := snapshotIDs(f.s)
	for _, s := range []string{legacy, theirs, shared, used} {
		if !slicesContains(left, s) {
			t.Errorf("%s was deleted", s)
		}
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slicesContains(b, x) {
			return false
		}
	}
	return true
}

// A delete tags the snapshots with the AMI and its identity before it
// deregisters, so that a rerun after a crash in between knows them for
// this lineage's.
func TestDeleteMarksSnapshots(t *testing.T) {
	f := newFixture(t)
	ids := seed(t, f.s, 2, nil)
	im, _ := f.s.Image(ids[0])
	f.s.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{"DeleteSnapshot"}, Codes: []string{"InternalError"}})
	if _, err := f.execute(t, ModeDelete, 10); err == nil {
		t.Fatal("a failed DeleteSnapshot passed")
	}
	f.s.SetFaults(awsemu.Faults{})
	out, err := f.e.DescribeSnapshots(f.ctx, &ec2.DescribeSnapshotsInput{SnapshotIds: im.SnapshotIDs})
	f.check(t, nil, err)
	got := tagMap(out.Snapshots[0].Tags)
	for k, v := range map[string]string{TagPrunedFrom: ids[0], TagProject: project, TagImage: "app", TagInputs: inputs} {
		if got[k] != v {
			t.Errorf("snapshot tag %s = %q, want %q", k, got[k], v)
		}
	}
	res, err := f.execute(t, ModeDelete, 10)
	if err != nil || !slicesContains(res.Snapshots, im.SnapshotIDs[0]) {
		t.Fatalf("the rerun: %v, deleted %v", err, res)
	}
}

// Options that time arithmetic cannot hold, or that make no sense, are
// refused before anything is read.
func TestOptionsRefused(t *testing.T) {
	f := newFixture(t)
	for name, edit := range map[string]func(*Options){
		"unknown mode":   func(o *Options) { o.Mode = "destroy" },
		"negative keep":  func(o *Options) { o.Keep = -1 },
		"negative age":   func(o *Options) { o.MinAge = -time.Hour },
		"no time":        func(o *Options) { o.Now = time.Time{} },
		"no fingerprint": func(o *Options) { o.Images[0].Fingerprint = "" },
	} {
		o := opts(f.s, "current", ModeDelete)
		edit(&o)
		if _, err := PlanPrune(f.ctx, clients(f.s), o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if n := len(f.s.Calls()); n != 0 {
		t.Errorf("%d calls made", n)
	}
}
