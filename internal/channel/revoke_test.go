package channel

import (
	"context"
	"fmt"
	"slices"
	"testing"

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
			SSM:     func(r string) SSM { return f.s.SSM(awsemu.DefaultAccount, r) },
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
