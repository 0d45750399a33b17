package packer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeFiles writes files under dir; a name ending in "/" makes a
// directory, a name ending in "*" an executable file.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(name, "*")))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(name, "*") {
			mode = 0o755
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}

// loadFiles writes files into a fresh directory and loads the template at
// path in it.
func loadFiles(t *testing.T, files map[string]string, path string) (*Template, string) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	tmpl, err := LoadTemplate(filepath.Join(dir, path))
	if err != nil {
		t.Fatal(err)
	}
	return tmpl, dir
}

// consulLikeJSON has four amazon builders, one of them skipping the AMI
// through a variable.
const consulLikeJSON = `{
  "variables": {
    "region": "us-east-1",
    "skip_rhel": "true",
    "fingerprint": ""
  },
  "builders": [
    {"type": "amazon-ebs", "name": "amazon-linux-2", "region": "{{user ` + "`region`" + `}}", "ami_name": "consul-al2-{{user ` + "`fingerprint`" + `}}"},
    {"type": "amazon-ebs", "name": "ubuntu-18", "region": "{{user ` + "`region`" + `}}", "ami_name": "consul-u18-{{user ` + "`fingerprint`" + `}}", "skip_create_ami": false},
    {"type": "amazon-ebs", "name": "ubuntu-20", "region": "{{user ` + "`region`" + `}}", "ami_name": "consul-u20-{{user ` + "`fingerprint`" + `}}", "skip_create_ami": true},
    {"type": "amazon-ebs", "name": "rhel-8", "region": "{{user ` + "`region`" + `}}", "ami_name": "consul-rhel-{{user ` + "`fingerprint`" + `}}", "skip_create_ami": "{{user ` + "`skip_rhel`" + `}}"}
  ],
  "provisioners": [
    {"type": "shell", "script": "{{template_dir}}/setup-consul.sh"},
    {"type": "shell", "only": ["ubuntu-18", "ubuntu-20"], "script": "{{template_dir}}/../shared/apt-setup.sh"},
    {"type": "shell", "except": ["rhel-8"], "scripts": ["{{template_dir}}/a.sh"],
     "override": {"ubuntu-18": {"scripts": ["{{template_dir}}/ubuntu18.sh"]}, "rhel-8": {"scripts": ["{{template_dir}}/never.sh"]}}}
  ]
}`

// chrootLikeJSON has an amazon-chroot builder without a region, and an
// amazon-ebs builder whose region is an empty literal.
const chrootLikeJSON = `{
  "variables": {"skip": ""},
  "builders": [
    {"type": "amazon-chroot", "source_ami": "ami-12345678", "ami_name": "chroot-x", "skip_create_ami": "{{user ` + "`skip`" + `}}"},
    {"type": "amazon-ebs", "name": "ebs", "region": "", "ami_name": "ebs-x"},
    {"type": "amazon-ebs", "name": "timed", "region": "{{user ` + "`r`" + `}}", "ami_name": "t", "skip_create_ami": "{{timestamp}}"}
  ]
}`

// jenkinsLikeHCL uses its source under another name in a build block,
// without the "source." prefix that packer 1.6.6 also accepts.
const jenkinsLikeHCL = `
variable "skip" {
  type    = bool
  default = false
}
source "amazon-ebs" "base" {
  region          = "eu-west-1"
  ami_name        = "jenkins-x"
  skip_create_ami = var.skip
}
source "amazon-ebs" "agent" {
  ami_name = "agent-x"
}
build {
  source "amazon-ebs.base" {
    name = "jenkins"
  }
  source "x.amazon-ebs.agent" {}
}
build {
  name    = "more"
  sources = ["amazon-ebs.base", "source.amazon-ebs.agent"]
}
`

func sourceNames(ss []Source) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

