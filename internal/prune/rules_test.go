package prune

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// reasons is a's decision and reasons in one line.
func reasons(a AMI) string { return string(a.Decision) + ": " + strings.Join(a.Reasons, "; ") }

// --min-age keeps an AMI created within it, and one last launched within
// it whenever it was created; --keep keeps the newest of each lineage.
func TestMinAgeAndKeep(t *testing.T) {
	f := newFixture(t)
	old := f.put(t, "app-old", project, "app", "", 60)
	launched := f.put(t, "app-launched", project, "app", "", 50)
	young := f.put(t, "app-young", project, "app", "", 2)
	// Launched a day ago, by an instance that is gone now (past a
	// terminated instance's retention).
	id := f.run(t, launched)
	_, err := f.e.TerminateInstances(f.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
	f.check(t, nil, err)
	f.s.Advance(26 * time.Hour)
	o := opts(f.s, "current", ModeDelete)
	o.Keep, o.MinAge = 0, 14*24*time.Hour
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{old: "delete: ", launched: "keep: launched within --min-age", young: "keep: created within --min-age"} {
		if got := reasons(planned(t, p, id)); got != want {
			t.Errorf("%s: %q, want %q", planned(t, p, id).Name, got, want)
		}
	}
	o.MinAge, o.Keep = 0, 2
	p, err = PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{old: "delete: ", launched: "keep: one of the newest 2", young: "keep: one of the newest 2"} {
		if got := reasons(planned(t, p, id)); got != want {
			t.Errorf("keep 2: %s: %q, want %q", planned(t, p, id).Name, got, want)
		}
	}
}

// Shared and public AMIs, and AMIs whose snapshot is shared, are kept
// unless IncludeShared, which prunes them.
func TestIncludeShared(t *testing.T) {
	f := newFixture(t)
	shared := f.put(t, "app-shared", project, "app", "", 60)
	public := f.put(t, "app-public", project, "app", "", 59)
	snap := f.put(t, "app-snapshot", project, "app", "", 58)
	for id, perm := range map[string]types.LaunchPermission{shared: {UserId: aws.String("210987654321")}, public: {Group: types.PermissionGroupAll}} {
		_, err := f.e.ModifyImageAttribute(f.ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
			LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{perm}}})
		f.check(t, nil, err)
	}
	f.shareSnapshot(t, snap, types.CreateVolumePermission{UserId: aws.String("210987654321")})
	for _, include := range []bool{false, true} {
		o := opts(f.s, "current", ModeDelete)
		o.Keep, o.IncludeShared = 0, include
		p, err := PlanPrune(f.ctx, clients(f.s), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{shared, public, snap} {
			if a := planned(t, p, id); (a.Decision == Keep) == include {
				t.Errorf("include-shared %t: %s %s", include, a.Name, reasons(a))
			}
		}
	}
	res, err := f.execute(t, ModeDelete, 10, func(o *Options) { o.IncludeShared = true })
	if err != nil || len(res.Changed) != 3 {
		t.Fatalf("include-shared: %v, %+v", err, res)
	}
}

// Deregistration protection, a pending state and a failed state (outside
// delete mode) keep an AMI; an unreadable prune-after tag keeps it too.
func TestStatesKept(t *testing.T) {
	f := newFixture(t)
	protected := f.put(t, "app-protected", project, "app", "", 60)
	_, err := f.e.EnableImageDeregistrationProtection(f.ctx, &ec2.EnableImageDeregistrationProtectionInput{ImageId: aws.String(protected)})
	f.check(t, nil, err)
	pending := f.put(t, "app-pending", project, "app", "", 59)
	f.check(t, nil, f.s.SetImageState(pending, "pending"))
	failed := f.put(t, "app-failed", project, "app", "", 58)
	f.check(t, nil, f.s.SetImageState(failed, "failed"))
	garbled := f.put(t, "app-garbled", project, "app", "", 57)
	_, err = f.e.CreateTags(f.ctx, &ec2.CreateTagsInput{Resources: []string{garbled}, Tags: []types.Tag{{Key: aws.String(TagPruneAfter), Value: aws.String("soon")}}})
	f.check(t, nil, err)
	for _, mode := range []Mode{ModeDeprecate, ModeDisable, ModeDelete} {
		o := opts(f.s, "current", mode)
		o.Keep = 0
		p, err := PlanPrune(f.ctx, clients(f.s), o)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{protected: "keep: deregistration protection enabled", pending: "keep: pending (being built or copied)",
			failed: "keep: failed (only --mode delete removes it)", garbled: `keep: unreadable ami-bakery:prune-after tag "soon"`}
		if mode == ModeDelete {
			want[failed] = "delete: "
		}
		for id, w := range want {
			if got := reasons(planned(t, p, id)); got != w {
				t.Errorf("%s: %s: %q, want %q", mode, planned(t, p, id).Name, got, w)
			}
		}
	}
}

