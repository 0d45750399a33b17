package bake

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const workload = "222222222222"

// TestCopiesShareAndEncryptLikeTheSource: an encrypted build shared with a
// workload account is copied to two regions, each under its own key; the
// region whose key policy denies us fails with the region, the key and a
// hint while the other copy is kept and shared; fixing the key finishes
// the job; a rerun changes nothing; a copy stripped of its sharing is
// repaired by the next bake.
func TestCopiesShareAndEncryptLikeTheSource(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, tagged, "us-east-1", "us-west-2", "eu-west-1")
	self := awsemu.DefaultAccount
	good := mustKey(t, w.emu, "us-west-2", awsemu.KMSKeySpec{Alias: "alias/amis"})
	denied := mustKey(t, w.emu, "eu-west-1", awsemu.KMSKeySpec{Deny: []string{self}})
	fixed := mustKey(t, w.emu, "eu-west-1", awsemu.KMSKeySpec{})
	build := w.packer.build
	w.packer.build = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
		res, err := build(ctx, o)
		if err == nil {
			id := res.Artifacts[0].AMIs["us-east-1"]
			c := w.baker.Clients("", "us-east-1")
			im, _ := images.Describe(ctx, c, id)
			_, err = images.Grant(ctx, c, im, images.Sharing{
				Launch:  images.Permissions{Accounts: []string{workload}},
				Volumes: map[string]images.Permissions{im.Devices[0].Name: {Accounts: []string{workload}}},
			})
		}
		return res, err
	}
	w.img.KMSKeys = map[string]string{"us-west-2": "alias/amis", "eu-west-1": denied.ARN}

	_, err := w.baker.Bake(ctx, w.img)
	if err == nil || !strings.Contains(err.Error(), "in eu-west-1") || !strings.Contains(err.Error(), denied.ARN) {
		t.Fatalf("want a failure in eu-west-1 naming the key, got %v", err)
	}
	if hints := usererr.Hints(err); len(hints) == 0 || !strings.Contains(hints[0], "key policy") {
		t.Fatalf("hints: %q", hints)
	}
	west := w.emu.Images(self, "us-west-2")
	if len(west) != 1 || !slices.Equal(west[0].SharedWith, []string{workload}) {
		t.Fatalf("the us-west-2 copy is not kept and shared: %+v", west)
	}
	assertSnapshot(t, w.emu, "us-west-2", west[0], good.ARN, workload)

	w.img.KMSKeys["eu-west-1"] = fixed.ID
	out, err := w.baker.Bake(ctx, w.img)
	if err != nil {
		t.Fatal(err)
	}
	if out.Regions[1].AMI != west[0].ID || out.Regions[2].Carries == nil || !strings.Contains(out.Regions[2].Carries.String(), "shared with 1 account") {
		t.Fatalf("second bake: %+v", out.Regions)
	}
	eu, _ := w.emu.Image(out.Regions[2].AMI)
	assertSnapshot(t, w.emu, "eu-west-1", eu, fixed.ARN, workload)
	if w.builds.Load() != 1 {
		t.Fatalf("%d builds", w.builds.Load())
	}

	modifies := func() int {
		return w.emu.CallCount("ModifyImageAttribute") + w.emu.CallCount("ModifySnapshotAttribute")
	}
	before := modifies()
	if _, err := w.baker.Bake(ctx, w.img); err != nil || modifies() != before {
		t.Fatalf("a rerun modified permissions (%d -> %d) or failed: %v", before, modifies(), err)
	}

	c := w.baker.Clients("", "us-west-2").(*ec2.Client)
	if _, err := c.ResetImageAttribute(ctx, &ec2.ResetImageAttributeInput{ImageId: aws.String(west[0].ID), Attribute: "launchPermission"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.baker.Bake(ctx, w.img); err != nil {
		t.Fatal(err)
	}
	if im, _ := w.emu.Image(west[0].ID); !slices.Equal(im.SharedWith, []string{workload}) {
		t.Fatalf("the stripped copy was not repaired: %v", im.SharedWith)
	}
	if _, err := w.baker.Clients("", "us-west-2").(*ec2.Client).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{west[0].ID}}); err != nil {
		t.Fatal(err)
	}
}

func mustKey(t *testing.T, emu *awsemu.Emulator, region string, spec awsemu.KMSKeySpec) awsemu.KMSKey {
	t.Helper()
	k, err := emu.PutKMSKey(awsemu.DefaultAccount, region, spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func assertSnapshot(t *testing.T, emu *awsemu.Emulator, region string, im awsemu.Image, key, sharedWith string) {
	t.Helper()
	for _, s := range emu.Snapshots(awsemu.DefaultAccount, region) {
		if slices.Contains(im.SnapshotIDs, s.ID) {
			if !s.Encrypted || s.KMSKeyID != key || !slices.Equal(s.SharedWith, []string{sharedWith}) {
				t.Fatalf("snapshot of %s in %s: %+v, want encrypted under %s and shared with %s", im.ID, region, s, key, sharedWith)
			}
			return
		}
	}
	t.Fatalf("no snapshot of %s in %s", im.ID, region)
}

func TestPlanSaysWhatCopiesCarry(t *testing.T) {
	tmpl := `{"variables": {"config_checksum": ""}, "builders": [{"type": "amazon-ebs", "ami_name": "app-{{user ` + "`config_checksum`" + `}}",
		"ami_users": ["222222222222"], "encrypt_boot": true, "region_kms_key_ids": {"eu-west-1": "alias/eu"}}]}`
	w := newWorld(t, tmpl, "us-east-1", "us-west-2", "eu-west-1")
	p, err := w.baker.Plan(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{p.Regions[1].Carries.String(), p.Regions[2].Carries.String()}
	want := []string{
		"shared with 1 account; encrypted under the default EBS key (as the template asks)",
		"shared with 1 account; encrypted under alias/eu (region_kms_key_ids) (as the template asks)",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("carries:\n%q\nwant\n%q", got, want)
	}
}

// TestPublicSourceNeedsAllowPublic: a public source's copies get its other
// sharing, and become public only with AllowPublic.
func TestPublicSourceNeedsAllowPublic(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, tagged, "us-east-1", "us-west-2")
	build := w.packer.build
	w.packer.build = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
		res, err := build(ctx, o)
		if err == nil {
			c := w.baker.Clients("", "us-east-1")
			im, _ := images.Describe(ctx, c, res.Artifacts[0].AMIs["us-east-1"])
			_, err = images.Grant(ctx, c, im, images.Sharing{Launch: images.Permissions{Public: true, Accounts: []string{workload}}})
		}
		return res, err
	}
	out, err := w.baker.Bake(ctx, w.img)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := w.emu.Image(out.Regions[1].AMI)
	if im.Public || !slices.Equal(im.SharedWith, []string{workload}) || !out.Regions[1].Carries.PublicDropped {
		t.Fatalf("without AllowPublic: %+v, carries %+v", im, out.Regions[1].Carries)
	}
	w.img.AllowPublic = true
	if _, err := w.baker.Bake(ctx, w.img); err != nil {
		t.Fatal(err)
	}
	if im, _ := w.emu.Image(out.Regions[1].AMI); !im.Public {
		t.Fatal("with AllowPublic the copy is public")
	}
}
