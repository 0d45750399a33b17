package bake

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"go.uber.org/goleak"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDecide(t *testing.T) {
	avail := func(id string) images.Match { return images.Match{Available: &images.Image{ID: id}} }
	pending := func(id string) images.Match { return images.Match{Pending: &images.Image{ID: id}} }
	none := images.Match{}
	regions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	tests := []struct {
		name    string
		matches []images.Match
		want    []Decision
	}{
		{"all present", []images.Match{avail("a"), avail("b"), avail("c")}, []Decision{
			{"us-east-1", "reuse", "a", ""}, {"us-west-2", "reuse", "b", ""}, {"eu-west-1", "reuse", "c", ""}}},
		{"none anywhere: build in primary, copy from it", []images.Match{none, none, none}, []Decision{
			{"us-east-1", "build", "", ""}, {"us-west-2", "copy", "", "us-east-1"}, {"eu-west-1", "copy", "", "us-east-1"}}},
		{"primary missing: copy from the first that has it", []images.Match{none, none, avail("c")}, []Decision{
			{"us-east-1", "copy", "", "eu-west-1"}, {"us-west-2", "copy", "", "eu-west-1"}, {"eu-west-1", "reuse", "c", ""}}},
		{"pending counts as present", []images.Match{pending("p"), none, none}, []Decision{
			{"us-east-1", "wait", "p", ""}, {"us-west-2", "copy", "", "us-east-1"}, {"eu-west-1", "copy", "", "us-east-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decide(regions, tt.matches); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// world is an emulator, a definition on disk, and Options wired to both,
// with a stand-in for packer that builds through the emulator as packer
// would and counts its runs.
type world struct {
	emu    *awsemu.Emulator
	opts   *Options
	builds atomic.Int32
	dir    string
}

func newWorld(t *testing.T, tmpl string, regions ...string) *world {
	t.Helper()
	srv := awsemu.NewTestServer(t, awsemu.Options{PendingDelay: time.Millisecond})
	w := &world{emu: srv.Emulator}
	w.dir = t.TempDir()
	os.WriteFile(filepath.Join(w.dir, "ami.json"), []byte(tmpl), 0o644)
	os.WriteFile(filepath.Join(w.dir, "setup.sh"), []byte("echo hi\n"), 0o755)
	tp, err := packer.LoadTemplate(filepath.Join(w.dir, "ami.json"))
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*ec2.Client{}
	for _, r := range append(regions, "us-east-1", "us-west-2", "eu-west-1") {
		clients[r] = srv.EC2(awsemu.DefaultAccount, r)
	}
	w.opts = &Options{
		Spec:           fingerprint.Spec{Template: filepath.Join(w.dir, "ami.json"), Dirs: []string{w.dir}},
		Template:       tp,
		Regions:        regions,
		Owners:         []string{"self"},
		TagKey:         "ami_config_checksum",
		FingerprintVar: "config_checksum",
		Clients:        func(r string) images.EC2 { return clients[r] },
		Wait:           images.Waiter{Poll: time.Millisecond, Timeout: 5 * time.Second},
		Version:        "test",
	}
	w.opts.RunPacker = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
		w.builds.Add(1)
		var fp string
		for _, v := range o.Vars {
			if v.Name == "config_checksum" {
				fp = v.Value
			}
		}
		tags := map[string]string{}
		if strings.Contains(tmpl, "tags") {
			tags["ami_config_checksum"] = fp
		}
		id, err := w.emu.PutImage(awsemu.DefaultAccount, regions[0], awsemu.ImageSpec{Name: "app-" + fp, Tags: tags})
		if err != nil {
			return nil, err
		}
		return &packer.Result{Artifacts: []packer.Artifact{{AMIs: map[string]string{regions[0]: id}}}}, nil
	}
	return w
}

const tagged = `{"variables": {"config_checksum": ""}, "builders": [{"type": "amazon-ebs", "ami_name": "app-{{user ` + "`config_checksum`" + `}}", "tags": {"ami_config_checksum": "{{user ` + "`config_checksum`" + `}}"}}]}`
const untagged = `{"variables": {"config_checksum": ""}, "builders": [{"type": "amazon-ebs", "ami_name": "app-{{user ` + "`config_checksum`" + `}}"}]}`

func TestRunBuildsOnceThenReuses(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1", "us-west-2")
	ctx := context.Background()
	first, err := Run(ctx, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Action != "built" || w.builds.Load() != 1 {
		t.Fatalf("first run: action %s, %d builds", first.Action, w.builds.Load())
	}
	if first.Regions[1].Action != "copy" || first.Regions[1].AMI == "" {
		t.Errorf("second region: %+v", first.Regions[1])
	}
	im, _ := w.emu.Image(first.Primary())
	for k, v := range map[string]string{TagAlgorithm: "v2", TagVersion: "test", "ami_config_checksum": first.Fingerprint.Sum} {
		if im.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, im.Tags[k], v)
		}
	}
	second, err := Run(ctx, w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if second.Action != "reused" || w.builds.Load() != 1 || !reflect.DeepEqual(second.AMIs(), first.AMIs()) {
		t.Errorf("second run: %s %v, %d builds; first %v", second.Action, second.AMIs(), w.builds.Load(), first.AMIs())
	}
}

func TestRunTagsAnUntaggedBuild(t *testing.T) {
	w := newWorld(t, untagged, "us-east-1")
	out, err := Run(context.Background(), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := w.emu.Image(out.Primary())
	if im.Tags["ami_config_checksum"] != out.Fingerprint.Sum {
		t.Errorf("untagged build was not tagged: %v", im.Tags)
	}
	if _, err := Run(context.Background(), w.opts); err != nil || w.builds.Load() != 1 {
		t.Errorf("rebuilt after tagging: %v, %d builds", err, w.builds.Load())
	}
}

// Tags are eventually consistent: a tag that DescribeImages does not show
// yet must not cause a second build. The AMI name carries the fingerprint.
func TestRunEventualConsistency(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	srv := awsemu.NewTestServer(t, awsemu.Options{TagVisibilityDelay: time.Hour})
	w.emu = srv.Emulator
	c := srv.EC2(awsemu.DefaultAccount, "us-east-1")
	w.opts.Clients = func(string) images.EC2 { return c }
	w.opts.RunPacker = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
		w.builds.Add(1)
		run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(awsemu.SeedImageID("us-east-1", awsemu.SeedImageNames()[0])), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
		if err != nil {
			return nil, err
		}
		img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: run.Instances[0].InstanceId, Name: aws.String("app-" + o.Vars[0].Value)})
		if err != nil {
			return nil, err
		}
		c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*run.Instances[0].InstanceId}})
		return &packer.Result{Artifacts: []packer.Artifact{{AMIs: map[string]string{"us-east-1": *img.ImageId}}}}, nil
	}
	first, err := Run(context.Background(), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	second, err := Run(context.Background(), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if w.builds.Load() != 1 || second.Primary() != first.Primary() {
		t.Errorf("%d builds; first %s, second %s", w.builds.Load(), first.Primary(), second.Primary())
	}
}

func TestRunRefusesTemplateWithoutFingerprintVariable(t *testing.T) {
	w := newWorld(t, `{"builders": [{"type": "amazon-ebs"}]}`, "us-east-1")
	_, err := Run(context.Background(), w.opts)
	if err == nil || !strings.Contains(err.Error(), `does not declare the variable "config_checksum"`) || w.builds.Load() != 0 {
		t.Errorf("err = %v, builds %d", err, w.builds.Load())
	}
}

func TestRunPackerFailure(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	boom := errors.New("packer exploded")
	w.opts.RunPacker = func(context.Context, packer.BuildOptions) (*packer.Result, error) { return nil, boom }
	if _, err := Run(context.Background(), w.opts); !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapped packer error", err)
	}
}

// A pending AMI that fails is not returned: the bake plans again and builds.
func TestRunPendingThatFails(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	fp, err := fingerprint.Compute(context.Background(), w.opts.Spec)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.emu.PutImage(awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Name: "doomed", State: "pending", Tags: map[string]string{"ami_config_checksum": fp.Sum}})
	if err != nil {
		t.Fatal(err)
	}
	w.opts.Wait.Progress = nil
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.emu.SetImageState(id, "failed")
	}()
	out, err := Run(context.Background(), w.opts)
	if err != nil {
		t.Fatal(err)
	}
	if out.Primary() == id || out.Action != "built" || w.builds.Load() != 1 {
		t.Errorf("got %s (%s, %d builds), want a new build instead of the failed %s", out.Primary(), out.Action, w.builds.Load(), id)
	}
}