// Deprecate and disable mark the AMI with a prune-after date; a later run
// keeps it until then, and deletes it after if it is still unused; an AMI
// disabled by hand is left as it is in disable mode.
func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	a := f.put(t, "app-a", project, "app", "", 60)
	b := f.put(t, "app-b", project, "app", "", 59)
	byHand := f.put(t, "app-by-hand", project, "app", "", 58)
	_, err := f.e.DisableImage(f.ctx, &ec2.DisableImageInput{ImageId: aws.String(byHand)})
	f.check(t, nil, err)
	before := f.s.Now().Truncate(time.Second)
	res, err := f.execute(t, ModeDisable, 10)
	if err != nil || len(res.Changed) != 2 {
		t.Fatalf("disable: %v, %+v", err, res.Changed)
	}
	after := f.s.Now()
	for _, id := range []string{a, b} {
		im, _ := f.s.Image(id)
		// A week after the run, which may have crossed a second.
		at, err := time.Parse(time.RFC3339, im.Tags[TagPruneAfter])
		if im.State != "disabled" || err != nil || at.Before(before.Add(7*24*time.Hour)) || at.After(after.Add(7*24*time.Hour)) {
			t.Errorf("%s: %s, prune-after %q, want a week after %s", id, im.State, im.Tags[TagPruneAfter], before.UTC().Format(time.RFC3339))
		}
	}
	if again, err := f.execute(t, ModeDisable, 10); err != nil || again.Acts != 0 {
		t.Fatalf("within the grace: %v, %d changes", err, again.Acts)
	}
	f.s.Advance(8 * 24 * time.Hour)
	f.template(t, "uses-b", b) // b cannot run, disabled: a template names it

	res, err = f.execute(t, ModeDisable, 10)
	if err != nil || len(res.Changed) != 1 || res.Changed[0].ID != a || res.Changed[0].Decision != Delete {
		t.Fatalf("past the grace: %v, %+v", err, res.Changed)
	}
	if _, ok := f.s.Image(b); !ok {
		t.Error("the used b was deleted")
	}
}

// Execute re-reads under the lock and leaves alone an AMI that became
// used, shared, the parent of a new AMI, or that is gone, since the plan.
func TestExecuteRereads(t *testing.T) {
	f := newFixture(t)
	used := f.put(t, "app-used", project, "app", "", 60)
	shared := f.put(t, "app-shared", project, "app", "", 59)
	parent := f.put(t, "app-parent", project, "app", "", 58)
	gone := f.put(t, "app-gone", project, "app", "", 57)
	free := f.put(t, "app-free", project, "app", "", 56)
	o := opts(f.s, "current", ModeDelete)
	o.Keep = 0
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	f.param(t, "/now/used", "ami="+used)
	f.shareSnapshot(t, shared, types.CreateVolumePermission{Group: types.PermissionGroupAll})
	f.put(t, "blog-child", "blog", "web", parent, 0)
	_, err = f.e.DeregisterImage(f.ctx, &ec2.DeregisterImageInput{ImageId: aws.String(gone)})
	f.check(t, nil, err)
	res, err := Execute(f.ctx, clients(f.s), p, ExecOptions{Lock: &testLocker{}, MaxDeletions: 20})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changed) != 1 || res.Changed[0].ID != free {
		t.Fatalf("changed %+v, want only %s", res.Changed, free)
	}
	why := map[string]string{}
	for _, a := range res.Skipped {
		why[a.ID] = strings.Join(a.Reasons, "; ")
	}
	for id, w := range map[string]string{used: "used by ssm parameter /now/used", shared: "shared with another account",
		parent: "parent of kept ami-", gone: "no longer exists"} {
		if !strings.Contains(why[id], w) {
			t.Errorf("%s skipped as %q, want %q", id, why[id], w)
		}
	}
	if n := f.s.CallCount("DeregisterImage"); n != 2 { // gone's, by hand, and free's
		t.Errorf("%d deregistrations", n)
	}
}

// The plan's JSON names the lineage and the untagged count.
func TestPlanJSON(t *testing.T) {
	f := newFixture(t)
	seed(t, f.s, 2, nil)
	_, err := f.s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{Name: "untagged", Tags: map[string]string{TagImage: "app"}})
	f.check(t, nil, err)
	p, err := PlanPrune(f.ctx, clients(f.s), opts(f.s, fp(1), ModeDelete))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Print(&b, p, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"untagged_left_alone": 1`, `"project": "shop"`, `"variant": "11111111"`} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %s in %s", want, b.String())
		}
	}
	if !slices.ContainsFunc(p.AMIs, func(a AMI) bool { return a.Project == project && a.Variant == variant }) {
		t.Errorf("%+v", p.AMIs)
	}
}
