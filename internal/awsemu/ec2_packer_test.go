package awsemu

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/testenv"
)

// These tests drive the real packer binary (Debian's packer 1.6.6, whose
// amazon-ebs builder uses aws-sdk-go v1) against the emulator. They are
// skipped when packer is not on PATH, unless CI is set.

func requirePacker(t *testing.T) string {
	t.Helper()
	return testenv.Command(t, "packer", "install Debian's packer package, 1.6.6")
}

// packerEnv is everything packer 1.6.6 needs to build against the emulator,
// and nothing from the caller's environment that could leak in (profiles,
// regions, real credentials).
//
//   - AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY: any values; the key picks
//     the account.
//   - AWS_POLL_DELAY_SECONDS=1: packer's waiters otherwise sleep 15s
//     whenever a resource is still pending at the first poll.
//   - CHECKPOINT_DISABLE=1: no update check over the network.
//   - HOME: a fresh directory, so no ~/.aws or ~/.packerconfig is read.
func packerEnv(home, account string) []string {
	return []string{
		"HOME=" + home,
		"PATH=" + os.Getenv("PATH"),
		"TMPDIR=" + home,
		"AWS_ACCESS_KEY_ID=" + AccessKeyFor(account),
		"AWS_SECRET_ACCESS_KEY=not-checked",
		"AWS_POLL_DELAY_SECONDS=1",
		"AWS_EC2_METADATA_DISABLED=true",
		"CHECKPOINT_DISABLE=1",
	}
}

// amazonEBS is the builder block that works with packer 1.6.6: the three
// skip_* settings keep it away from STS, the region list and the metadata
// service (1.6.6 logs that it ignores skip_metadata_api_check, and needs
// nothing from the metadata service when credentials are in the
// environment).
func amazonEBS(endpoint, amiName string) map[string]any {
	return map[string]any{
		"type":                       "amazon-ebs",
		"region":                     region,
		"custom_endpoint_ec2":        endpoint,
		"skip_credential_validation": true,
		"skip_region_validation":     true,
		"skip_metadata_api_check":    true,
		"source_ami":                 SeedImageID(region, SeedDebian),
		"instance_type":              "t3.micro",
		"communicator":               "none",
		"ami_name":                   amiName,
		"tags":                       map[string]string{"Fingerprint": "fp-" + amiName, "Name": amiName},
	}
}

type packerRun struct {
	emu    *Emulator
	url    string
	dir    string
	stdout bytes.Buffer
	stderr bytes.Buffer
	cmd    *exec.Cmd
}

// startPacker writes the template into a fresh directory and starts
// `packer build -machine-readable` on it in its own process group.
func startPacker(t *testing.T, emu *Emulator, url, name string, template []byte) *packerRun {
	t.Helper()
	bin := requirePacker(t)
	r := &packerRun{emu: emu, url: url, dir: t.TempDir()}
	if err := os.WriteFile(filepath.Join(r.dir, name), template, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	r.cmd = exec.CommandContext(ctx, bin, "build", "-machine-readable", name)
	r.cmd.Dir = r.dir
	r.cmd.Env = packerEnv(r.dir, DefaultAccount)
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r.cmd.Cancel = func() error { return syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL) }
	r.cmd.WaitDelay = 5 * time.Second
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return r
}

// wait waits for packer to exit; its output is logged if the test fails.
func (r *packerRun) wait(t *testing.T) error {
	t.Helper()
	err := r.cmd.Wait()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("packer stdout:\n%s\npacker stderr:\n%s", r.stdout.String(), r.stderr.String())
		}
	})
	return err
}

// artifacts parses the machine-readable "artifact,0,id,REGION:AMI,..." line.
func (r *packerRun) artifacts(t *testing.T) map[string]string {
	t.Helper()
	for _, line := range strings.Split(r.stdout.String(), "\n") {
		fields := strings.SplitN(line, ",", 6)
		if len(fields) == 6 && fields[2] == "artifact" && fields[3] == "0" && fields[4] == "id" {
			out := map[string]string{}
			for _, pair := range strings.Split(fields[5], "%!(PACKER_COMMA)") {
				reg, id, ok := strings.Cut(pair, ":")
				if !ok || !strings.HasPrefix(id, "ami-") {
					t.Fatalf("artifact id %q is not REGION:ami-...", pair)
				}
				out[reg] = id
			}
			return out
		}
	}
	t.Fatalf("no artifact id line in packer's output:\n%s", r.stdout.String())
	return nil
}

