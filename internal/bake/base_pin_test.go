package bake

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// pinWorld is an emulator holding a vendor's releases, a stranger's
// look-alikes and the caller's own images, and a Baker acting as the
// caller (awsemu.DefaultAccount) in us-east-1.
type pinWorld struct {
	srv   *awsemu.TestServer
	baker *Baker
	tmpl  *packer.Template
	dir   string
	ids   map[string]string // what -> image id
}

const (
	pinVendor   = "099720109477"
	pinStranger = "999999999999"
	pinRegion   = "us-east-1"
	pinParam    = "/aws/service/canonical/ubuntu/jammy/current/ami-id"
)

func newPinWorld(t *testing.T) *pinWorld {
	t.Helper()
	srv := awsemu.NewTestServer(t)
	w := &pinWorld{srv: srv, dir: t.TempDir(), ids: map[string]string{}}
	t0 := srv.Now().Add(-72 * time.Hour)
	put := func(what, account string, spec awsemu.ImageSpec) {
		t.Helper()
		if spec.CreationDate.IsZero() {
			spec.CreationDate = t0
		}
		id, err := srv.PutImage(account, pinRegion, spec)
		if err != nil {
			t.Fatal(err)
		}
		w.ids[what] = id
	}
	put("old", pinVendor, awsemu.ImageSpec{Name: "ubuntu-jammy-20261101", Public: true})
	put("new", pinVendor, awsemu.ImageSpec{Name: "ubuntu-jammy-20261120", Public: true, CreationDate: t0.Add(24 * time.Hour)})
	put("arm", pinVendor, awsemu.ImageSpec{Name: "ubuntu-jammy-20261101-arm64", Public: true, Architecture: "arm64"})
	put("deprecated", pinVendor, awsemu.ImageSpec{Name: "ubuntu-jammy-20250101", Public: true, DeprecationTime: srv.Now().Add(-time.Minute)})
	put("debian", pinVendor, awsemu.ImageSpec{Name: "debian-12-20261101", Public: true})
	put("foreign", pinStranger, awsemu.ImageSpec{Name: "ubuntu-jammy-20261101", Public: true})
	put("foreign-amzn", pinStranger, awsemu.ImageSpec{Name: awsemu.SeedAmazonLinux, Public: true})
	put("golden", awsemu.DefaultAccount, awsemu.ImageSpec{Name: "golden-20261101"})
	put("golden-new", awsemu.DefaultAccount, awsemu.ImageSpec{Name: "golden-20261120", CreationDate: t0.Add(24 * time.Hour)})
	put("golden-disabled", awsemu.DefaultAccount, awsemu.ImageSpec{Name: "golden-20261001"})
	put("golden-failed", awsemu.DefaultAccount, awsemu.ImageSpec{Name: "golden-20260901", State: "failed"})
	w.ids["amzn"] = awsemu.SeedImageID(pinRegion, awsemu.SeedAmazonLinux)
	c := srv.EC2(awsemu.DefaultAccount, pinRegion)
	if _, err := c.DisableImage(context.Background(), &ec2.DisableImageInput{ImageId: aws.String(w.ids["golden-disabled"])}); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetPublicParameter(pinRegion, pinParam, w.ids["new"]); err != nil {
		t.Fatal(err)
	}
	ssmc := srv.BakerySSM(awsemu.DefaultAccount, pinRegion)
	w.baker = &Baker{
		Clients:    func(string, string) images.EC2 { return c },
		SSMClients: func(string, string) images.SSM { return ssmc },
		Account:    fixedAccount(awsemu.DefaultAccount),
	}
	path := filepath.Join(w.dir, "ami.json")
	os.WriteFile(path, []byte(`{"variables": {"config_checksum": "", "source_ami": ""}, "builders": [{"type": "amazon-ebs", "source_ami": "{{user `+"`source_ami`"+`}}", "ami_name": "app-{{user `+"`config_checksum`"+`}}"}]}`), 0o644)
	tp, err := packer.LoadTemplate(path)
	if err != nil {
		t.Fatal(err)
	}
	w.tmpl = tp
	return w
}

// pin is the lock file's entry lock would have written for image what,
// as EC2 names it.
func (w *pinWorld) pin(t *testing.T, what string) images.Base {
	t.Helper()
	im, err := images.Describe(context.Background(), w.srv.EC2(awsemu.DefaultAccount, pinRegion), w.ids[what])
	if err != nil {
		t.Fatal(err)
	}
	return images.Base{ID: im.ID, Name: im.Name, OwnerID: im.OwnerID}
}

