package bake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
)

// chain is base <- runtime <- app and an independent other, in two
// regions (app in the primary only), with a packer stand-in that records
// each build (image and source_ami) and can be told to fail one image.
type chain struct {
	emu     *awsemu.Emulator
	baker   *Baker
	imgs    map[string]*Image
	order   []*Image
	mu      sync.Mutex
	builds  []string // "name source_ami"
	fail    string   // the image whose build fails
	running atomic.Int32
	peak    atomic.Int32
}

const childTemplate = `{"variables": {"config_checksum": "", "source_ami": ""}, "builders": [{"type": "amazon-ebs", "ami_name": "x-{{user ` + "`config_checksum`" + `}}", "tags": {"ami_config_checksum": "{{user ` + "`config_checksum`" + `}}"}}]}`

func newChain(t *testing.T) *chain {
	t.Helper()
	srv := awsemu.NewTestServer(t, awsemu.Options{PendingDelay: time.Millisecond})
	regions := []string{"us-east-1", "eu-west-1"}
	clients := map[string]*ec2.Client{}
	for _, r := range regions {
		clients[r] = srv.EC2(awsemu.DefaultAccount, r)
	}
	c := &chain{emu: srv.Emulator, imgs: map[string]*Image{}}
	dir := t.TempDir()
	add := func(name, parent string, regions ...string) {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "t.json"), []byte(childTemplate), 0o644)
		os.WriteFile(filepath.Join(d, "setup.sh"), []byte("echo "+name+"\n"), 0o644)
		tp, err := packer.LoadTemplate(filepath.Join(d, "t.json"))
		if err != nil {
			t.Fatal(err)
		}
		img := &Image{
			Name: name, Parent: c.imgs[parent], ParentVar: "source_ami", Regions: regions, Owners: []string{"self"},
			TagKey: "ami_config_checksum", FingerprintVar: "config_checksum", Template: tp,
			Spec: fingerprint.Spec{Template: filepath.Join(d, "t.json"), Dirs: []string{d}},
		}
		c.imgs[name] = img
		c.order = append(c.order, img)
	}
	add("base", "", regions...)
	add("other", "", regions[0])
	add("runtime", "base", regions...)
	add("app", "runtime", regions[0])
	fake := &fakePacker{build: c.build}
	c.baker = &Baker{
		Clients: func(_, r string) images.EC2 { return clients[r] },
		Account: fixedAccount(awsemu.DefaultAccount),
		Packer:  fake,
		Wait:    images.Waiter{Poll: time.Millisecond, Timeout: 5 * time.Second},
	}
	return c
}

// build stands in for packer: it makes the AMI in the primary region
// with the fingerprint's tag and name.
func (c *chain) build(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
	n := c.running.Add(1)
	defer c.running.Add(-1)
	for p := c.peak.Load(); n > p && !c.peak.CompareAndSwap(p, n); p = c.peak.Load() {
	}
	vars := map[string]string{}
	for _, v := range o.Vars {
		vars[v.Name] = v.Value
	}
	name := filepath.Base(o.Dir)
	c.mu.Lock()
	c.builds = append(c.builds, strings.TrimSpace(name+" "+vars["source_ami"]))
	c.mu.Unlock()
	time.Sleep(20 * time.Millisecond)
	if name == c.fail {
		return nil, errors.New("packer: build failed")
	}
	fp := vars["config_checksum"]
	id, err := c.emu.PutImage(awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Name: "x-" + fp, Tags: map[string]string{"ami_config_checksum": fp}})
	if err != nil {
		return nil, err
	}
	return &packer.Result{Artifacts: []packer.Artifact{{AMIs: map[string]string{"us-east-1": id}}}}, nil
}

func (c *chain) built() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.builds)
}

func byName(results []GraphResult) map[string]GraphResult {
	m := map[string]GraphResult{}
	for _, r := range results {
		m[r.Image.Name] = r
	}
	return m
}

