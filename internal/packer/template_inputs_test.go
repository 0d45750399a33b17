package packer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// ecsLikeFiles is an HCL2 directory of several sources, with scripts in the
// directory and beside it (shared/), an auto var file, locals that read a
// file, fileset() and templatefile().
var ecsLikeFiles = map[string]string{
	"ecs/variables.pkr.hcl": `variable "region" {
  default = "us-west-2"
}
variable "fingerprint" {
  type    = string
  default = ""
}
variable "gpu_script" {
  type    = string
  default = ""
}
variable "extra_user_data" {
  type = string
}
variable "scripts_dir" {
  default = "scripts"
}
locals {
  shared    = "${path.root}/../shared"
  user_data = file("${local.shared}/user-data.sh")
}
`,
	"ecs/sources.pkr.hcl": `source "amazon-ebs" "al2" {
  region    = var.region
  ami_name  = "ecs-al2-${var.fingerprint}"
  user_data = local.user_data
}

source "amazon-ebs" "al2023" {
  region         = var.region
  ami_name       = "ecs-al2023-${var.fingerprint}"
  user_data_file = var.extra_user_data
}

source "amazon-ebs" "al2023gpu" {
  region   = var.region
  ami_name = "ecs-al2023gpu-${var.fingerprint}"
}
`,
	"ecs/build.pkr.hcl": `build {
  name    = "ecs"
  sources = ["source.amazon-ebs.al2", "source.amazon-ebs.al2023", "source.amazon-ebs.al2023gpu"]

  provisioner "file" {
    source      = "${path.root}/files/"
    destination = "/tmp/files"
  }
  provisioner "file" {
    sources     = [for f in fileset("${local.shared}/certs", "*.pem") : "${local.shared}/certs/${f}"]
    destination = "/tmp/certs/"
  }
  provisioner "shell" {
    only    = ["amazon-ebs.al2"]
    scripts = ["${var.scripts_dir}/common.sh", "${var.scripts_dir}/al2.sh"]
  }
  provisioner "shell" {
    only   = ["amazon-ebs.al2023gpu"]
    script = var.gpu_script
  }
  provisioner "file" {
    direction   = "download"
    source      = "/var/log/cloud-init.log"
    destination = "logs/"
  }
  provisioner "shell" {
    inline = ["echo '${templatefile("${path.root}/files/motd.tpl", { v = 1 })}'"]
  }
  post-processor "manifest" {
    output = "manifest.json"
  }
  post-processor "shell-local" {
    script = "${path.cwd}/check.sh"
  }
}
`,
	"ecs/ecs.auto.pkrvars.hcl":        `gpu_script = "../shared/gpu/install-nvidia.sh"` + "\n",
	"ecs/files/ecs.config":            "ECS_CLUSTER=x\n",
	"ecs/check.sh*":                   "#!/bin/sh\n",
	"ecs/files/motd.tpl":              "v${v}\n",
	"ecs/scripts/common.sh*":          "#!/bin/sh\n",
	"ecs/scripts/al2.sh*":             "#!/bin/sh\n",
	"shared/user-data.sh":             "#!/bin/sh\n",
	"shared/gpu/install-nvidia.sh*":   "#!/bin/sh\n",
	"shared/certs/a.pem":              "a\n",
	"shared/certs/b.pem":              "b\n",
	"shared/certs/readme.txt":         "not a cert\n",
	"shared/certs/old/c.pem":          "not matched by *.pem\n",
	"other/vars.pkrvars.hcl":          `scripts_dir = "../other/scripts"` + "\n",
	"other/scripts/common.sh":         "#!/bin/sh\n",
	"other/extra.pkrvars.json":        `{"extra_user_data": "../shared/user-data.sh"}`,
	"other/unrelated/not-an-input.sh": "",
}

