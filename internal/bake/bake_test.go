package bake

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"go.uber.org/goleak"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
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
			{Region: "us-east-1", Action: "reuse", AMI: "a", Source: ""}, {Region: "us-west-2", Action: "reuse", AMI: "b", Source: ""}, {Region: "eu-west-1", Action: "reuse", AMI: "c", Source: ""}}},
		{"none anywhere: build in primary, copy from it", []images.Match{none, none, none}, []Decision{
			{Region: "us-east-1", Action: "build", AMI: "", Source: ""}, {Region: "us-west-2", Action: "copy", AMI: "", Source: "us-east-1"}, {Region: "eu-west-1", Action: "copy", AMI: "", Source: "us-east-1"}}},
		{"primary missing: copy from the first that has it", []images.Match{none, none, avail("c")}, []Decision{
			{Region: "us-east-1", Action: "copy", AMI: "", Source: "eu-west-1"}, {Region: "us-west-2", Action: "copy", AMI: "", Source: "eu-west-1"}, {Region: "eu-west-1", Action: "reuse", AMI: "c", Source: ""}}},
		{"pending counts as present", []images.Match{pending("p"), none, none}, []Decision{
			{Region: "us-east-1", Action: "wait", AMI: "p", Source: ""}, {Region: "us-west-2", Action: "copy", AMI: "", Source: "us-east-1"}, {Region: "eu-west-1", Action: "copy", AMI: "", Source: "us-east-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decide(regions, tt.matches)
			for i := range got {
				got[i].found = nil
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
		})
	}
}

// world is an emulator, a definition on disk, and a Baker and Image wired
// to both, with a stand-in for packer that builds through the emulator as
// packer would and counts its runs.
type world struct {
	emu    *awsemu.Emulator
	baker  *Baker
	img    *Image
	packer *fakePacker
	builds atomic.Int32
	dir    string
}

// fakePacker stands in for packer: build makes the AMI, initOK and version
// are what `packer version` tells, and calls records, in order, which
// commands ran ("version", "init", "build") and in which directory.
type fakePacker struct {
	build   func(context.Context, packer.BuildOptions) (*packer.Result, error)
	initOK  bool
	version string
	mu      sync.Mutex
	calls   []string
}

func (f *fakePacker) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakePacker) Build(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
	f.record("build " + o.Dir)
	return f.build(ctx, o)
}

func (f *fakePacker) Init(ctx context.Context, o packer.BuildOptions) error {
	f.record("init " + o.Dir)
	return nil
}

func (f *fakePacker) InitSupported(ctx context.Context, o packer.BuildOptions) (bool, string, error) {
	f.record("version")
	return f.initOK, f.version, nil
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
	w.img = &Image{
		Spec:           fingerprint.Spec{Template: filepath.Join(w.dir, "ami.json"), Dirs: []string{w.dir}},
		Template:       tp,
		Regions:        regions,
		Owners:         []string{"self"},
		TagKey:         "ami_config_checksum",
		FingerprintVar: "config_checksum",
	}
	w.packer = &fakePacker{}
	w.baker = &Baker{
		Clients: func(_, r string) images.EC2 { return clients[r] },
		Account: fixedAccount(awsemu.DefaultAccount),
		Packer:  w.packer,
		Wait:    images.Waiter{Poll: time.Millisecond, Timeout: 5 * time.Second},
		Version: "test",
	}
	w.packer.build = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
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
	first, err := w.baker.Bake(ctx, w.img)
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
	second, err := w.baker.Bake(ctx, w.img)
	if err != nil {
		t.Fatal(err)
	}
	if second.Action != "reused" || w.builds.Load() != 1 || !reflect.DeepEqual(second.AMIs(), first.AMIs()) {
		t.Errorf("second run: %s %v, %d builds; first %v", second.Action, second.AMIs(), w.builds.Load(), first.AMIs())
	}
}