func TestSelectOnlyExcept(t *testing.T) {
	consul, _ := loadFiles(t, map[string]string{"consul.json": consulLikeJSON}, "consul.json")
	ecs, _ := loadFiles(t, ecsLikeFiles, "ecs")
	for _, c := range []struct {
		name         string
		tmpl         *Template
		only, except []string
		want         []string
	}{
		{"JSON: all", consul, nil, nil, []string{"amazon-linux-2", "ubuntu-18", "ubuntu-20", "rhel-8"}},
		{"JSON: only", consul, []string{"ubuntu-18", "rhel-8"}, nil, []string{"ubuntu-18", "rhel-8"}},
		{"JSON: except", consul, nil, []string{"ubuntu-18", "rhel-8"}, []string{"amazon-linux-2", "ubuntu-20"}},
		{"JSON: only and except", consul, []string{"ubuntu-18", "ubuntu-20"}, []string{"ubuntu-20"}, []string{"ubuntu-18"}},
		// packer 1.6.6 compares JSON build names exactly: no globs.
		{"JSON: no glob", consul, []string{"ubuntu-*"}, nil, nil},
		{"JSON: except no glob", consul, nil, []string{"ubuntu-*"}, []string{"amazon-linux-2", "ubuntu-18", "ubuntu-20", "rhel-8"}},
		{"HCL2: all", ecs, nil, nil, []string{"amazon-ebs.al2", "amazon-ebs.al2023", "amazon-ebs.al2023gpu"}},
		{"HCL2: glob", ecs, []string{"ecs.amazon-ebs.al2023*"}, nil, []string{"amazon-ebs.al2023", "amazon-ebs.al2023gpu"}},
		{"HCL2: except glob", ecs, nil, []string{"*gpu"}, []string{"amazon-ebs.al2", "amazon-ebs.al2023"}},
		{"HCL2: only and except", ecs, []string{"ecs.*"}, []string{"ecs.amazon-ebs.al2"}, []string{"amazon-ebs.al2023", "amazon-ebs.al2023gpu"}},
		{"HCL2: except everything", ecs, nil, []string{"*"}, nil},
	} {
		if got := sourceNames(c.tmpl.Select(c.only, c.except)); !slices.Equal(got, c.want) {
			t.Errorf("%s: Select(%q, %q) = %q, want %q", c.name, c.only, c.except, got, c.want)
		}
	}
	if got := sourceNames(consul.Selected([]string{"ubuntu-20"})); !slices.Equal(got, []string{"ubuntu-20"}) {
		t.Errorf("Selected = %q", got)
	}
	jenkins, _ := loadFiles(t, map[string]string{"jenkins.pkr.hcl": jenkinsLikeHCL}, "jenkins.pkr.hcl")
	for _, c := range []struct {
		tmpl         *Template
		only, except []string
		want         []string
	}{
		{consul, nil, []string{"rhel-8"}, []string{"amazon-linux-2", "ubuntu-18", "ubuntu-20"}},
		{consul, []string{"amazon-linux-2", "ubuntu-18", "ubuntu-20"}, nil, []string{"amazon-linux-2", "ubuntu-18", "ubuntu-20"}},
		{jenkins, []string{"more.*"}, nil, []string{"more.amazon-ebs.base", "more.amazon-ebs.agent"}},
		{jenkins, nil, []string{"amazon-ebs.*"}, []string{"more.amazon-ebs.base", "more.amazon-ebs.agent"}},
		{jenkins, nil, nil, []string{"amazon-ebs.jenkins", "more.amazon-ebs.base", "amazon-ebs.agent", "more.amazon-ebs.agent"}},
	} {
		if got := c.tmpl.SelectedBuilds(c.only, c.except); !slices.Equal(got, c.want) {
			t.Errorf("SelectedBuilds(%q, %q) = %q, want %q", c.only, c.except, got, c.want)
		}
	}
}