// checkClean asserts that packer left nothing behind: no instance other than
// terminated ones, no key pair, no security group.
func checkClean(t *testing.T, emu *Emulator, builds int) {
	t.Helper()
	if left := emu.NonTerminatedInstances(); len(left) != 0 {
		t.Errorf("instances left: %+v", left)
	}
	if left := emu.KeyPairs(DefaultAccount, region); len(left) != 0 {
		t.Errorf("key pairs left: %+v", left)
	}
	if left := emu.SecurityGroups(DefaultAccount, region); len(left) != 0 {
		t.Errorf("security groups left: %+v", left)
	}
	if n := emu.CallCount("RunInstances"); n != builds {
		t.Errorf("RunInstances called %d times in %d builds", n, builds)
	}
	if n := emu.CallCount("TerminateInstances"); n != builds {
		t.Errorf("TerminateInstances called %d times in %d builds", n, builds)
	}
}

func checkImage(t *testing.T, emu *Emulator, id, wantRegion, name string) {
	t.Helper()
	im, ok := emu.Image(id)
	if !ok {
		t.Fatalf("artifact %s does not exist", id)
	}
	if im.Region != wantRegion || im.State != "available" || im.Name != name || im.Account != DefaultAccount ||
		im.Tags["Fingerprint"] != "fp-"+name || im.Tags["Name"] != name || len(im.SnapshotIDs) != 1 {
		t.Errorf("image %s: %+v", id, im)
	}
}

