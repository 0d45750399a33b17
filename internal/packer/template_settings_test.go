package packer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const settingsJSON = `{
  "variables": {"region": "us-west-2", "subnet_id": "", "fp": "", "env_default": "{{env ` + "`X`" + `}}"},
  "builders": [
    {"type": "amazon-ebs", "name": "eks", "region": "{{user ` + "`region`" + `}}", "subnet_id": "{{ user ` + "`subnet_id`" + ` }}",
     "ami_name": "eks-{{user ` + "`fp`" + `}}-{{timestamp}}", "ami_regions": ["eu-west-1", "eu-west-2"], "vpc_id": "vpc-1"},
    {"type": "null", "name": "n"}
  ],
  "post-processors": [{"type": "manifest", "output": "out/{{user ` + "`region`" + `}}.json"}, ["manifest", {"type": "shell-local"}]]
}`

const settingsHCL = `
variable "region" {
  default = "us-east-1"
}
variable "fingerprint" {
  type = string
}
locals {
  r    = var.region
  base = "ecs-${var.fingerprint}"
  ts   = formatdate("YYYYMMDD", timestamp())
}
source "amazon-ebs" "al2" {
  region   = local.r
  ami_name = "${local.base}-al2-${local.ts}"
}
source "amazon-ebs" "al2023" {
  region   = "eu-central-1"
  ami_name = upper("${local.base}-al2023")
}
source "amazon-ebs" "unused" {
  region = "ap-south-1"
}
build {
  name    = "ecs"
  sources = ["source.amazon-ebs.al2", "source.amazon-ebs.al2023"]
  post-processors {
    post-processor "manifest" {
      output = "manifest-${local.r}.json"
    }
  }
  post-processor "manifest" {}
}
`

func TestTemplateSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	load := func(p string) *Template {
		tmpl, err := LoadTemplate(p)
		if err != nil {
			t.Fatal(err)
		}
		return tmpl
	}
	eval := func(st Setting, vars map[string]string) string {
		v, ok := st.Eval(vars)
		if !ok {
			return "<unknown>"
		}
		return v
	}

	j := load(write("eks.json", settingsJSON))
	if got := j.Selected(nil); len(got) != 1 || got[0].Name != "eks" {
		t.Fatalf("JSON selected = %+v, want the one amazon builder", got)
	}
	eks := j.Sources[0].Settings
	for _, c := range []struct{ key, wantVar, want string }{
		{"region", "region", "us-west-2"},
		{"subnet_id", "subnet_id", ""},
		{"ami_name", "", "<unknown>"},
		{"ami_regions", "", "eu-west-1,eu-west-2"},
		{"vpc_id", "", "vpc-1"},
	} {
		if st := eks[c.key]; st.Var != c.wantVar || eval(st, nil) != c.want {
			t.Errorf("JSON %s: Var %q value %q, want %q %q", c.key, st.Var, eval(st, nil), c.wantVar, c.want)
		}
	}
	if v, ok := eks["vpc_id"].Literal(); !ok || v != "vpc-1" {
		t.Errorf("vpc_id literal = %q %v", v, ok)
	}
	if _, ok := eks["region"].Literal(); ok {
		t.Errorf("a variable reference is no literal")
	}
	if got := eks["ami_name"].Vars; !slices.Equal(got, []string{"fp"}) {
		t.Errorf("ami_name vars = %q", got)
	}
	if len(j.Manifests) != 2 || eval(j.Manifests[0], map[string]string{"region": "eu-north-1"}) != "out/eu-north-1.json" ||
		eval(j.Manifests[1], nil) != DefaultManifest {
		t.Errorf("JSON manifests = %+v", j.Manifests)
	}

	h := load(write("ecs.pkr.hcl", settingsHCL))
	names := func(ss []Source) (out []string) {
		for _, s := range ss {
			out = append(out, strings.Join(s.Builds, "|"))
		}
		return out
	}
	for _, c := range []struct {
		only []string
		want []string
	}{
		{nil, []string{"ecs.amazon-ebs.al2", "ecs.amazon-ebs.al2023"}},
		{[]string{"ecs.amazon-ebs.al2"}, []string{"ecs.amazon-ebs.al2"}},
		{[]string{"*.amazon-ebs.al2023"}, []string{"ecs.amazon-ebs.al2023"}},
		{[]string{"amazon-ebs.al2"}, nil}, // packer 1.6.6 needs the build's name
	} {
		if got := names(h.Selected(c.only)); !slices.Equal(got, c.want) {
			t.Errorf("HCL2 Selected(%q) = %q, want %q", c.only, got, c.want)
		}
	}
	al2, al2023 := h.Sources[0].Settings, h.Sources[1].Settings
	if st := al2["region"]; st.Var != "region" || eval(st, nil) != "us-east-1" || eval(st, map[string]string{"region": "x"}) != "x" {
		t.Errorf("HCL2 region through a local: %+v = %q", st, eval(st, nil))
	}
	if v, ok := al2023["region"].Literal(); !ok || v != "eu-central-1" {
		t.Errorf("HCL2 literal region = %q %v", v, ok)
	}
	if got := al2["ami_name"].Vars; !slices.Equal(got, []string{"fingerprint"}) {
		t.Errorf("HCL2 ami_name vars through locals = %q", got)
	}
	if got := eval(al2["ami_name"], map[string]string{"fingerprint": "f"}); got != "<unknown>" {
		t.Errorf("a name with timestamp() = %q, want unknown", got)
	}
	if got := eval(al2023["ami_name"], map[string]string{"fingerprint": "f"}); got != "ECS-F-AL2023" {
		t.Errorf("a name built in locals = %q", got)
	}
	if len(h.Manifests) != 2 || eval(h.Manifests[0], nil) != "manifest-us-east-1.json" || eval(h.Manifests[1], nil) != DefaultManifest {
		t.Errorf("HCL2 manifests = %+v", h.Manifests)
	}
}
