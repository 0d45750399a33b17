package channel

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Revoked is one AMI a revocation takes back.
type Revoked struct {
	Image       string `json:"image"`
	Region      string `json:"region"`
	AMI         string `json:"ami"`
	Fingerprint string `json:"fingerprint"`
	// Why it is taken back: its fingerprint was named, or it was built
	// from a revoked AMI.
	Why string `json:"why"`
	// Already is set when an earlier revoke tagged it.
	Already bool `json:"already,omitempty"`

	// Owner is the AMI's account: only an AMI of the caller's own account
	// is deprecated; another's is tagged, which its lookups here see.
	Owner string `json:"owner"`

	deprecated bool // deprecated already (at or before now)
}

// Revocation is what revoking takes back, and the channel moves that take
// it out of every channel.
type Revocation struct {
	AMIs  []Revoked
	Moves []*Move
	// Failures are channels that hold a revoked AMI and have no earlier
	// promotion to go back to: nothing may change while there is one.
	Failures []Failure
}

// PlanRevoke finds what revoking targets (AMI ids or fingerprints) takes
// back among imgs (parents before children): every AMI of the targets'
// fingerprints in every region of their image, and every AMI built from
// one of those, through ami-bakery:parent-ami, down the images. Then, for
// each channel holding one of them, the rollback to the promotion before
// it that holds none (Failures when there is none). It changes nothing.
func PlanRevoke(ctx context.Context, imgs []*Image, channels []*Channel, targets []string, now time.Time) (*Revocation, error) {
	rv := &Revocation{}
	seen := map[string]bool{}
	add := func(r Revoked) {
		if !seen[r.AMI] {
			seen[r.AMI] = true
			rv.AMIs = append(rv.AMIs, r)
		}
	}
	for _, t := range targets {
		fps, err := resolveTarget(ctx, imgs, t)
		if err != nil {
			return nil, err
		}
		for _, f := range fps {
			for _, region := range f.img.Regions {
				ims, err := findImages(ctx, f.img, region, "tag:"+f.img.TagKey, []string{f.fp})
				if err != nil {
					return nil, err
				}
				for _, im := range ims {
					add(revokedOf(f.img, region, im, "fingerprint "+f.fp+" revoked", now))
				}
			}
		}
	}
	// Descendants, image by image down the graph: an AMI built from any
	// AMI taken back so far. Not only from those found as the parent
	// image's: an AMI without an image tag is found as the first image's
	// whose search it matches, which need not be the image it is of.
	for _, img := range imgs {
		if img.Parent == "" {
			continue
		}
		for _, region := range img.Regions {
			var parents []string
			for _, r := range rv.AMIs {
				if r.Region == region {
					parents = append(parents, r.AMI)
				}
			}
			for chunk := range slices.Chunk(parents, 200) {
				ims, err := findImages(ctx, img, region, "tag:"+bake.TagParentAMI, chunk)
				if err != nil {
					return nil, err
				}
				for _, im := range ims {
					add(revokedOf(img, region, im, "built from "+tag(im, bake.TagParentAMI)+" (revoked)", now))
				}
			}
		}
	}
	if len(rv.AMIs) == 0 {
		return nil, usererr.Usagef("revoking %s: no AMI of the project's images has it in their regions", strings.Join(targets, ", "))
	}
	// Every channel holding one of them goes back: any image's, as a
	// channel may hold another image's AMI (someone wrote it there).
	for _, img := range imgs {
		for _, ch := range channels {
			for _, region := range img.Regions {
				hist, err := Read(ctx, img.SSM(region), img.Param(ch))
				if err != nil {
					return nil, fmt.Errorf("image %s: in %s: %w", img.Name, region, err)
				}
				if head, ok := hist.Head(); !ok || !seen[head.AMI] {
					continue
				}
				m, err := rollbackFrom(ctx, img, ch, region, hist, seen, now)
				switch {
				case errors.Is(err, ErrNothingEarlier):
					rv.Failures = append(rv.Failures, Failure{Image: img.Name, Region: region, Gate: "channel " + ch.Name,
						Why: err.Error() + ": promote a good AMI to " + ch.Name + " first (fix the definition, bake, promote), then revoke"})
				case err != nil:
					return nil, fmt.Errorf("image %s: channel %s in %s: %w", img.Name, ch.Name, region, err)
				default:
					m.Note += " revoke"
					rv.Moves = append(rv.Moves, m)
				}
			}
		}
	}
	return rv, nil
}

