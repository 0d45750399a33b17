package channel

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/images"
)

// TagRevoked marks an AMI that `ami-bakery revoke` took back: no channel
// may hold it again and bake does not reuse it. Its value is when.
const TagRevoked = images.TagRevoked

// TestTagPrefix starts the tags a test's result is recorded in on the AMI
// it tested: PREFIX+NAME (pass or fail), PREFIX+NAME+":fingerprint" (the
// test's fingerprint) and PREFIX+NAME+":at".
const TestTagPrefix = "ami-bakery:test:"

// EC2 is the part of the EC2 API channels use: the gates read images and
// their launch permissions; revoke tags and deprecates.
type EC2 interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DescribeImageAttribute(ctx context.Context, in *ec2.DescribeImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	EnableImageDeprecation(ctx context.Context, in *ec2.EnableImageDeprecationInput, optFns ...func(*ec2.Options)) (*ec2.EnableImageDeprecationOutput, error)
}

// Image is one image of a project as channels see it.
type Image struct {
	Name    string
	Parent  string   // the parent image's name, "" for a root
	Regions []string // the primary first: where tests run
	TagKey  string   // the tag holding an AMI's fingerprint
	// ByName is set for an image looked up by a name holding the
	// fingerprint (lookup = "name": AMIs shared from another account,
	// whose tags are invisible here); Fingerprint is its current one.
	ByName      bool
	Fingerprint string
	// Trusted are the accounts whose AMIs a channel may hold: the
	// caller's (the image's role's) first, then the image's owners.
	Trusted []string
	// Current is, per region, the AMI of the image's current fingerprint
	// ("" where there is none yet).
	Current map[string]string
	// Tests are the fingerprints of the image's tests as defined now, by
	// name.
	Tests map[string]string
	// Param is the image's parameter of a channel.
	Param func(c *Channel) string
	SSM   func(region string) SSM
	EC2   func(region string) EC2
}

// Failure is a gate that does not hold for an image in a region.
type Failure struct {
	Image, Region string
	Gate          string // "baked", "from", "available", "revoked", "owner", "fingerprint", "soak", "shared", "test NAME"
	Why           string
}

func (f Failure) String() string {
	return fmt.Sprintf("image %s in %s: gate %s: %s", f.Image, f.Region, f.Gate, f.Why)
}

// Promotion is what promoting to a channel would do: the moves, and the
// gates that do not hold (no move may be made while there is one).
type Promotion struct {
	To       *Channel
	Moves    []*Move
	Failures []Failure
	// Held is what the channel holds, per image and region ("" when its
	// parameter does not exist).
	Held map[string]map[string]string
}

// Gates returns the gates that do not hold for the image in region.
func (p *Promotion) Gates(image, region string) []string {
	var out []string
	for _, f := range p.Failures {
		if f.Image == image && (f.Region == region || f.Gate == "fingerprint" || strings.HasPrefix(f.Gate, "test ")) && !slices.Contains(out, f.Gate) {
			out = append(out, f.Gate)
		}
	}
	return out
}

// Candidate is the AMI the promotion would move the image's channel to in
// region, or "".
func (p *Promotion) Candidate(image, region string) string {
	for _, m := range p.Moves {
		if m.Image == image && m.Region == region {
			return m.AMI
		}
	}
	return ""
}

// PlanPromote reads everything a promotion to `to` needs, in every region
// of every image, and checks every gate: the AMI (the image's current one,
// or the one the channel `from` holds) is owned by a trusted account,
// carries the image's fingerprint tag, the same in every region, is
// available and neither deprecated, disabled nor revoked, sat in `from`
// for the soak time, is launchable by each account the channel lists, and
// passed each required test (recorded on the primary region's AMI, with
// the test's current fingerprint). It changes nothing. An error is a
// failure to read; a gate that does not hold is a Failure.
func PlanPromote(ctx context.Context, imgs []*Image, to, from *Channel, now time.Time) (*Promotion, error) {
	p := &Promotion{To: to, Held: map[string]map[string]string{}}
	for _, img := range imgs {
		held := map[string]string{}
		p.Held[img.Name] = held
		moves, fails, err := planImage(ctx, img, to, from, now, held)
		if err != nil {
			return nil, fmt.Errorf("image %s: %w", img.Name, err)
		}
		p.Moves = append(p.Moves, moves...)
		p.Failures = append(p.Failures, fails...)
	}
	return p, nil
}

