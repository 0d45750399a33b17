package prune

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// put makes an own AMI of lineage (project/image, our variant) created
// days ago, with parent as its ami-bakery:parent-ami; it returns its id.
func (f *fixture) put(t *testing.T, name, project, image, parent string, days int) string {
	t.Helper()
	tags := map[string]string{TagProject: project, TagImage: image, TagInputs: inputs, "ami_config_checksum": "fp-" + name}
	if parent != "" {
		tags[TagParentAMI] = parent
	}
	id, err := f.s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{Name: name, Tags: tags,
		CreationDate: f.s.Now().Add(-time.Duration(days) * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// The ancestors of every AMI that stays are kept, however far up, whoever
// the AMI belongs to; the ancestors of an AMI pruned in the same run are
// not.
func TestAncestryKept(t *testing.T) {
	f := newFixture(t)
	// base <- app: a chain of four base AMIs under one used app AMI.
	root := f.put(t, "base-0", project, "base", "", 90)
	b1 := f.put(t, "base-1", project, "base", root, 80)
	b2 := f.put(t, "base-2", project, "base", b1, 70)
	used := f.put(t, "app-used", project, "app", b2, 60)
	f.run(t, used)
	// An AMI of another project, built from one of ours.
	theirsParent := f.put(t, "base-3", project, "base", "", 50)
	f.put(t, "blog-1", "blog", "web", theirsParent, 40)
	// An image not being pruned (runtime), between ours.
	viaParent := f.put(t, "base-4", project, "base", "", 45)
	runtime := f.put(t, "runtime-1", project, "runtime", viaParent, 44)
	f.put(t, "app-on-runtime", "blog", "app", runtime, 43)
	// Unused all the way up: both go.
	goneRoot := f.put(t, "base-5", project, "base", "", 30)
	gone := f.put(t, "app-unused", project, "app", goneRoot, 20)
	// A loop in the tags does not hang the plan.
	loopA := f.put(t, "base-6", project, "base", "", 15)
	loopB := f.put(t, "base-7", project, "base", loopA, 14)
	_, err := f.e.CreateTags(f.ctx, &ec2.CreateTagsInput{Resources: []string{loopA},
		Tags: []types.Tag{{Key: aws.String(TagParentAMI), Value: aws.String(loopB)}}})
	f.check(t, nil, err)

	o := opts(f.s, "current", ModeDelete)
	o.Keep = 0
	o.Images = []Current{
		{Project: project, Name: "base", Variant: variant, Fingerprint: "current", TagKey: "ami_config_checksum"},
		{Project: project, Name: "app", Variant: variant, Fingerprint: "current", TagKey: "ami_config_checksum"},
	}
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		b2: "parent of kept " + used, b1: "parent of kept " + b2, root: "parent of kept " + b1,
		theirsParent: "parent of kept ami-", viaParent: "parent of kept " + runtime,
		gone: "", goneRoot: "", loopA: "", loopB: "",
	} {
		a := planned(t, p, id)
		switch {
		case want == "" && a.Decision != Delete:
			t.Errorf("%s: %s %v, want it deleted", a.Name, a.Decision, a.Reasons)
		case want != "" && (a.Decision != Keep || len(a.Reasons) != 1 || !hasPrefix(a.Reasons[0], want)):
			t.Errorf("%s: %s %v, want kept as %q", a.Name, a.Decision, a.Reasons, want)
		}
	}
}

func hasPrefix(s, p string) bool { return len(s) >= len(p) && s[:len(p)] == p }

// A long chain is walked in one plan, not one generation per run.
func TestAncestryDeep(t *testing.T) {
	f := newFixture(t)
	parent := ""
	var ids []string
	for i := range 30 {
		parent = f.put(t, fmt.Sprintf("base-%02d", i), project, "app", parent, 100-i)
		ids = append(ids, parent)
	}
	f.run(t, parent)
	o := opts(f.s, "current", ModeDelete)
	o.Keep = 0
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	if n := p.Changes(); n != 0 {
		t.Fatalf("%d of a used AMI's 29 ancestors would change", n)
	}
}