// target is a fingerprint to revoke and its image.
type target struct {
	img *Image
	fp  string
}

// resolveTarget turns an AMI id or a fingerprint into the fingerprints to
// revoke, each with its image. An AMI must be one of an image's, owned by
// a trusted account and tagged with its fingerprint.
func resolveTarget(ctx context.Context, imgs []*Image, t string) ([]target, error) {
	var out []target
	if !strings.HasPrefix(t, "ami-") {
		for _, img := range imgs {
			out = append(out, target{img: img, fp: t})
		}
		return out, nil
	}
	for _, img := range imgs {
		for _, region := range img.Regions {
			im, found, err := describe(ctx, img.EC2(region), t)
			if err != nil {
				return nil, fmt.Errorf("image %s: in %s: %w", img.Name, region, err)
			}
			if !found || !slices.Contains(img.Trusted, aws.ToString(im.OwnerId)) {
				continue
			}
			if name := tag(im, bake.TagImage); name != "" && name != img.Name {
				continue
			}
			if fp := tag(im, img.TagKey); fp != "" {
				out = append(out, target{img: img, fp: fp})
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, usererr.WithHint(usererr.Usagef("revoking %s: it is not an AMI of the project's images (owned by a trusted account, tagged with a fingerprint) in their regions", t),
			"name an AMI that bake made for one of the images, or its fingerprint (ami-bakery checksum)")
	}
	return out, nil
}

// findImages lists img's trusted accounts' images in region whose filter
// name has one of values, deprecated and disabled ones included; an image
// another image's tag names is left out.
func findImages(ctx context.Context, img *Image, region, filter string, values []string) ([]types.Image, error) {
	in := &ec2.DescribeImagesInput{
		Owners:            img.Trusted,
		Filters:           []types.Filter{{Name: aws.String(filter), Values: values}},
		IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true),
	}
	var out []types.Image
	p := ec2.NewDescribeImagesPaginator(img.EC2(region), in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("image %s: looking up images in %s: %w", img.Name, region, err)
		}
		for _, im := range page.Images {
			if !slices.Contains(img.Trusted, aws.ToString(im.OwnerId)) {
				continue // an endpoint that ignored Owners
			}
			if name := tag(im, bake.TagImage); name != "" && name != img.Name {
				continue
			}
			out = append(out, im)
		}
	}
	return out, nil
}

func revokedOf(img *Image, region string, im types.Image, why string, now time.Time) Revoked {
	r := Revoked{Image: img.Name, Region: region, AMI: aws.ToString(im.ImageId), Fingerprint: tag(im, img.TagKey), Why: why, Already: tag(im, TagRevoked) != "", Owner: aws.ToString(im.OwnerId)}
	if t, err := time.Parse(time.RFC3339, aws.ToString(im.DeprecationTime)); err == nil && !t.After(now.Add(time.Minute)) {
		r.deprecated = true
	}
	if r.Owner != img.Trusted[0] {
		r.deprecated = true // only its owner may; its tag, ours, is what our lookups read
	}
	return r
}

// Revoke tags each AMI TagRevoked (unless an earlier revoke did) and
// deprecates it (from a minute on: EC2 refuses a time in the past), in
// its image's account; another account's AMI (a trusted owner's) is only
// tagged: EC2 lets only the owner deprecate it, and the tag, visible to
// this account, is what its lookups read. Run it after the channel moves: a channel never
// holds an AMI marked revoked while this runs. It goes on past a failure
// and returns every error.
func Revoke(ctx context.Context, imgs []*Image, amis []Revoked, now time.Time) error {
	byName := map[string]*Image{}
	for _, img := range imgs {
		byName[img.Name] = img
	}
	var errs []error
	at := now.UTC().Format(time.RFC3339)
	for _, r := range amis {
		c := byName[r.Image].EC2(r.Region)
		if !r.Already {
			if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{r.AMI}, Tags: []types.Tag{{Key: aws.String(TagRevoked), Value: aws.String(at)}}}); err != nil {
				errs = append(errs, fmt.Errorf("tagging %s in %s revoked: %w", r.AMI, r.Region, err))
				continue
			}
		}
		if !r.deprecated {
			if _, err := c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(r.AMI), DeprecateAt: aws.Time(now.Add(time.Minute))}); err != nil {
				errs = append(errs, fmt.Errorf("deprecating %s in %s: %w", r.AMI, r.Region, err))
			}
		}
	}
	return errors.Join(errs...)
}