func TestBuildNamesAndUnmatched(t *testing.T) {
	consul, _ := loadFiles(t, map[string]string{"consul.json": consulLikeJSON}, "consul.json")
	jenkins, _ := loadFiles(t, map[string]string{"jenkins.pkr.hcl": jenkinsLikeHCL}, "jenkins.pkr.hcl")
	if got, want := consul.BuildNames(), []string{"amazon-linux-2", "ubuntu-18", "ubuntu-20", "rhel-8"}; !slices.Equal(got, want) {
		t.Errorf("JSON BuildNames = %q, want %q", got, want)
	}
	if got, want := jenkins.BuildNames(), []string{"amazon-ebs.jenkins", "more.amazon-ebs.base", "amazon-ebs.agent", "more.amazon-ebs.agent"}; !slices.Equal(got, want) {
		t.Errorf("HCL2 BuildNames = %q, want %q", got, want)
	}
	for _, c := range []struct {
		tmpl         *Template
		only, except []string
		want         []string
	}{
		{consul, []string{"ubuntu-18", "ubuntu18"}, []string{"rhel"}, []string{"ubuntu18", "rhel"}},
		{consul, []string{"ubuntu-*"}, nil, []string{"ubuntu-*"}},
		{consul, []string{"rhel-8"}, []string{"ubuntu-20"}, nil},
		{jenkins, []string{"more.*", "amazon-ebs.base"}, nil, []string{"amazon-ebs.base"}},
		{jenkins, nil, []string{"*.jenkins"}, nil},
	} {
		if got := c.tmpl.UnmatchedPatterns(c.only, c.except); !slices.Equal(got, c.want) {
			t.Errorf("UnmatchedPatterns(%q, %q) = %q, want %q", c.only, c.except, got, c.want)
		}
	}
}

func TestSkippingAMI(t *testing.T) {
	consul, _ := loadFiles(t, map[string]string{"consul.json": consulLikeJSON}, "consul.json")
	chroot, _ := loadFiles(t, map[string]string{"chroot.json": chrootLikeJSON}, "chroot.json")
	jenkins, _ := loadFiles(t, map[string]string{"jenkins.pkr.hcl": jenkinsLikeHCL}, "jenkins.pkr.hcl")
	for _, c := range []struct {
		name                string
		tmpl                *Template
		vars                map[string]string
		wantSkip, wantUnkno []string
	}{
		{"JSON: literal true and a variable's default", consul, nil, []string{"ubuntu-20", "rhel-8"}, nil},
		{"JSON: the variable given false", consul, map[string]string{"skip_rhel": "false"}, []string{"ubuntu-20"}, nil},
		{"JSON: the variable given 1", consul, map[string]string{"skip_rhel": "1"}, []string{"ubuntu-20", "rhel-8"}, nil},
		{"JSON: empty default, timestamp", chroot, nil, nil, []string{"timed"}},
		{"JSON: given true", chroot, map[string]string{"skip": "true"}, []string{"amazon-chroot"}, []string{"timed"}},
		{"JSON: not a boolean", chroot, map[string]string{"skip": "maybe"}, nil, []string{"amazon-chroot", "timed"}},
		{"HCL2: bool default false", jenkins, nil, nil, nil},
		{"HCL2: given true", jenkins, map[string]string{"skip": "true"}, []string{"amazon-ebs.base"}, nil},
	} {
		skip, unknown := SkippingAMI(c.tmpl.Select(nil, nil), c.vars)
		if got := sourceNames(skip); !slices.Equal(got, c.wantSkip) {
			t.Errorf("%s: skip = %q, want %q", c.name, got, c.wantSkip)
		}
		if got := sourceNames(unknown); !slices.Equal(got, c.wantUnkno) {
			t.Errorf("%s: unknown = %q, want %q", c.name, got, c.wantUnkno)
		}
	}
}

