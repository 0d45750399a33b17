package awsemu

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// lifecycleFixture is an image of accountA, public, so accountB sees it too.
func lifecycleFixture(t *testing.T) (s *TestServer, owner, other *ec2.Client, id string) {
	t.Helper()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s = NewTestServer(t, Options{Clock: func() time.Time { return start }})
	id, err := s.PutImage(accountA, region, ImageSpec{Name: "app-1", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	return s, s.EC2(accountA, region), s.EC2(accountB, region), id
}

func describeIDs(t *testing.T, c *ec2.Client, in *ec2.DescribeImagesInput) []string {
	t.Helper()
	out := must(c.DescribeImages(context.Background(), in))(t)
	var ids []string
	for _, im := range out.Images {
		ids = append(ids, aws.ToString(im.ImageId))
	}
	return ids
}

func TestImageDeprecationVisibility(t *testing.T) {
	ctx := context.Background()
	s, owner, other, id := lifecycleFixture(t)
	at := s.Now().Add(time.Hour + 20*time.Second)
	must(owner.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: &id, DeprecateAt: &at}))(t)
	mine := &ec2.DescribeImagesInput{Owners: []string{accountA}}
	if got := describeIDs(t, other, mine); len(got) != 1 {
		t.Fatalf("before the deprecation time another account sees %v", got)
	}
	img := must(other.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}}))(t).Images[0]
	if got := aws.ToString(img.DeprecationTime); got != "2026-03-01T13:00:00.000Z" {
		t.Fatalf("deprecationTime %q, want rounded to the minute", got)
	}
	s.Advance(2 * time.Hour)
	for _, tc := range []struct {
		name string
		c    *ec2.Client
		in   *ec2.DescribeImagesInput
		want int
	}{
		{"other account, listing", other, mine, 0},
		{"other account, IncludeDeprecated", other, &ec2.DescribeImagesInput{Owners: []string{accountA}, IncludeDeprecated: aws.Bool(true)}, 1},
		{"other account, by id", other, &ec2.DescribeImagesInput{ImageIds: []string{id}}, 1},
		{"owner, listing", owner, &ec2.DescribeImagesInput{Owners: []string{"self"}}, 1},
	} {
		if got := describeIDs(t, tc.c, tc.in); len(got) != tc.want {
			t.Errorf("%s: got %v, want %d images", tc.name, got, tc.want)
		}
	}
	must(owner.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: &id}))(t)
	if got := describeIDs(t, other, mine); len(got) != 1 {
		t.Fatalf("after DisableImageDeprecation another account sees %v", got)
	}
}

func TestImageLifecycleErrors(t *testing.T) {
	ctx := context.Background()
	s, owner, other, id := lifecycleFixture(t)
	tooLate := s.Now().Add(11 * 365 * 24 * time.Hour)
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"deprecate another account's image", func() error {
			_, err := other.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: &id, DeprecateAt: aws.Time(s.Now())})
			return err
		}, "AuthFailure"},
		{"deprecate beyond 10 years", func() error {
			_, err := owner.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: &id, DeprecateAt: &tooLate})
			return err
		}, "InvalidParameterValue"},
		{"disable a missing image", func() error {
			_, err := owner.DisableImage(ctx, &ec2.DisableImageInput{ImageId: aws.String("ami-00000000000000000")})
			return err
		}, "InvalidAMIID.NotFound"},
		{"enable an image that is not disabled", func() error {
			_, err := owner.EnableImage(ctx, &ec2.EnableImageInput{ImageId: &id})
			return err
		}, "IncorrectState"},
		{"protect a malformed id", func() error {
			_, err := owner.EnableImageDeregistrationProtection(ctx, &ec2.EnableImageDeregistrationProtectionInput{ImageId: aws.String("image-1")})
			return err
		}, "InvalidAMIID.Malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
}

func TestDisableImage(t *testing.T) {
	ctx := context.Background()
	_, owner, other, id := lifecycleFixture(t)
	must(owner.DisableImage(ctx, &ec2.DisableImageInput{ImageId: &id}))(t)
	if got := describeIDs(t, owner, &ec2.DescribeImagesInput{Owners: []string{"self"}}); len(got) != 0 {
		t.Fatalf("a disabled image is listed without IncludeDisabled: %v", got)
	}
	got := must(owner.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, IncludeDisabled: aws.Bool(true)}))(t).Images
	if len(got) != 1 || got[0].State != types.ImageStateDisabled || aws.ToBool(got[0].Public) {
		t.Fatalf("IncludeDisabled: %+v", got)
	}
	_, err := other.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	wantCode(t, err, "InvalidAMIID.NotFound") // launch permissions are gone
	_, err = owner.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: &id, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantCode(t, err, "InvalidAMIID.Unavailable")
	_, err = owner.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: &id,
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{UserId: aws.String(accountB)}}}})
	wantCode(t, err, "InvalidParameterValue")
	must(owner.EnableImage(ctx, &ec2.EnableImageInput{ImageId: &id}))(t)
	if got := describeIDs(t, owner, &ec2.DescribeImagesInput{Owners: []string{"self"}}); len(got) != 1 {
		t.Fatalf("after EnableImage: %v", got)
	}
}

func TestDeregistrationProtection(t *testing.T) {
	ctx := context.Background()
	s, owner, _, id := lifecycleFixture(t)
	protection := func() string {
		out := must(owner.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: &id, Attribute: types.ImageAttributeNameDeregistrationProtection}))(t)
		return aws.ToString(out.DeregistrationProtection.Value)
	}
	deregister := func() error {
		_, err := owner.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: &id})
		return err
	}
	must(owner.EnableImageDeregistrationProtection(ctx, &ec2.EnableImageDeregistrationProtectionInput{ImageId: &id, WithCooldown: aws.Bool(true)}))(t)
	if got := protection(); got != "enabled-with-cooldown" {
		t.Fatalf("protection %q", got)
	}
	wantCode(t, deregister(), "OperationNotPermitted")
	must(owner.DisableImageDeregistrationProtection(ctx, &ec2.DisableImageDeregistrationProtectionInput{ImageId: &id}))(t)
	if got := protection(); got != "disabled-until 2026-03-02T12:00:00.000Z" {
		t.Fatalf("protection after disabling with cooldown %q", got)
	}
	wantCode(t, deregister(), "OperationNotPermitted")
	s.Advance(24 * time.Hour)
	if got := protection(); got != "disabled" {
		t.Fatalf("protection after the cooldown %q", got)
	}
	if err := deregister(); err != nil {
		t.Fatal(err)
	}
}

func TestLastLaunchedTime(t *testing.T) {
	ctx := context.Background()
	s, owner, other, id := lifecycleFixture(t)
	attr := func() string {
		out := must(owner.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: &id, Attribute: types.ImageAttributeNameLastLaunchedTime}))(t)
		return aws.ToString(out.LastLaunchedTime.Value)
	}
	if got := attr(); got != "" {
		t.Fatalf("never launched, lastLaunchedTime %q", got)
	}
	s.Advance(time.Minute)
	must(other.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: &id, MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}))(t)
	if got := attr(); got != "2026-03-01T12:01:00.000Z" {
		t.Fatalf("lastLaunchedTime %q", got)
	}
	img := must(owner.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}}))(t).Images[0]
	if aws.ToString(img.LastLaunchedTime) != "2026-03-01T12:01:00.000Z" {
		t.Fatalf("DescribeImages lastLaunchedTime %q", aws.ToString(img.LastLaunchedTime))
	}
}