func jsonTemplate(t *testing.T, builder map[string]any) []byte {
	t.Helper()
	out, err := json.MarshalIndent(map[string]any{"builders": []any{builder}}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPackerBuildJSON builds twice with force_deregister: the second build
// replaces the first image and its snapshot, as on EC2.
func TestPackerBuildJSON(t *testing.T) {
	t.Parallel()
	emu, url := serve(t, Options{})
	b := amazonEBS(url, "bakery-json")
	b["ami_users"] = []string{accountB}
	b["snapshot_tags"] = map[string]string{"Fingerprint": "fp-bakery-json"}
	b["force_deregister"] = true
	b["force_delete_snapshot"] = true
	var ids []string
	for i := range 2 {
		start := time.Now()
		r := startPacker(t, emu, url, "template.json", jsonTemplate(t, b))
		if err := r.wait(t); err != nil {
			t.Fatalf("packer build %d: %v", i+1, err)
		}
		t.Logf("packer build %d took %s", i+1, time.Since(start).Round(time.Millisecond))
		arts := r.artifacts(t)
		if len(arts) != 1 || arts[region] == "" {
			t.Fatalf("artifacts %v", arts)
		}
		ids = append(ids, arts[region])
		checkImage(t, emu, arts[region], region, "bakery-json")
		checkClean(t, emu, i+1)
	}
	if ids[0] == ids[1] {
		t.Fatal("the second build reused the first image id")
	}
	ims := emu.Images(DefaultAccount, region)
	if len(ims) != 1 || ims[0].ID != ids[1] || !slices.Equal(ims[0].SharedWith, []string{accountB}) {
		t.Fatalf("images after two builds: %+v", ims)
	}
	snaps := emu.Snapshots(DefaultAccount, region)
	if len(snaps) != 1 || snaps[0].ID != ims[0].SnapshotIDs[0] || snaps[0].Tags["Fingerprint"] != "fp-bakery-json" {
		t.Fatalf("snapshots after two builds: %+v", snaps)
	}
	for _, a := range []string{"StopInstances", "DeregisterImage", "DeleteSnapshot", "ModifyImageAttribute"} {
		if emu.CallCount(a) == 0 {
			t.Errorf("packer never called %s", a)
		}
	}
}

// TestPackerBuildAMIRegions copies the image to a second region, with images
// and instances staying pending for a while as on EC2.
func TestPackerBuildAMIRegions(t *testing.T) {
	t.Parallel()
	emu, url := serve(t, Options{PendingDelay: 300 * time.Millisecond})
	b := amazonEBS(url, "bakery-regions")
	b["ami_regions"] = []string{otherRegion}
	start := time.Now()
	r := startPacker(t, emu, url, "template.json", jsonTemplate(t, b))
	if err := r.wait(t); err != nil {
		t.Fatalf("packer build: %v", err)
	}
	t.Logf("packer build took %s", time.Since(start).Round(time.Millisecond))
	arts := r.artifacts(t)
	if len(arts) != 2 {
		t.Fatalf("artifacts %v, want %s and %s", arts, region, otherRegion)
	}
	checkImage(t, emu, arts[region], region, "bakery-regions")
	checkImage(t, emu, arts[otherRegion], otherRegion, "bakery-regions")
	if im, _ := emu.Image(arts[otherRegion]); im.SourceImageID != arts[region] {
		t.Errorf("copy's source is %s, want %s", im.SourceImageID, arts[region])
	}
	if n := emu.CallCount("CopyImage", otherRegion); n != 1 {
		t.Errorf("CopyImage in %s called %d times", otherRegion, n)
	}
	checkClean(t, emu, 1)
}

func TestPackerBuildHCL2(t *testing.T) {
	t.Parallel()
	emu, url := serve(t, Options{})
	hcl := `source "amazon-ebs" "base" {
  region                     = "` + region + `"
  custom_endpoint_ec2        = "` + url + `"
  skip_credential_validation = true
  skip_region_validation     = true
  skip_metadata_api_check    = true
  source_ami                 = "` + SeedImageID(region, SeedDebian) + `"
  instance_type              = "t3.micro"
  communicator               = "none"
  ami_name                   = "bakery-hcl"
  tags = {
    Fingerprint = "fp-bakery-hcl"
    Name        = "bakery-hcl"
  }
}

build {
  sources = ["source.amazon-ebs.base"]
}
`
	r := startPacker(t, emu, url, "template.pkr.hcl", []byte(hcl))
	if err := r.wait(t); err != nil {
		t.Fatalf("packer build: %v", err)
	}
	arts := r.artifacts(t)
	checkImage(t, emu, arts[region], region, "bakery-hcl")
	checkClean(t, emu, 1)
}

// TestPackerInterrupted sends SIGINT to packer's process group once the
// source instance is launched: packer must terminate the instance and delete
// its key pair and security group before it exits.
func TestPackerInterrupted(t *testing.T) {
	t.Parallel()
	launched := make(chan struct{}, 1)
	emu, url := serve(t, Options{
		// Long enough that packer is still waiting for the instance
		// when the signal arrives.
		PendingDelay: 2 * time.Second,
		OnCall: func(c Call) {
			if c.Action == "RunInstances" && c.ErrorCode == "" {
				select {
				case launched <- struct{}{}:
				default:
				}
			}
		},
	})
	r := startPacker(t, emu, url, "template.json", jsonTemplate(t, amazonEBS(url, "bakery-interrupted")))
	select {
	case <-launched:
	case <-time.After(time.Minute):
		t.Fatal("packer never called RunInstances")
	}
	if err := syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := r.wait(t); err == nil {
		t.Fatal("an interrupted packer build exited 0")
	}
	if strings.Contains(r.stdout.String(), ",artifact,") {
		t.Error("an interrupted build reported an artifact")
	}
	if ims := emu.Images(DefaultAccount, region); len(ims) != 0 {
		t.Errorf("images after an interrupted build: %+v", ims)
	}
	checkClean(t, emu, 1)
	insts := emu.Instances(DefaultAccount, region)
	if len(insts) != 1 || insts[0].State != "terminated" {
		t.Errorf("instances: %+v", insts)
	}
}