func (w *pinWorld) image(t *testing.T, q images.BaseQuery) *Image {
	t.Helper()
	return &Image{
		Name:     "app",
		Spec:     fingerprint.Spec{Template: w.tmpl.Path, Dirs: []string{w.dir}},
		Template: w.tmpl,
		Regions:  []string{pinRegion},
		Owners:   []string{"self"},
		Base:     &Base{Query: q, Mode: BaseLocked, PinsFile: filepath.Join(w.dir, "bakery.lock.hcl")},
	}
}

// TestVerifyPin tampers with each part of a pin: every tampered pin is a
// usage error naming the image, the region, the pin and what failed, by
// both ways a pin is used (planning, and lock keeping a pin); a genuine
// one is built on as EC2 describes it.
func TestVerifyPin(t *testing.T) {
	w := newPinWorld(t)
	vendor := images.BaseQuery{Owners: []string{pinVendor}, Filters: map[string]string{"name": "ubuntu-jammy-*"}}
	vendorX86 := images.BaseQuery{Owners: []string{pinVendor}, Filters: map[string]string{"name": "ubuntu-jammy-*", "architecture": "x86_64"}}
	withDeprecated := vendor
	withDeprecated.IncludeDeprecated = true
	amazon := images.BaseQuery{Owners: []string{"amazon"}, Filters: map[string]string{"name": "amzn2-ami-hvm-*"}}
	amazonID := images.BaseQuery{Owners: []string{awsemu.AmazonAccount}, Filters: map[string]string{"name": "amzn2-ami-hvm-*"}}
	self := images.BaseQuery{Owners: []string{"self"}, Filters: map[string]string{"name": "golden-*"}}
	ssm := images.BaseQuery{SSMParameter: pinParam}

	tests := []struct {
		name string
		q    images.BaseQuery
		what string               // the image pinned
		edit func(p *images.Base) // the tampering, after lock wrote the pin
		want string               // "" passes; else the refusal says this
	}{
		{"genuine", vendor, "old", nil, ""},
		{"genuine, the newest", vendor, "new", nil, ""},
		{"foreign public AMI of the same name, owner text kept", vendor, "foreign", func(p *images.Base) { p.OwnerID = pinVendor },
			"is owned by " + pinStranger + ", not by the base's owners (" + pinVendor + ")"},
		{"foreign AMI, its own owner text", vendor, "foreign", nil, "is owned by " + pinStranger + ", not by the base's owners"},
		{"nonexistent id", vendor, "old", func(p *images.Base) { p.ID = "ami-0123456789abcdef0" },
			"EC2 knows no image ami-0123456789abcdef0 in us-east-1"},
		{"malformed id", vendor, "old", func(p *images.Base) { p.ID = "ami-notanid" }, "EC2 knows no image ami-notanid in us-east-1"},
		{"the vendor's AMI matching none of the filters", vendor, "debian", nil,
			"(debian-12-20261101) matches none of the base's filters (name=ubuntu-jammy-*)"},
		{"a filter besides the name, judged by EC2", vendorX86, "arm", nil,
			"matches none of the base's filters (architecture=x86_64, name=ubuntu-jammy-*)"},
		{"name changed", vendor, "old", func(p *images.Base) { p.Name = "ubuntu-jammy-20261120" },
			`is named "ubuntu-jammy-20261101", not "ubuntu-jammy-20261120" as recorded`},
		{"owner text changed", vendor, "old", func(p *images.Base) { p.OwnerID = pinStranger },
			"is owned by " + pinVendor + ", not by " + pinStranger + " as recorded"},
		{"deprecated", vendor, "deprecated", nil, "is deprecated, and the base does not include deprecated images"},
		{"deprecated, included", withDeprecated, "deprecated", nil, ""},
		{"disabled", self, "golden-disabled", nil, "is disabled"},
		{"failed", self, "golden-failed", nil, "is failed, not available"},
		{"own image, owner self", self, "golden", nil, ""},
		{"a vendor's AMI for owner self", self, "old", nil, "not by the base's owners (self)"},
		{"owner alias amazon", amazon, "amzn", nil, ""},
		{"owner alias amazon, a stranger's look-alike", amazon, "foreign-amzn", func(p *images.Base) { p.OwnerID = awsemu.AmazonAccount },
			"is owned by " + pinStranger + ", not by the base's owners (amazon)"},
		{"amazon by account id", amazonID, "amzn", nil, ""},
		{"SSM parameter, an older release", ssm, "old", nil, ""},
		{"SSM parameter, a stranger's look-alike", ssm, "foreign", func(p *images.Base) { p.OwnerID = pinVendor },
			"not by " + pinVendor + ", the owner of " + w.ids["new"] + " that the SSM parameter " + pinParam + " holds"},
		{"SSM parameter, a stranger's look-alike, its own owner text", ssm, "foreign", nil, "not by " + pinVendor + ", the owner of"},
		{"SSM parameter, name changed", ssm, "old", func(p *images.Base) { p.Name = "x" }, `not "x" as recorded`},
		{"SSM parameter, deprecated", ssm, "deprecated", nil, "is deprecated"},
		{"no pin", vendor, "old", func(p *images.Base) { *p = images.Base{} }, "has no pin for us-east-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			pin := w.pin(t, tt.what)
			if tt.edit != nil {
				tt.edit(&pin)
			}
			check := func(how string, got images.Base, err error) {
				t.Helper()
				if tt.want == "" {
					if err != nil {
						t.Fatalf("%s: %v", how, err)
					}
					if got.ID != w.ids[tt.what] || got.Identity() != pin.Identity() {
						t.Fatalf("%s: built on %s (%s), want the pin %s (%s)", how, got.ID, got.Identity(), pin.ID, pin.Identity())
					}
					return
				}
				if err == nil {
					t.Fatalf("%s: the tampered pin %+v was accepted", how, pin)
				}
				msg := err.Error()
				for _, s := range []string{tt.want, "app", "us-east-1", "bakery.lock.hcl"} {
					if !strings.Contains(msg, s) {
						t.Errorf("%s: the error does not say %q: %s", how, s, msg)
					}
				}
				if pin.ID != "" && !strings.Contains(msg, pin.ID) {
					t.Errorf("%s: the error does not name the pin %s: %s", how, pin.ID, msg)
				}
				if !usererr.IsUsage(err) {
					t.Errorf("%s: not a usage error: %v", how, err)
				}
				if h := strings.Join(usererr.Hints(err), "\n"); !strings.Contains(h, "ami-bakery lock --update") {
					t.Errorf("%s: the hint does not say to run lock --update: %q", how, h)
				}
			}

			// Planning: resolveBase builds on the pin only once it passes.
			img := w.image(t, tt.q)
			img.Base.Pinned = map[string]images.Base{pinRegion: pin}
			err := w.baker.ResolveBases(ctx, []*Image{img})
			var used images.Base
			if err == nil {
				used = img.Base.used[pinRegion]
				if img.Spec.Base != used.Identity() {
					t.Errorf("Spec.Base = %q, want %q", img.Spec.Base, used.Identity())
				}
				if v := img.baseVars(pinRegion); len(v) != 1 || v[0].Value != pin.ID {
					t.Errorf("packer would get %v, want source_ami=%s", v, pin.ID)
				}
			}
			check("plan", used, err)

			// lock keeping a pin: the same check.
			got, err := w.baker.VerifyPin(ctx, w.image(t, tt.q), pinRegion, pin, img.Base.PinsFile)
			check("lock", got, err)
		})
	}
}

// TestTamperedPinBuildsNothing: a bake with a tampered pin fails before
// packer runs.
func TestTamperedPinBuildsNothing(t *testing.T) {
	w := newPinWorld(t)
	fp := &fakePacker{}
	w.baker.Packer = fp
	img := w.image(t, images.BaseQuery{Owners: []string{pinVendor}, Filters: map[string]string{"name": "ubuntu-jammy-*"}})
	img.TagKey, img.FingerprintVar = "ami_config_checksum", "config_checksum"
	pin := w.pin(t, "foreign")
	pin.OwnerID = pinVendor
	img.Base.Pinned = map[string]images.Base{pinRegion: pin}
	_, err := w.baker.BakeGraph(context.Background(), []*Image{img}, 1)
	if err == nil || !strings.Contains(err.Error(), "refusing the base pinned for app") {
		t.Fatalf("BakeGraph = %v, want the pin refused", err)
	}
	if len(fp.calls) != 0 {
		t.Fatalf("packer ran: %v", fp.calls)
	}
}