func planImage(ctx context.Context, img *Image, to, from *Channel, now time.Time, held map[string]string) ([]*Move, []Failure, error) {
	var moves []*Move
	var fails []Failure
	fail := func(region, gate, format string, args ...any) {
		fails = append(fails, Failure{Image: img.Name, Region: region, Gate: gate, Why: fmt.Sprintf(format, args...)})
	}
	fps := map[string]string{}  // region -> the candidate's fingerprint
	amis := map[string]string{} // region -> the candidate
	for _, region := range img.Regions {
		param := img.Param(to)
		hist, err := Read(ctx, img.SSM(region), param)
		if err != nil {
			return nil, nil, fmt.Errorf("in %s: %w", region, err)
		}
		if head, ok := hist.Head(); ok {
			held[region] = head.AMI
		}
		var ami string
		var fromHist History
		if from == nil {
			ami = img.Current[region]
			if ami == "" {
				fail(region, "baked", "there is no AMI of the image's current fingerprint: bake it first (ami-bakery bake %s)", img.Name)
				continue
			}
		} else {
			fromHist, err = Read(ctx, img.SSM(region), img.Param(from))
			if err != nil {
				return nil, nil, fmt.Errorf("in %s: %w", region, err)
			}
			head, ok := fromHist.Head()
			if !ok {
				fail(region, "from", "channel %s holds no AMI (%s does not exist): promote to %s first", from.Name, fromHist.Param, from.Name)
				continue
			}
			ami = head.AMI
		}
		amis[region] = ami
		im, found, err := describe(ctx, img.EC2(region), ami)
		if err != nil {
			return nil, nil, fmt.Errorf("in %s: %w", region, err)
		}
		if !found {
			fail(region, "available", "%s does not exist (deregistered?)", ami)
			continue
		}
		if why := unusable(im, now); why != "" {
			fail(region, "available", "%s %s", ami, why)
		}
		if at := tag(im, TagRevoked); at != "" {
			fail(region, "revoked", "%s was revoked (%s)", ami, at)
		}
		owner := aws.ToString(im.OwnerId)
		if !slices.Contains(img.Trusted, owner) {
			fail(region, "owner", "%s is owned by %s, not by a trusted account (%s)", ami, owner, strings.Join(img.Trusted, ", "))
		}
		fp := tag(im, img.TagKey)
		if fp == "" && img.ByName {
			// Another account's tags are invisible here: an image looked up
			// by name is known by the fingerprint its name holds, the
			// current one, or the one the from channel wrote.
			want := img.Fingerprint
			if head, ok := fromHist.Head(); from != nil && ok {
				want = head.Fingerprint
			}
			if want != "" && strings.Contains(aws.ToString(im.Name), want) {
				fp = want
			}
		}
		if fp == "" {
			fail(region, "fingerprint", "%s has no %s tag: it is not an AMI ami-bakery built for this image", ami, img.TagKey)
		}
		fps[region] = fp
		if from != nil && from.Name != "" && to.Soak > 0 {
			since := fromHist.HeldSince()
			if sat := now.Sub(since); sat < to.Soak {
				fail(region, "soak", "%s has been in %s for %s of %s since %s; it may be promoted after %s",
					ami, from.Name, sat.Truncate(time.Second), to.Soak, since.UTC().Format(time.RFC3339), since.Add(to.Soak).UTC().Format(time.RFC3339))
			}
		}
		switch {
		case len(to.Accounts) == 0 || !slices.Contains(img.Trusted, owner):
		case owner != img.Trusted[0]:
			fail(region, "shared", "%s is owned by %s: only its owner can read whom it is shared with (%s)", ami, owner, strings.Join(to.Accounts, ", "))
		default:
			missing, err := notLaunchable(ctx, img.EC2(region), ami, to.Accounts)
			if err != nil {
				return nil, nil, fmt.Errorf("in %s: %w", region, err)
			}
			if len(missing) > 0 {
				fail(region, "shared", "%s is not shared with %s (the channel's accounts): share it (aws ec2 modify-image-attribute --image-id %s --launch-permission \"Add=[{UserId=ACCOUNT}]\" --region %s) and promote again", ami, strings.Join(missing, ", "), ami, region)
			}
		}
		note := ""
		if from != nil {
			note = "from=" + from.Name
		}
		moves = append(moves, &Move{
			Image: img.Name, Channel: to.Name, Region: region, Param: param, Client: img.SSM(region),
			AMI: ami, Fingerprint: fp, Kind: KindPromote, Note: note, History: hist,
		})
	}
	// One definition in every region.
	var first string
	for _, region := range img.Regions {
		fp, ok := fps[region]
		if !ok || fp == "" {
			continue
		}
		if first == "" {
			first = fp
		} else if fp != first {
			fail(region, "fingerprint", "%s has fingerprint %s, and the AMI of %s %s: every region must hold the same definition", amis[region], short(fp), img.Regions[0], short(first))
		}
	}
	// Tests ran in the primary region, on the AMI of the same fingerprint.
	if len(to.Requires) > 0 {
		primary := img.Regions[0]
		ami := amis[primary]
		if ami != "" {
			im, found, err := describe(ctx, img.EC2(primary), ami)
			if err != nil {
				return nil, nil, fmt.Errorf("in %s: %w", primary, err)
			}
			for _, t := range to.Requires {
				if !found {
					break
				}
				if why := testGate(im, t, img.Tests[t]); why != "" {
					fail(primary, "test "+t, "%s", why)
				}
			}
		}
	}
	return moves, fails, nil
}