func TestBakeGraphParentsFirstAndReuse(t *testing.T) {
	c := newChain(t)
	ctx := context.Background()
	results, err := c.baker.BakeGraph(ctx, c.order, 4)
	if err != nil {
		t.Fatal(err)
	}
	res := byName(results)
	builds := c.built()
	if len(builds) != 4 {
		t.Fatalf("builds %v, want 4", builds)
	}
	pos := func(prefix string) int {
		return slices.IndexFunc(builds, func(s string) bool { return strings.HasPrefix(s, prefix) })
	}
	if !(pos("base") < pos("runtime") && pos("runtime") < pos("app")) {
		t.Errorf("builds out of order: %v", builds)
	}
	baseAMI := res["base"].Outcome.AMIs()["us-east-1"]
	runtimeAMI := res["runtime"].Outcome.AMIs()["us-east-1"]
	if builds[pos("runtime")] != "runtime "+baseAMI || builds[pos("app")] != "app "+runtimeAMI {
		t.Errorf("children's source_ami: %v; base %s, runtime %s", builds, baseAMI, runtimeAMI)
	}
	for _, name := range []string{"base", "other", "runtime", "app"} {
		if a := res[name].Outcome.Action; a != Built {
			t.Errorf("%s: %s, want built", name, a)
		}
	}
	// Tags: the image everywhere; the parent's fingerprint and AMI in the
	// AMI's own region, on the copy too.
	runtimeEU := res["runtime"].Outcome.AMIs()["eu-west-1"]
	baseEU := res["base"].Outcome.AMIs()["eu-west-1"]
	for region, want := range map[string]map[string]string{
		"us-east-1": {TagImage: "runtime", TagParentAMI: baseAMI, TagParentFingerprint: c.imgs["base"].Spec.Parent},
		"eu-west-1": {TagImage: "runtime", TagParentAMI: baseEU},
	} {
		id := map[string]string{"us-east-1": runtimeAMI, "eu-west-1": runtimeEU}[region]
		tags := imageTags(t, c.emu, region, id)
		for k, v := range want {
			if k == TagParentFingerprint {
				v = res["base"].Outcome.Fingerprint.Sum
			}
			if tags[k] != v {
				t.Errorf("runtime in %s: tag %s = %q, want %q", region, k, tags[k], v)
			}
		}
	}
	if tags := imageTags(t, c.emu, "us-east-1", baseAMI); tags[TagImage] != "base" || tags[TagParentAMI] != "" {
		t.Errorf("base's tags: %v", tags)
	}

	// A rerun builds nothing and reuses every AMI.
	again, err := c.baker.BakeGraph(ctx, c.order, 4)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.built()); n != 4 {
		t.Errorf("the rerun built %d more", n-4)
	}
	for _, r := range again {
		if r.Outcome.Action != Reused {
			t.Errorf("%s: %s on the rerun", r.Image.Name, r.Outcome.Action)
		}
	}
}

func imageTags(t *testing.T, emu *awsemu.Emulator, region, id string) map[string]string {
	t.Helper()
	for _, im := range emu.Images(awsemu.DefaultAccount, region) {
		if im.ID == id {
			return im.Tags
		}
	}
	t.Fatalf("no image %s in %s", id, region)
	return nil
}

func TestBakeGraphFailureStopsAndResumes(t *testing.T) {
	c := newChain(t)
	c.fail = "runtime"
	ctx := context.Background()
	results, err := c.baker.BakeGraph(ctx, c.order, 1)
	var ge *GraphError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want a GraphError", err)
	}
	if !slices.Equal(ge.Failed, []string{"runtime"}) || !slices.Equal(ge.NotStarted, []string{"app"}) {
		t.Errorf("failed %v, not started %v", ge.Failed, ge.NotStarted)
	}
	if !strings.HasPrefix(err.Error(), "baking runtime failed (baked: base, other; not started: app): runtime: ") {
		t.Errorf("error: %v", err)
	}
	if res := byName(results); res["base"].Outcome == nil || res["app"].Outcome != nil || res["app"].Err != nil {
		t.Errorf("results: %+v", res)
	}
	first := len(c.built())

	c.fail = ""
	if _, err := c.baker.BakeGraph(ctx, c.order, 4); err != nil {
		t.Fatal(err)
	}
	resumed := c.built()[first:]
	if len(resumed) != 2 || !strings.HasPrefix(resumed[0], "runtime ") || !strings.HasPrefix(resumed[1], "app ") {
		t.Errorf("the rerun built %v, want runtime then app", resumed)
	}
}

func TestBakeGraphParallelLimit(t *testing.T) {
	for _, n := range []int{1, 2} {
		c := newChain(t)
		if _, err := c.baker.BakeGraph(context.Background(), c.order, n); err != nil {
			t.Fatal(err)
		}
		if p := c.peak.Load(); p > int32(n) {
			t.Errorf("parallel %d: %d builds at once", n, p)
		}
	}
	c := newChain(t)
	if _, err := c.baker.BakeGraph(context.Background(), c.order, 0); err == nil {
		t.Error("parallel 0 accepted")
	}
}

func TestBakeGraphInterruptedBeforeStart(t *testing.T) {
	c := newChain(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.baker.BakeGraph(ctx, c.order, 4)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if n := len(c.built()); n != 0 {
		t.Errorf("%d builds after an interrupt", n)
	}
}