// eksLikeFiles is a JSON template whose scripts live in ../shared through
// {{template_dir}}.
var eksLikeFiles = map[string]string{
	"eks/eks-worker.json": `{
  "variables": {
    "region": "us-west-2",
    "fingerprint": "",
    "extra_script": "",
    "creds": "{{env ` + "`CREDS_FILE`" + `}}"
  },
  "builders": [
    {
      "type": "amazon-ebs",
      "region": "{{user ` + "`region`" + `}}",
      "ami_name": "eks-{{user ` + "`fingerprint`" + `}}",
      "user_data_file": "{{template_dir}}/userdata.sh"
    }
  ],
  "provisioners": [
    {"type": "shell", "inline": ["mkdir -p /tmp/worker"]},
    {"type": "file", "source": "{{template_dir}}/../shared/files/", "destination": "/tmp/worker/"},
    {"type": "shell", "script": "{{template_dir}}/../shared/install-worker.sh"},
    {
      "type": "shell",
      "scripts": [
        "{{template_dir}}/../shared/validate.sh",
        "{{user ` + "`extra_script`" + `}}",
        "scripts/local.sh"
      ]
    },
    {"type": "file", "source": "{{user ` + "`creds`" + `}}", "destination": "/tmp/creds"},
    {"type": "file", "direction": "download", "source": "/etc/eks/release", "destination": "release.txt"},
    {"type": "ansible", "playbook_file": "{{template_dir}}/../shared/ansible/site.yml"}
  ],
  "post-processors": [
    [
      {"type": "manifest", "output": "manifest.json"},
      {"type": "shell-local", "script": "{{pwd}}/post.sh"}
    ]
  ]
}
`,
	"eks/userdata.sh":                "#!/bin/sh\n",
	"eks/scripts/local.sh":           "#!/bin/sh\n",
	"shared/files/kubelet.service":   "[Unit]\n",
	"shared/install-worker.sh*":      "#!/bin/sh\n",
	"shared/validate.sh*":            "#!/bin/sh\n",
	"shared/creds.txt":               "x\n",
	"shared/ansible/site.yml":        "- hosts: all\n",
	"shared/ansible/roles/r/a.yml":   "x\n",
	"work/post.sh*":                  "#!/bin/sh\n",
	"work/scripts/local.sh":          "#!/bin/sh\n",
	"eks/unrelated/not-an-input.txt": "",
}

