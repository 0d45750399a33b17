package bake

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// An EKS-like template: no fingerprint variable, its own region and subnet
// variables, a name with a timestamp.
const noFingerprint = `{"variables": {"region": "us-west-2", "subnet_id": ""},
 "builders": [{"type": "amazon-ebs", "region": "{{user ` + "`region`" + `}}", "subnet_id": "{{user ` + "`subnet_id`" + `}}", "ami_name": "eks-{{timestamp}}"}]}`

func TestBakeWithoutFingerprintVariable(t *testing.T) {
	w := newWorld(t, noFingerprint, "us-east-1")
	var log bytes.Buffer
	w.baker.Log = slog.New(slog.NewTextHandler(&log, nil))
	w.img.SubnetID = "subnet-1"
	var args [][]packer.Var
	build := w.packer.build
	w.packer.build = func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
		args = append(args, o.Vars)
		return build(ctx, o)
	}
	ctx := context.Background()
	first, err := w.baker.Bake(ctx, w.img)
	if err != nil {
		t.Fatal(err)
	}
	second, err := w.baker.Bake(ctx, w.img)
	if err != nil {
		t.Fatal(err)
	}
	if w.builds.Load() != 1 || second.Primary() != first.Primary() {
		t.Fatalf("%d builds; first %s, second %s", w.builds.Load(), first.Primary(), second.Primary())
	}
	want := []packer.Var{{Name: "region", Value: "us-east-1"}, {Name: "subnet_id", Value: "subnet-1"}}
	if !slices.Equal(args[0], want) {
		t.Errorf("packer vars = %v, want %v", args[0], want)
	}
	im, _ := w.emu.Image(first.Primary())
	if im.Tags["ami_config_checksum"] != first.Fingerprint.Sum || im.Tags[TagVersion] != "test" {
		t.Errorf("tags = %v", im.Tags)
	}
	if n := strings.Count(log.String(), `does not declare the fingerprint variable \"config_checksum\"`); n != 1 {
		t.Errorf("the atomic-tagging advice said %d times, want once:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), `\"variables\": {\"config_checksum\": \"\"}`) {
		t.Errorf("the hint is not in JSON syntax:\n%s", log.String())
	}
}

func TestCheckBuild(t *testing.T) {
	const ecs = `
variable "config_checksum" {
  type = string
}
variable "region" {
  type = string
}
variable "subnet" {
  default = ""
}
locals {
  name = "ecs-${var.config_checksum}"
}
source "amazon-ebs" "al2" {
  region    = var.region
  subnet_id = "subnet-fixed"
  ami_name  = "${local.name}-al2-${formatdate("YYYY", timestamp())}"
}
source "amazon-ebs" "gpu" {
  region   = "eu-west-1"
  ami_name = "gpu"
}
source "null" "n" {}
build {
  name    = "ecs"
  sources = ["source.amazon-ebs.al2", "source.amazon-ebs.gpu", "source.null.n"]
}
`
	for _, c := range []struct {
		name      string
		only      []string
		img       func(*Image)
		wantErr   string
		wantUsage bool
		wantWarn  string
		wantVars  []packer.Var
	}{
		{name: "a literal region that contradicts", wantErr: `the region of amazon-ebs.gpu is "eu-west-1"`},
		{name: "only selects the good source", only: []string{"ecs.amazon-ebs.al2"},
			wantVars: []packer.Var{{Name: "region", Value: "us-east-1"}}},
		{name: "only with a glob", only: []string{"*.amazon-ebs.al2"}, wantVars: []packer.Var{{Name: "region", Value: "us-east-1"}}},
		{name: "only selects no amazon source", only: []string{"ecs.null.n"}, wantErr: "no amazon-* source that --only ecs.null.n selects"},
		{name: "subnet with nowhere to go", only: []string{"ecs.amazon-ebs.al2"}, img: func(i *Image) { i.SubnetID = "subnet-2" },
			wantWarn: `--subnet-id has nowhere to go in amazon-ebs.al2: its subnet_id is \"subnet-fixed\"`,
			wantVars: []packer.Var{{Name: "region", Value: "us-east-1"}}},
		{name: "an explicit subnet variable", only: []string{"ecs.amazon-ebs.al2"}, img: func(i *Image) { i.SubnetID, i.SubnetVar = "subnet-2", "subnet" },
			wantVars: []packer.Var{{Name: "region", Value: "us-east-1"}, {Name: "subnet", Value: "subnet-2"}}},
		{name: "an explicit variable not declared", only: []string{"ecs.amazon-ebs.al2"}, img: func(i *Image) { i.RegionVar = "aws_region" },
			wantErr: `does not declare the variable "aws_region" that --region-var names`},
		{name: "a --var for a wired variable", only: []string{"ecs.amazon-ebs.al2"},
			img:     func(i *Image) { i.Packer.Vars = []packer.Var{{Name: "region", Value: "x"}} },
			wantErr: "--var region would override --region", wantUsage: true},
		{name: "by name: a name built in locals counts", only: []string{"ecs.amazon-ebs.al2"}, img: func(i *Image) { i.ByName = true },
			wantVars: []packer.Var{{Name: "region", Value: "us-east-1"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "ecs.pkr.hcl"), []byte(ecs), 0o644)
			tmpl, err := packer.LoadTemplate(dir)
			if err != nil {
				t.Fatal(err)
			}
			img := &Image{Template: tmpl, Regions: []string{"us-east-1"}, FingerprintVar: "config_checksum", TagKey: "k",
				Packer: packer.BuildOptions{Only: c.only}}
			if c.img != nil {
				c.img(img)
			}
			var log bytes.Buffer
			b := &Baker{Log: slog.New(slog.NewTextHandler(&log, nil))}
			vars, err := b.checkBuild(img, "us-east-1")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || usererr.IsUsage(err) != c.wantUsage {
					t.Fatalf("err = %v (usage %v), want %q", err, usererr.IsUsage(err), c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(vars, c.wantVars) {
				t.Errorf("vars = %v, want %v", vars, c.wantVars)
			}
			if c.wantWarn != "" && !strings.Contains(log.String(), c.wantWarn) {
				t.Errorf("log lacks %q:\n%s", c.wantWarn, log.String())
			}
			if c.wantWarn == "" && strings.Contains(log.String(), "WARN") {
				t.Errorf("unexpected warning:\n%s", log.String())
			}
		})
	}
}

// TestPlanRefusesWhatBakeRefuses: a plan never says build where the bake
// would refuse.
func TestPlanRefusesWhatBakeRefuses(t *testing.T) {
	w := newWorld(t, `{"builders": [{"type": "amazon-ebs", "region": "eu-west-1"}]}`, "us-east-1")
	ctx := context.Background()
	_, perr := w.baker.Plan(ctx, w.img)
	_, berr := w.baker.Bake(ctx, w.img)
	if perr == nil || berr == nil || !strings.Contains(perr.Error(), berr.Error()) || w.builds.Load() != 0 {
		t.Errorf("plan: %v\nbake: %v\nbuilds %d", perr, berr, w.builds.Load())
	}
}