func TestRunTagsAnUntaggedBuild(t *testing.T) {
	w := newWorld(t, untagged, "us-east-1")
	out, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := w.emu.Image(out.Primary())
	if im.Tags["ami_config_checksum"] != out.Fingerprint.Sum {
		t.Errorf("untagged build was not tagged: %v", im.Tags)
	}
	if _, err := w.baker.Bake(context.Background(), w.img); err != nil || w.builds.Load() != 1 {
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
	w.baker.Clients = func(string, string) images.EC2 { return c }
	w.packer.build = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
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
	first, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	second, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if w.builds.Load() != 1 || second.Primary() != first.Primary() {
		t.Errorf("%d builds; first %s, second %s", w.builds.Load(), first.Primary(), second.Primary())
	}
}

func TestRunPackerFailure(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	boom := errors.New("packer exploded")
	w.packer.build = func(context.Context, packer.BuildOptions) (*packer.Result, error) { return nil, boom }
	if _, err := w.baker.Bake(context.Background(), w.img); !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapped packer error", err)
	}
}

// A pending AMI that fails is not returned: the bake plans again and builds.
func TestRunPendingThatFails(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	fp, err := fingerprint.Compute(context.Background(), w.img.Spec)
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.emu.PutImage(awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Name: "doomed", State: "pending", Tags: map[string]string{"ami_config_checksum": fp.Sum}})
	if err != nil {
		t.Fatal(err)
	}
	w.baker.Wait.Progress = nil
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.emu.SetImageState(id, "failed")
	}()
	out, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if out.Primary() == id || out.Action != "built" || w.builds.Load() != 1 {
		t.Errorf("got %s (%s, %d builds), want a new build instead of the failed %s", out.Primary(), out.Action, w.builds.Load(), id)
	}
}

// fixedAccount is a Baker's Account for tests: every role acts as account.
func fixedAccount(account string) func(context.Context, string) (string, error) {
	return func(context.Context, string) (string, error) { return account, nil }
}

// fakeLock is a Locker that is always free and records each Acquire.
type fakeLock struct{ record func(string) }

func (l fakeLock) Acquire(context.Context, string, string) (func(context.Context) error, error) {
	l.record("lock")
	return func(context.Context) error { return nil }, nil
}

