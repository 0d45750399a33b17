package bake

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
)

var graphRegions = []string{"us-east-1", "eu-west-1"}

// graph is a project-like set of images against the emulator: n/9 bases,
// each with one runtime child and seven app grandchildren, in order.
type graph struct {
	emu   *awsemu.Emulator
	baker *Baker
	imgs  []*Image
}

func newGraph(tb testing.TB, n int) *graph {
	tb.Helper()
	srv := awsemu.NewTestServer(tb, awsemu.Options{})
	clients := map[string]*ec2.Client{}
	for _, r := range graphRegions {
		clients[r] = srv.EC2(awsemu.DefaultAccount, r)
	}
	g := &graph{emu: srv.Emulator, baker: &Baker{Account: fixedAccount(awsemu.DefaultAccount), Clients: func(_, r string) images.EC2 { return clients[r] }}}
	dir := tb.TempDir()
	image := func(name string, parent *Image) *Image {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			tb.Fatal(err)
		}
		for f, body := range map[string]string{"t.json": `{"builders": []}`, "setup.sh": "echo " + name + "\n"} {
			if err := os.WriteFile(filepath.Join(d, f), []byte(body), 0o644); err != nil {
				tb.Fatal(err)
			}
		}
		img := &Image{
			Name: name, Parent: parent, Regions: graphRegions, Owners: []string{"self"}, TagKey: "ami_config_checksum",
			Spec: fingerprint.Spec{Template: filepath.Join(d, "t.json"), Dirs: []string{d}},
		}
		g.imgs = append(g.imgs, img)
		return img
	}
	var runtimes []*Image
	for i := range n / 9 {
		runtimes = append(runtimes, image(fmt.Sprintf("base%03d", i), nil))
	}
	for i, b := range runtimes {
		runtimes[i] = image(fmt.Sprintf("runtime%03d", i), b)
	}
	for i, r := range runtimes {
		for j := range 7 {
			image(fmt.Sprintf("app%03d-%d", i, j), r)
		}
	}
	return g
}

// seed puts an available, tagged AMI for every image in every region, as a
// bake would have left them.
func (g *graph) seed(tb testing.TB) {
	tb.Helper()
	fps, err := Fingerprints(context.Background(), g.imgs)
	if err != nil {
		tb.Fatal(err)
	}
	for _, fp := range fps {
		for _, r := range graphRegions {
			spec := awsemu.ImageSpec{Name: "img-" + fp.Sum, Tags: map[string]string{"ami_config_checksum": fp.Sum}}
			if _, err := g.emu.PutImage(awsemu.DefaultAccount, r, spec); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

func TestPlanAll(t *testing.T) {
	g := newGraph(t, 18)
	ctx := context.Background()
	plans, err := g.baker.PlanAll(ctx, g.imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range plans {
		if !p.NeedsBuild() || p.Regions[1].Action != Copy {
			t.Errorf("%s: %+v, want build then copy", g.imgs[i].Name, p.Regions)
		}
	}
	// Nothing found by tag, so the name guard looks too: 2 calls a region.
	if n := g.emu.CallCount("DescribeImages"); n != 4 {
		t.Errorf("DescribeImages calls = %d, want 4", n)
	}
	// A child's fingerprint covers its parent's.
	if g.imgs[2].Spec.Parent != plans[0].Fingerprint.Sum {
		t.Errorf("runtime000's parent fingerprint = %q, want base000's %s", g.imgs[2].Spec.Parent, plans[0].Fingerprint.Sum)
	}

	// One plan agrees with the other: Plan of a single image, parent set.
	single, err := g.baker.Plan(ctx, g.imgs[5])
	if err != nil || single.Fingerprint.Sum != plans[5].Fingerprint.Sum {
		t.Errorf("Plan = %v, %v; PlanAll's fingerprint %s", single, err, plans[5].Fingerprint.Sum)
	}

	g.seed(t)
	before := g.emu.CallCount("DescribeImages")
	plans, err = g.baker.PlanAll(ctx, g.imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range plans {
		if !p.UpToDate() {
			t.Errorf("%s: %+v, want reuse everywhere", g.imgs[i].Name, p.Regions)
		}
	}
	if n := g.emu.CallCount("DescribeImages") - before; n != 2 {
		t.Errorf("DescribeImages calls = %d, want 2", n)
	}
}

// A parent listed after its child is refused, not fingerprinted without it.
func TestFingerprintsOrder(t *testing.T) {
	g := newGraph(t, 9)
	if _, err := Fingerprints(context.Background(), []*Image{g.imgs[1], g.imgs[0]}); err == nil {
		t.Fatal("Fingerprints with a child before its parent succeeded")
	}
}

// BenchmarkPlanAll plans 450 images (50 chains of base, runtime and seven
// apps) in 2 regions against the emulator, with every AMI present (the
// everyday plan) and with none (the first plan: the name guard looks too),
// and, for comparison, image by image with Plan.
func BenchmarkPlanAll(b *testing.B) {
	for _, seeded := range []bool{true, false} {
		g := newGraph(b, 450)
		if seeded {
			g.seed(b)
		}
		ctx := context.Background()
		b.Run(fmt.Sprintf("batched/amis_exist=%v", seeded), func(b *testing.B) {
			before := g.emu.CallCount("DescribeImages")
			for b.Loop() {
				if _, err := g.baker.PlanAll(ctx, g.imgs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(g.emu.CallCount("DescribeImages")-before)/float64(b.N), "DescribeImages/op")
		})
		b.Run(fmt.Sprintf("naive/amis_exist=%v", seeded), func(b *testing.B) {
			if _, err := Fingerprints(ctx, g.imgs); err != nil { // sets each Spec.Parent
				b.Fatal(err)
			}
			before := g.emu.CallCount("DescribeImages")
			for b.Loop() {
				for _, img := range g.imgs {
					if _, err := g.baker.Plan(ctx, img); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(g.emu.CallCount("DescribeImages")-before)/float64(b.N), "DescribeImages/op")
		})
	}
}

// describeSignal is an EC2 client that closes called on its first
// DescribeImages call.
type describeSignal struct {
	images.EC2
	once   sync.Once
	called chan struct{}
}

func (d *describeSignal) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	d.once.Do(func() { close(d.called) })
	return d.EC2.DescribeImages(ctx, in, optFns...)
}

// TestLookupDoesNotWaitForTheAccount: the caller's account (STS, a round
// trip) is not needed before EC2 is asked (issue 25: the no-op pays one
// round trip, not two in a row). The account here answers only once
// DescribeImages has been called: a lookup that waited for it first would
// never finish.
func TestLookupDoesNotWaitForTheAccount(t *testing.T) {
	g := newGraph(t, 9)
	sig := &describeSignal{called: make(chan struct{})}
	clients := g.baker.Clients
	g.baker.Clients = func(role, r string) images.EC2 { sig.EC2 = clients(role, r); return sig }
	g.baker.Account = func(ctx context.Context, _ string) (string, error) {
		select {
		case <-sig.called:
			return awsemu.DefaultAccount, nil
		case <-ctx.Done():
			return "", errors.New("the account was awaited before any DescribeImages call")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	img := g.imgs[0]
	img.Regions = graphRegions[:1]
	if _, err := g.baker.PlanAll(ctx, []*Image{img}); err != nil {
		t.Fatal(err)
	}
}