func TestWithoutRegion(t *testing.T) {
	chroot, _ := loadFiles(t, map[string]string{"chroot.json": chrootLikeJSON}, "chroot.json")
	consul, _ := loadFiles(t, map[string]string{"consul.json": consulLikeJSON}, "consul.json")
	jenkins, _ := loadFiles(t, map[string]string{"jenkins.pkr.hcl": jenkinsLikeHCL}, "jenkins.pkr.hcl")
	for _, c := range []struct {
		name string
		tmpl *Template
		want []string
	}{
		// "timed" has a region through a variable without a value: set,
		// though unknown.
		{"chroot-like", chroot, []string{"amazon-chroot", "ebs"}},
		{"consul-like", consul, nil},
		{"jenkins-like", jenkins, []string{"amazon-ebs.agent"}},
	} {
		if got := sourceNames(WithoutRegion(c.tmpl.Select(nil, nil))); !slices.Equal(got, c.want) {
			t.Errorf("%s: WithoutRegion = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestBuildLevelSourceLabel: a build block may name a source "type.name"
// (no "source." prefix), as packer 1.6.6 accepts, in a source block and in
// sources; "builds no amazon-* source" was the answer before.
func TestBuildLevelSourceLabel(t *testing.T) {
	for _, c := range []struct {
		name, build string
		want        []string
	}{
		{"block without prefix", "build {\n  source \"amazon-ebs.base\" { name = \"jenkins\" }\n}", []string{"amazon-ebs.jenkins"}},
		{"block with prefix", "build {\n  source \"source.amazon-ebs.base\" { name = \"jenkins\" }\n}", []string{"amazon-ebs.jenkins"}},
		{"block without name", "build {\n  source \"amazon-ebs.base\" {}\n}", []string{"amazon-ebs.base"}},
		{"list without prefix", `build { sources = ["amazon-ebs.base"] }`, []string{"amazon-ebs.base"}},
		{"list with prefix", `build { sources = ["source.amazon-ebs.base"] }`, []string{"amazon-ebs.base"}},
		{"any first of three parts", `build { sources = ["src.amazon-ebs.base"] }`, []string{"amazon-ebs.base"}},
		{"named build", `build {
  name = "ci"
  source "amazon-ebs.base" { name = "jenkins" }
}`, []string{"ci.amazon-ebs.jenkins"}},
		{"one part is no reference", `build { sources = ["base"] }`, nil},
		{"another source", `build { sources = ["amazon-ebs.other"] }`, nil},
	} {
		src := "source \"amazon-ebs\" \"base\" {\n  region = \"us-east-1\"\n}\n" + c.build + "\n"
		tmpl, _ := loadFiles(t, map[string]string{"j.pkr.hcl": src}, "j.pkr.hcl")
		var got []string
		for _, s := range tmpl.Select(nil, nil) {
			got = append(got, s.Builds...)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: builds %q, want %q", c.name, got, c.want)
		}
	}
	jenkins, _ := loadFiles(t, map[string]string{"jenkins.pkr.hcl": jenkinsLikeHCL}, "jenkins.pkr.hcl")
	if got := sourceNames(jenkins.Select([]string{"amazon-ebs.jenkins"}, nil)); !slices.Equal(got, []string{"amazon-ebs.base"}) {
		t.Errorf("jenkins-like: Select(amazon-ebs.jenkins) = %q", got)
	}
}

func TestArgsOnlyExceptAndSetEnv(t *testing.T) {
	o := BuildOptions{Template: "t.json", Only: []string{"a", "b"}, Except: []string{"c"}}
	got := strings.Join(Args(o), " ")
	if want := "build -machine-readable -color=false -only=a,b -except=c t.json"; got != want {
		t.Errorf("Args = %q, want %q", got, want)
	}
	if err := o.validate(); err != nil {
		t.Errorf("validate: %v", err)
	}
	for _, bad := range []BuildOptions{
		{Template: "t", Except: []string{""}},
		{Template: "t", Except: []string{"a,b"}},
		{Template: "t", SetEnv: []string{"NOEQUALS"}},
		{Template: "t", SetEnv: []string{"=v"}},
	} {
		if err := bad.validate(); err == nil {
			t.Errorf("validate(%+v) accepted it", bad)
		}
	}
	env := setEnv([]string{"A=1", "AWS_REGION=us-east-1", "B=2", "AWS_REGION=dup"}, []string{"AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"})
	if want := []string{"A=1", "B=2", "AWS_REGION=eu-west-1", "AWS_DEFAULT_REGION=eu-west-1"}; !slices.Equal(env, want) {
		t.Errorf("setEnv = %q, want %q", env, want)
	}
	if env := setEnv([]string{"A=1"}, nil); !slices.Equal(env, []string{"A=1"}) {
		t.Errorf("setEnv without entries = %q", env)
	}
	_, env, _, err := BuildOptions{Packer: "/bin/sh", Env: []string{"PATH=/bin", "X=old"}, SetEnv: []string{"X=new"}}.resolve()
	if err != nil || !slices.Equal(env, []string{"PATH=/bin", "X=new"}) {
		t.Errorf("resolve env = %q, %v", env, err)
	}
}