// A template that lists required_plugins gets `packer init` in its
// directory before the build when packer has init (1.7+); packer 1.6 has
// none and rejects the block, so the build is refused before the lock is
// taken, with a hint. Other templates never ask packer its version. The
// same code runs here as in production: only packer is a stand-in.
func TestNeedsInit(t *testing.T) {
	tests := []struct {
		name            string
		requiredPlugins bool
		initOK          bool
		version         string
		want            []string // calls; "init" and "build" get the directory appended
		wantErr         string
		wantHint        string
	}{
		{"required_plugins, packer 1.8: init, then build", true, true, "Packer v1.8.7",
			[]string{"version", "lock", "init", "build"}, "", ""},
		{"required_plugins, packer 1.6: refused with a hint", true, false, "Packer v1.6.6",
			[]string{"version"}, "the template lists required_plugins, which Packer v1.6.6 cannot read", "use packer 1.7 or later"},
		{"no required_plugins: no init", false, true, "Packer v1.8.7",
			[]string{"lock", "build"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, tagged, "us-east-1")
			w.img.Template.RequiredPlugins = tt.requiredPlugins
			w.packer.initOK, w.packer.version = tt.initOK, tt.version
			w.baker.Locks = func(string) Locker { return fakeLock{w.packer.record} }
			out, err := w.baker.Bake(context.Background(), w.img)
			var want []string
			for _, c := range tt.want {
				if c == "init" || c == "build" {
					c += " " + w.dir
				}
				want = append(want, c)
			}
			if !reflect.DeepEqual(w.packer.calls, want) {
				t.Errorf("calls %q, want %q", w.packer.calls, want)
			}
			if tt.wantErr == "" {
				if err != nil || out.Action != Built {
					t.Fatalf("err = %v, outcome %+v", err, out)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if hints := usererr.Hints(err); len(hints) != 1 || !strings.Contains(hints[0], tt.wantHint) {
				t.Errorf("hints %q, want %q", hints, tt.wantHint)
			}
		})
	}
}

// An endpoint that ignores DescribeImages' Owners (broken or hostile) hands
// back a foreign public AMI carrying our tag and our fingerprint's name:
// the owner re-check against the caller's account refuses it, and the
// bake builds its own.
func TestForeignAMIRefusedWhenOwnersIgnored(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	fp, err := fingerprint.Compute(context.Background(), w.img.Spec)
	if err != nil {
		t.Fatal(err)
	}
	evil, err := w.emu.PutImage("999999999999", "us-east-1", awsemu.ImageSpec{
		Name: "evil-" + fp.Sum, Public: true, Tags: map[string]string{"ami_config_checksum": fp.Sum}})
	if err != nil {
		t.Fatal(err)
	}
	// Our own account's tag on it, visible to us (tags are per account).
	if _, err := w.baker.Clients("", "us-east-1").CreateTags(context.Background(), &ec2.CreateTagsInput{
		Resources: []string{evil}, Tags: []types.Tag{{Key: aws.String("ami_config_checksum"), Value: aws.String(fp.Sum)}}}); err != nil {
		t.Fatal(err)
	}
	w.emu.SetFaults(awsemu.Faults{IgnoreOwners: true})
	out, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if out.Primary() == evil || out.Action != Built {
		t.Errorf("got %s (%s), want our own build, never the foreign %s", out.Primary(), out.Action, evil)
	}
}

// --owner adds accounts to the caller's own; it never replaces it: an AMI
// the caller owns is still found when another account is trusted too.
func TestOwnerAddsToSelf(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	first, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	w.img.Owners = []string{"self", "222222222222"}
	second, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if second.Action != Reused || second.Primary() != first.Primary() || w.builds.Load() != 1 {
		t.Errorf("with --owner: %s %s, %d builds; want to reuse %s", second.Action, second.Primary(), w.builds.Load(), first.Primary())
	}
}

// logTo makes the Baker log into a buffer, for tests of its messages.
func (w *world) logTo() *bytes.Buffer {
	var buf bytes.Buffer
	w.baker.Log = slog.New(slog.NewTextHandler(&buf, nil))
	return &buf
}

func (w *world) fingerprint(t *testing.T) string {
	t.Helper()
	fp, err := fingerprint.Compute(context.Background(), w.img.Spec)
	if err != nil {
		t.Fatal(err)
	}
	return fp.Sum
}

// Our AMI found by its name without its fingerprint tag (a tagging that
// failed after the build) gets the fingerprint and the missing provenance
// tags, with a warning, and is reused; existing tags are not changed, and
// a plan alone changes nothing.
func TestRetagsOwnAMIFoundByName(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	fp := w.fingerprint(t)
	id, err := w.emu.PutImage(awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Name: "app-" + fp, Tags: map[string]string{TagVersion: "old"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.baker.Plan(context.Background(), w.img); err != nil {
		t.Fatal(err)
	}
	if n := w.emu.CallCount("CreateTags"); n != 0 {
		t.Fatalf("a plan made %d CreateTags calls", n)
	}
	log := w.logTo()
	out, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if out.Primary() != id || out.Action != Reused || w.builds.Load() != 0 {
		t.Fatalf("got %s (%s, %d builds), want to reuse %s", out.Primary(), out.Action, w.builds.Load(), id)
	}
	im, _ := w.emu.Image(id)
	for k, v := range map[string]string{"ami_config_checksum": fp, TagAlgorithm: "v2", TagVersion: "old"} {
		if im.Tags[k] != v {
			t.Errorf("tag %s = %q, want %q", k, im.Tags[k], v)
		}
	}
	if !strings.Contains(log.String(), "lacked its fingerprint tag") {
		t.Errorf("no warning about the missing tag:\n%s", log)
	}
	m, err := images.Find(context.Background(), w.baker.Clients("", "us-east-1"), images.Query{Owners: []string{"self"}, Account: awsemu.DefaultAccount, TagKey: "ami_config_checksum", Fingerprint: fp})
	if err != nil || m.Available == nil || m.Available.ID != id {
		t.Errorf("the AMI is not found by its tag afterwards: %v, %v", m.Available, err)
	}
}

// An AMI of another trusted account found by its name is used but never
// tagged: our tags on it would be visible to us only.
func TestNoRetagOfAnotherAccountsAMI(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	const partner = "222222222222"
	id, err := w.emu.PutImage(partner, "us-east-1", awsemu.ImageSpec{Name: "app-" + w.fingerprint(t), SharedWith: []string{awsemu.DefaultAccount}})
	if err != nil {
		t.Fatal(err)
	}
	w.img.Owners = []string{"self", partner}
	log := w.logTo()
	out, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if out.Primary() != id || w.emu.CallCount("CreateTags") != 0 {
		t.Errorf("got %s with %d CreateTags calls, want %s untouched", out.Primary(), w.emu.CallCount("CreateTags"), id)
	}
	if !strings.Contains(log.String(), "shared from another account") {
		t.Errorf("no explanation of the shared AMI:\n%s", log)
	}
}

// An AMI that carries the fingerprint under another tag key (--tag-key
// changed) gets its own message and hint, and no second tag.
func TestTagKeyMismatch(t *testing.T) {
	w := newWorld(t, tagged, "us-east-1")
	fp := w.fingerprint(t)
	id, err := w.emu.PutImage(awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Name: "app-" + fp, Tags: map[string]string{"old_key": fp}})
	if err != nil {
		t.Fatal(err)
	}
	log := w.logTo()
	out, err := w.baker.Bake(context.Background(), w.img)
	if err != nil {
		t.Fatal(err)
	}
	if out.Primary() != id || w.emu.CallCount("CreateTags") != 0 {
		t.Errorf("got %s with %d CreateTags calls, want %s untouched", out.Primary(), w.emu.CallCount("CreateTags"), id)
	}
	if s := log.String(); !strings.Contains(s, `under the tag \"old_key\", not \"ami_config_checksum\"`) || !strings.Contains(s, "--tag-key") {
		t.Errorf("no tag-key message and hint:\n%s", s)
	}
}

// copyTokens returns the ClientToken of each CopyImage call in the
// emulator's call log, by destination region.
func copyTokens(t *testing.T, emu *awsemu.Emulator) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, c := range emu.Calls() {
		if c.Action != "CopyImage" {
			continue
		}
		if prev, ok := got[c.Region]; ok && prev != c.ClientToken {
			t.Errorf("two CopyImage tokens in %s in one run: %s, %s", c.Region, prev, c.ClientToken)
		}
		got[c.Region] = c.ClientToken
	}
	return got
}

// CopyImage's ClientToken is derived from the fingerprint, the
// destination region and the source AMI: the same in every run (so a
// retried or concurrent run gets the same copy back, never a second one),
// different per region and per source (a definition built again after a
// revoke is copied again), and it reaches CopyImage (the emulator's call
// log).
func TestCopyTokenStableAcrossRuns(t *testing.T) {
	var runs []map[string]string
	var fp, src string
	for range 2 {
		w := newWorld(t, tagged, "us-east-1", "us-west-2", "eu-west-1")
		out, err := w.baker.Bake(context.Background(), w.img)
		if err != nil {
			t.Fatal(err)
		}
		fp, src = out.Fingerprint.Sum, out.Regions[0].AMI
		runs = append(runs, copyTokens(t, w.emu))
	}
	first := runs[0]
	if len(first) != 2 {
		t.Fatalf("CopyImage tokens by region: %v, want us-west-2 and eu-west-1", first)
	}
	for r, tok := range first {
		if tok == "" || tok != copyToken(fp, r, src, "") {
			t.Errorf("%s: CopyImage got ClientToken %q, want %q", r, tok, copyToken(fp, r, src, ""))
		}
		if runs[1][r] != tok {
			t.Errorf("%s: ClientToken %q in the first run, %q in the second", r, tok, runs[1][r])
		}
	}
	if first["us-west-2"] == first["eu-west-1"] {
		t.Errorf("the same ClientToken %q for two regions", first["us-west-2"])
	}
	if copyToken(fp, "us-west-2", src, "") == copyToken(strings.Repeat("0", len(fp)), "us-west-2", src, "") {
		t.Error("the ClientToken does not depend on the fingerprint")
	}
	if copyToken(fp, "us-west-2", src, "") == copyToken(fp, "us-west-2", "ami-0123456789abcdef0", "") {
		t.Error("the ClientToken does not depend on the source AMI")
	}
}