// describeInputs shows a result with paths relative to root: "path[/] use
// @file:line" for inputs, "missing path" and "unresolved text @file:line".
func describeInputs(t *testing.T, root string, res InputsResult) []string {
	t.Helper()
	rel := func(p string) string {
		r, err := filepath.Rel(root, p)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	pos := func(p string) string {
		file, line, _ := strings.Cut(p, ":")
		return filepath.Base(file) + ":" + line
	}
	var out []string
	for _, in := range res.Inputs {
		dir := ""
		if in.Dir {
			dir = "/"
		}
		out = append(out, fmt.Sprintf("%s%s %s @%s", rel(in.Path), dir, in.Use, pos(in.Pos)))
	}
	for _, in := range res.Missing {
		out = append(out, fmt.Sprintf("missing %s %s @%s", rel(in.Path), in.Use, pos(in.Pos)))
	}
	for _, u := range res.Unresolved {
		out = append(out, fmt.Sprintf("unresolved %s %s @%s", u.Text, u.Use, pos(u.Pos)))
	}
	return out
}

func TestInputsHCL(t *testing.T) {
	tmpl, root := loadFiles(t, ecsLikeFiles, "ecs")
	work := filepath.Join(root, "ecs")
	tests := []struct {
		name string
		o    InputOptions
		want []string
	}{
		{"every build", InputOptions{WorkDir: work}, []string{
			`ecs/check.sh post-processor "shell-local" script @build.pkr.hcl:33`,
			`ecs/files/ provisioner "file" source @build.pkr.hcl:6`,
			`ecs/files/motd.tpl templatefile() @build.pkr.hcl:27`,
			`ecs/scripts/al2.sh provisioner "shell" scripts @build.pkr.hcl:15`,
			`ecs/scripts/common.sh provisioner "shell" scripts @build.pkr.hcl:15`,
			`shared/certs/a.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/certs/b.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/gpu/install-nvidia.sh provisioner "shell" script @build.pkr.hcl:19`,
			`shared/user-data.sh file() @variables.pkr.hcl:20`,
			`unresolved var.extra_user_data source "amazon-ebs" "al2023" user_data_file @sources.pkr.hcl:10`,
		}},
		{"only al2", InputOptions{WorkDir: work, Only: []string{"ecs.amazon-ebs.al2"}}, []string{
			`ecs/check.sh post-processor "shell-local" script @build.pkr.hcl:33`,
			`ecs/files/ provisioner "file" source @build.pkr.hcl:6`,
			`ecs/files/motd.tpl templatefile() @build.pkr.hcl:27`,
			`ecs/scripts/al2.sh provisioner "shell" scripts @build.pkr.hcl:15`,
			`ecs/scripts/common.sh provisioner "shell" scripts @build.pkr.hcl:15`,
			`shared/certs/a.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/certs/b.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/user-data.sh file() @variables.pkr.hcl:20`,
		}},
		{"except the gpu build, var files and a var", InputOptions{
			WorkDir:  work,
			Except:   []string{"*gpu"},
			VarFiles: []string{filepath.Join(root, "other/vars.pkrvars.hcl"), filepath.Join(root, "other/extra.pkrvars.json")},
			Vars:     map[string]string{"gpu_script": "none.sh"},
		}, []string{
			`ecs/check.sh post-processor "shell-local" script @build.pkr.hcl:33`,
			`ecs/files/ provisioner "file" source @build.pkr.hcl:6`,
			`ecs/files/motd.tpl templatefile() @build.pkr.hcl:27`,
			`other/scripts/common.sh provisioner "shell" scripts @build.pkr.hcl:15`,
			`shared/certs/a.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/certs/b.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/user-data.sh file() @variables.pkr.hcl:20`,
			`missing other/scripts/al2.sh provisioner "shell" scripts @build.pkr.hcl:15`,
		}},
		{"the gpu build from another working directory, a var", InputOptions{
			WorkDir: root,
			Only:    []string{"ecs.amazon-ebs.al2023gpu"},
			Vars:    map[string]string{"gpu_script": "shared/gpu/install-nvidia.sh"},
		}, []string{
			`ecs/files/ provisioner "file" source @build.pkr.hcl:6`,
			`ecs/files/motd.tpl templatefile() @build.pkr.hcl:27`,
			`shared/certs/a.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/certs/b.pem provisioner "file" sources @build.pkr.hcl:10`,
			`shared/gpu/install-nvidia.sh provisioner "shell" script @build.pkr.hcl:19`,
			`shared/user-data.sh file() @variables.pkr.hcl:20`,
			`missing check.sh post-processor "shell-local" script @build.pkr.hcl:33`,
		}},
		{"nothing selected", InputOptions{WorkDir: work, Only: []string{"nope"}}, []string{
			`shared/user-data.sh file() @variables.pkr.hcl:20`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tmpl.Inputs(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeInputs(t, root, res); !slices.Equal(got, tt.want) {
				t.Errorf("Inputs:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestInputsJSON(t *testing.T) {
	tmpl, root := loadFiles(t, eksLikeFiles, "eks/eks-worker.json")
	tests := []struct {
		name string
		o    InputOptions
		want []string
	}{
		{"packer in the template's directory", InputOptions{WorkDir: filepath.Join(root, "eks")}, []string{
			`eks/scripts/local.sh provisioner "shell" scripts @eks-worker.json:25`,
			`eks/userdata.sh builder "amazon-ebs" user_data_file @eks-worker.json:13`,
			`shared/ansible/ provisioner "ansible" playbook_file (its directory) @eks-worker.json:30`,
			`shared/files/ provisioner "file" source @eks-worker.json:18`,
			`shared/install-worker.sh provisioner "shell" script @eks-worker.json:19`,
			`shared/validate.sh provisioner "shell" scripts @eks-worker.json:23`,
			`missing eks/post.sh post-processor "shell-local" script @eks-worker.json:35`,
			`unresolved "{{user ` + "`creds`" + `}}" provisioner "file" source @eks-worker.json:28`,
		}},
		{"packer elsewhere, var file and vars", InputOptions{
			WorkDir:  filepath.Join(root, "work"),
			VarFiles: []string{filepath.Join(root, "vars.json")},
			Vars:     map[string]string{"extra_script": "{{template_dir}}/../shared/validate.sh"},
		}, []string{
			`eks/userdata.sh builder "amazon-ebs" user_data_file @eks-worker.json:13`,
			`shared/ansible/ provisioner "ansible" playbook_file (its directory) @eks-worker.json:30`,
			`shared/creds.txt provisioner "file" source @eks-worker.json:28`,
			`shared/files/ provisioner "file" source @eks-worker.json:18`,
			`shared/install-worker.sh provisioner "shell" script @eks-worker.json:19`,
			`shared/validate.sh provisioner "shell" scripts @eks-worker.json:23`,
			`work/post.sh post-processor "shell-local" script @eks-worker.json:35`,
			`work/scripts/local.sh provisioner "shell" scripts @eks-worker.json:25`,
		}},
	}
	writeFiles(t, root, map[string]string{"vars.json": `{"creds": "{{template_dir}}/../shared/creds.txt", "n": 1}`})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tmpl.Inputs(tt.o)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeInputs(t, root, res); !slices.Equal(got, tt.want) {
				t.Errorf("Inputs:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

// TestInputsJSONSelection: a provisioner's only, except and override count
// for the selected builds.
func TestInputsJSONSelection(t *testing.T) {
	tmpl, root := loadFiles(t, map[string]string{"consul/consul.json": consulLikeJSON}, "consul/consul.json")
	work := filepath.Join(root, "consul")
	for _, c := range []struct {
		only, except []string
		want         []string
	}{
		{nil, nil, []string{"consul/a.sh", "consul/setup-consul.sh", "consul/ubuntu18.sh", "shared/apt-setup.sh"}},
		{[]string{"amazon-linux-2"}, nil, []string{"consul/a.sh", "consul/setup-consul.sh"}},
		{[]string{"ubuntu-18"}, nil, []string{"consul/setup-consul.sh", "consul/ubuntu18.sh", "shared/apt-setup.sh"}},
		{[]string{"ubuntu-20"}, nil, []string{"consul/a.sh", "consul/setup-consul.sh", "shared/apt-setup.sh"}},
		// rhel-8's override is for a build the provisioner excepts.
		{[]string{"rhel-8"}, nil, []string{"consul/setup-consul.sh"}},
		{nil, []string{"ubuntu-18", "ubuntu-20"}, []string{"consul/a.sh", "consul/setup-consul.sh"}},
	} {
		res, err := tmpl.Inputs(InputOptions{WorkDir: work, Only: c.only, Except: c.except})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, in := range slices.Concat(res.Inputs, res.Missing) {
			r, _ := filepath.Rel(root, in.Path)
			got = append(got, filepath.ToSlash(r))
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) || len(res.Inputs) != 0 || len(res.Unresolved) != 0 {
			t.Errorf("only %q except %q: %q (existing %d, unresolved %v), want %q, all missing", c.only, c.except, got, len(res.Inputs), res.Unresolved, c.want)
		}
	}
}

func TestInputsVarFileErrors(t *testing.T) {
	tmpl, root := loadFiles(t, ecsLikeFiles, "ecs")
	writeFiles(t, root, map[string]string{"bad.pkrvars.hcl": "x = \n"})
	for _, f := range []string{"missing.pkrvars.hcl", "bad.pkrvars.hcl"} {
		_, err := tmpl.Inputs(InputOptions{WorkDir: root, VarFiles: []string{filepath.Join(root, f)}})
		if err == nil || !strings.Contains(err.Error(), "reading -var-file "+filepath.Join(root, f)) {
			t.Errorf("%s: err = %v", f, err)
		}
	}
	j, jroot := loadFiles(t, eksLikeFiles, "eks/eks-worker.json")
	writeFiles(t, jroot, map[string]string{"bad.json": "[1"})
	if _, err := j.Inputs(InputOptions{VarFiles: []string{filepath.Join(jroot, "bad.json")}}); err == nil || !strings.Contains(err.Error(), "reading -var-file") {
		t.Errorf("JSON bad var file: err = %v", err)
	}
}

func TestFileset(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a.sh": "", "b.sh": "", "c.txt": "", "sub/d.sh": "", "sub/deep/e.sh": "", "sub/deep/f.txt": "", ".hidden.sh": "", "empty/": "",
	})
	for _, c := range []struct {
		pattern string
		want    []string
	}{
		{"*.sh", []string{".hidden.sh", "a.sh", "b.sh"}},
		{"**/*.sh", []string{".hidden.sh", "a.sh", "b.sh", "sub/d.sh", "sub/deep/e.sh"}},
		{"sub/**", []string{"sub/d.sh", "sub/deep/e.sh", "sub/deep/f.txt"}},
		{"?.{sh,txt}", []string{"a.sh", "b.sh", "c.txt"}},
		{"[ab].sh", []string{"a.sh", "b.sh"}},
		{"[!a].sh", []string{"b.sh"}},
		{"sub/*", []string{"sub/d.sh"}},
		{"empty", nil},
	} {
		got, err := fileset(dir, c.pattern)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("fileset(%q) = %q, %v, want %q", c.pattern, got, err, c.want)
		}
	}
	if got, err := fileset(filepath.Join(dir, "nope"), "*"); err != nil || got != nil {
		t.Errorf("fileset of a missing directory = %q, %v", got, err)
	}
	for _, bad := range []string{"[a", "{a,b"} {
		if _, err := fileset(dir, bad); err == nil {
			t.Errorf("fileset(%q) accepted it", bad)
		}
	}
}

// TestInputsStatError: a path that cannot be examined (a component that is
// a file) is an error, not a missing input.
func TestInputsStatError(t *testing.T) {
	tmpl, root := loadFiles(t, map[string]string{"t.json": `{"builders": [{"type": "amazon-ebs", "user_data_file": "f/x"}]}`, "f": ""}, "t.json")
	_, err := tmpl.Inputs(InputOptions{WorkDir: root})
	if err == nil || !strings.Contains(err.Error(), `builder "amazon-ebs" user_data_file uses at `) {
		t.Fatalf("err = %v", err)
	}
	if err := os.Remove(filepath.Join(root, "f")); err != nil {
		t.Fatal(err)
	}
	res, err := tmpl.Inputs(InputOptions{WorkDir: root})
	if err != nil || len(res.Missing) != 1 {
		t.Errorf("res = %+v, %v; want one missing", res, err)
	}
}