// testGate says why test t has not passed on im with the test's current
// fingerprint, or "" when it has.
func testGate(im types.Image, t, fp string) string {
	id := aws.ToString(im.ImageId)
	result := tag(im, TestTagPrefix+t)
	switch {
	case result == "":
		return fmt.Sprintf("test %s never ran on %s: run ami-bakery test", t, id)
	case result == "fail":
		return fmt.Sprintf("test %s failed on %s at %s: fix the image and bake, or fix the test and run ami-bakery test", t, id, tag(im, TestTagPrefix+t+":at"))
	case result != "pass":
		return fmt.Sprintf("test %s's result on %s is %q, not pass", t, id, result)
	case tag(im, TestTagPrefix+t+":fingerprint") != fp:
		return fmt.Sprintf("test %s passed on %s, but the test changed since: run ami-bakery test to run it again", t, id)
	}
	return ""
}

// unusable says why an AMI cannot be launched or promoted, or "".
func unusable(im types.Image, now time.Time) string {
	switch {
	case im.State == types.ImageStateDisabled:
		return "is disabled"
	case im.State != types.ImageStateAvailable:
		return "is " + string(im.State) + ", not available"
	}
	if t, err := time.Parse(time.RFC3339, aws.ToString(im.DeprecationTime)); err == nil && !t.After(now) {
		return "is deprecated since " + t.UTC().Format(time.RFC3339)
	}
	return ""
}

// describe reads one AMI, deprecated and disabled ones included; found is
// false when EC2 does not show it.
func describe(ctx context.Context, c EC2, id string) (types.Image, bool, error) {
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{
		Filters:           []types.Filter{{Name: aws.String("image-id"), Values: []string{id}}},
		IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true),
	})
	if err != nil {
		return types.Image{}, false, fmt.Errorf("describing %s: %w", id, err)
	}
	for _, im := range out.Images {
		if aws.ToString(im.ImageId) == id {
			return im, true, nil
		}
	}
	return types.Image{}, false, nil
}

// notLaunchable returns the accounts of want that may not launch ami.
func notLaunchable(ctx context.Context, c EC2, ami string, want []string) ([]string, error) {
	out, err := c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(ami), Attribute: types.ImageAttributeNameLaunchPermission,
	})
	if err != nil {
		return nil, fmt.Errorf("reading the launch permissions of %s: %w", ami, err)
	}
	var missing []string
	for _, a := range want {
		if !slices.ContainsFunc(out.LaunchPermissions, func(lp types.LaunchPermission) bool {
			return lp.Group == types.PermissionGroupAll || aws.ToString(lp.UserId) == a
		}) {
			missing = append(missing, a)
		}
	}
	return missing, nil
}

func tag(im types.Image, key string) string {
	for _, t := range im.Tags {
		if aws.ToString(t.Key) == key {
			return aws.ToString(t.Value)
		}
	}
	return ""
}

func short(fp string) string {
	if len(fp) > 12 {
		return fp[:12]
	}
	return fp
}
