package channel

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// revokeFixture is a project of images base, app (from base) and web
// (from app) in one region, with a staging channel.
type revokeFixture struct {
	t    *testing.T
	s    *awsemu.TestServer
	ctx  context.Context
	imgs []*Image
	ch   *Channel
	n    int
}

const revokeRegion = "us-east-1"

func newRevokeFixture(t *testing.T) *revokeFixture {
	f := &revokeFixture{t: t, s: awsemu.NewTestServer(t), ctx: context.Background(), ch: &Channel{Name: "staging", Parameter: DefaultParameter}}
	for _, n := range [][2]string{{"base", ""}, {"app", "base"}, {"web", "app"}} {
		name := n[0]
		f.imgs = append(f.imgs, &Image{Name: name, Parent: n[1], Regions: []string{revokeRegion}, TagKey: "ami_config_checksum",
			Trusted: []string{awsemu.DefaultAccount},
			Param:   func(c *Channel) string { return c.Param("shop", name) },
			SSM:     func(r string) SSM { return f.s.BakerySSM(awsemu.DefaultAccount, r) },
			EC2:     func(r string) EC2 { return f.s.EC2(awsemu.DefaultAccount, r) }})
	}
	return f
}

// ami makes an AMI with these tags.
func (f *revokeFixture) ami(tags map[string]string) string {
	f.t.Helper()
	f.n++
	id, err := f.s.PutImage(awsemu.DefaultAccount, revokeRegion, awsemu.ImageSpec{Name: fmt.Sprintf("ami-%d", f.n), Tags: tags})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

// promote writes the AMIs to image's staging parameter, one version each.
func (f *revokeFixture) promote(image string, amis ...string) {
	f.t.Helper()
	for _, ami := range amis {
		_, err := f.s.BakerySSM(awsemu.DefaultAccount, revokeRegion).PutParameter(f.ctx, &ssm.PutParameterInput{Name: aws.String(f.ch.Param("shop", image)),
			Value: aws.String(ami), Type: "String", DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true), Description: aws.String("ami-bakery promote fp=x")})
		if err != nil {
			f.t.Fatal(err)
		}
	}
}

func (f *revokeFixture) plan(target string) *Revocation {
	f.t.Helper()
	rv, err := PlanRevoke(f.ctx, f.imgs, []*Channel{f.ch}, []string{target}, f.s.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return rv
}

// An AMI without an image tag (made before ami-bakery wrote one) is found
// as the first image's that matches, base's, though it is app's: revoking
// it must still take back the web AMI built from it. Found by
// TestChannelProperty.
func TestRevokeDescendantsOfAnUntaggedAMI(t *testing.T) {
	f := newRevokeFixture(t)
	f.ami(map[string]string{"ami_config_checksum": "b1", bake.TagImage: "base"})
	app := f.ami(map[string]string{"ami_config_checksum": "a1"}) // no image tag
	web := f.ami(map[string]string{"ami_config_checksum": "w1", bake.TagImage: "web", bake.TagParentAMI: app})
	var got []string
	for _, r := range f.plan(app).AMIs {
		got = append(got, r.AMI)
	}
	if !slices.Contains(got, app) || !slices.Contains(got, web) {
		t.Errorf("revoking %s takes back %v, want it and %s, built from it", app, got, web)
	}
}

// A channel of one image may hold another image's AMI (someone wrote it
// there): revoking that AMI must take it out of that channel too. Found by
// TestChannelProperty.
func TestRevokeAnotherImagesAMIInAChannel(t *testing.T) {
	f := newRevokeFixture(t)
	good := f.ami(map[string]string{"ami_config_checksum": "a1", bake.TagImage: "app"})
	bad := f.ami(map[string]string{"ami_config_checksum": "b1", bake.TagImage: "base"})
	f.promote("app", good, bad)
	rv := f.plan(bad)
	if len(rv.Moves) != 1 || rv.Moves[0].Image != "app" || rv.Moves[0].AMI != good {
		t.Fatalf("revoking %s: moves %+v, want app's staging back to %s", bad, rv.Moves, good)
	}
	if err := (&Writer{Timeout: time.Second, Poll: time.Millisecond}).Apply(f.ctx, rv.Moves); err != nil {
		t.Fatal(err)
	}
	if err := Revoke(f.ctx, f.imgs, rv.AMIs, f.s.Now()); err != nil {
		t.Fatal(err)
	}
	h, err := Read(f.ctx, f.s.BakerySSM(awsemu.DefaultAccount, revokeRegion), f.ch.Param("shop", "app"))
	if err != nil {
		t.Fatal(err)
	}
	if head, _ := h.Head(); head.AMI != good {
		t.Errorf("app's staging holds %s after the revoke, want %s", head.AMI, good)
	}
}
