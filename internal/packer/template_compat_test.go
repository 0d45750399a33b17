package packer

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestRemoveJSONMembers(t *testing.T) {
	dropX := func(p []jsonStep) bool { return p[len(p)-1] == jsonStep{"x", -1} }
	tests := []struct{ name, in, want string }{
		{"only member", `{"x": 1}`, `{}`},
		{"first of several, on lines", "{\n  \"x\": 1,\n  \"a\": 2\n}", "{\n  \"a\": 2\n}"},
		{"first of several", `{"x": 1, "a": 2}`, `{"a": 2}`},
		{"middle", `{"a": 1, "x": [1, {"y": 2}], "b": 3}`, `{"a": 1, "b": 3}`},
		{"last", "{\n  \"a\": 1,\n  \"x\": true\n}", "{\n  \"a\": 1\n}"},
		{"nested, in arrays", `[{"x": 1}, {"a": {"x": "}\",{"}}]`, `[{}, {"a": {}}]`},
		{"keys that only look alike", `{"a": "x", "\u0078y": 1, "xx": {"x": 2}}`, `{"a": "x", "\u0078y": 1, "xx": {}}`},
		{"escaped key", `{"\u0078": 1, "a": 2}`, `{"a": 2}`},
		{"nothing to drop", "{\"a\": [1, 2, {\"b\": null}]}\n", "{\"a\": [1, 2, {\"b\": null}]}\n"},
	}
	for _, tt := range tests {
		got, err := removeJSONMembers([]byte(tt.in), dropX)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: removeJSONMembers(%s) = %s, %v; want %s", tt.name, tt.in, got, err, tt.want)
		}
	}
	if _, err := removeJSONMembers([]byte(`{"x": `), dropX); err == nil {
		t.Error("truncated JSON: no error")
	}
}

func TestCopyWithoutSkipCreateAMIFiles(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{
			name: "t.json",
			text: `{
  "variables": {"skip_create_ami": "true"},
  "builders": [
    {"type": "file", "skip_create_ami": true, "content": "x", "target": "y"},
    {"skip_create_ami": true, "type": "amazon-ebs", "ami_name": "a"},
    {"type": "amazon-chroot", "ami_name": "b", "skip_create_ami": "{{user ` + "`skip_create_ami`" + `}}"}
  ],
  "provisioners": [{"type": "shell-local", "inline": ["echo {\"skip_create_ami\": 1}"]}]
}`,
			want: `{
  "variables": {"skip_create_ami": "true"},
  "builders": [
    {"type": "file", "skip_create_ami": true, "content": "x", "target": "y"},
    {"type": "amazon-ebs", "ami_name": "a"},
    {"type": "amazon-chroot", "ami_name": "b"}
  ],
  "provisioners": [{"type": "shell-local", "inline": ["echo {\"skip_create_ami\": 1}"]}]
}`,
		},
		{
			name: "t.pkr.hcl",
			text: `source "amazon-ebs" "a" {
  ami_name        = "a"
  # A test makes no AMI.
  skip_create_ami = true
  region          = var.region
}

source "null" "n" {
  skip_create_ami = true
}

build {
  sources = ["source.amazon-ebs.a"]
  provisioner "shell-local" {
    inline = ["echo skip_create_ami = true"]
  }
}
`,
			want: `source "amazon-ebs" "a" {
  ami_name        = "a"
  # A test makes no AMI.
  region          = var.region
}

source "null" "n" {
  skip_create_ami = true
}

build {
  sources = ["source.amazon-ebs.a"]
  provisioner "shell-local" {
    inline = ["echo skip_create_ami = true"]
  }
}
`,
		},
		{
			name: "t.pkr.hcl",
			text: "source \"amazon-ebs\" \"a\" { skip_create_ami = true }\n" +
				"source \"amazon-ebs\" \"b\" {\n  skip_create_ami = (\n    true\n  ) # multi-line\n  ami_name = \"b\"\n}\n",
			want: "source \"amazon-ebs\" \"a\" {  }\n" +
				"source \"amazon-ebs\" \"b\" {\n   # multi-line\n  ami_name = \"b\"\n}\n",
		},
		{
			name: "t.pkr.json",
			text: `{"source": {"amazon-ebs": {"a": {"ami_name": "a", "skip_create_ami": true}}, "null": {"n": {"skip_create_ami": true}}},
 "build": [{"sources": ["source.amazon-ebs.a"]}]}`,
			want: `{"source": {"amazon-ebs": {"a": {"ami_name": "a"}}, "null": {"n": {"skip_create_ami": true}}},
 "build": [{"sources": ["source.amazon-ebs.a"]}]}`,
		},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
			t.Fatal(err)
		}
		cp, remove, err := CopyWithoutSkipCreateAMI(path)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if filepath.Dir(cp) != dir || !strings.HasPrefix(filepath.Base(cp), ".t.ami-bakery-") ||
			!strings.HasSuffix(cp, strings.TrimPrefix(tt.name, "t")) {
			t.Errorf("%s: the copy is %s, want a hidden file of the same kind beside the original", tt.name, cp)
		}
		got, err := os.ReadFile(cp)
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: the copy reads (%v)\n%s\nwant\n%s", tt.name, err, got, tt.want)
		}
		tmpl, err := LoadTemplate(cp)
		if err != nil {
			t.Fatalf("%s: loading the copy: %v", tt.name, err)
		}
		for _, s := range tmpl.AmazonSources() {
			if _, ok := s.Settings[skipCreateAMI]; ok {
				t.Errorf("%s: the copy's %s still sets it", tt.name, s.Name)
			}
		}
		if err := remove(); err != nil {
			t.Fatal(err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%s: after remove the directory holds %v, want the original alone", tt.name, entries)
		}
	}
}

func TestCopyWithoutSkipCreateAMIDirectory(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "boot")
	files := map[string]string{
		"source.pkr.hcl":          "source \"amazon-ebs\" \"a\" {\n  ami_name = var.name\n  skip_create_ami = true\n}\n",
		"vars.pkr.hcl":            "variable \"name\" {\n  type = string\n}\n",
		"build.pkr.hcl":           "build {\n  sources = [\"source.amazon-ebs.a\"]\n  provisioner \"shell-local\" {\n    script = \"${path.root}/scripts/check.sh\"\n  }\n}\n",
		"values.auto.pkrvars.hcl": "name = \"x\"\n",
		"scripts/check.sh":        "exit 0\n",
		".hidden":                 "",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// A template file that is a link is read through it, as packer does.
	shared := filepath.Join(root, "shared.pkr.hcl")
	if err := os.WriteFile(shared, []byte("source \"amazon-ebs\" \"b\" {\n  skip_create_ami = true\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(shared, filepath.Join(dir, "linked.pkr.hcl")); err != nil {
		t.Fatal(err)
	}
	cp, remove, err := CopyWithoutSkipCreateAMI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(cp) != root || !strings.HasPrefix(filepath.Base(cp), ".boot.ami-bakery-") {
		t.Errorf("the copy is %s, want a hidden sibling of %s", cp, dir)
	}
	entries, err := os.ReadDir(cp)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
		info, err := os.Lstat(filepath.Join(cp, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "source.pkr.hcl" || e.Name() == "linked.pkr.hcl" {
			if !info.Mode().IsRegular() {
				t.Errorf("%s is %v, want a rewritten file", e.Name(), info.Mode())
			}
			continue
		}
		target, err := os.Readlink(filepath.Join(cp, e.Name()))
		if err != nil || target != filepath.Join(dir, e.Name()) {
			t.Errorf("%s: a link to %q (%v), want one to the original", e.Name(), target, err)
		}
	}
	if want := []string{".hidden", "build.pkr.hcl", "linked.pkr.hcl", "scripts", "source.pkr.hcl", "values.auto.pkrvars.hcl", "vars.pkr.hcl"}; !slices.Equal(names, want) {
		t.Errorf("the copy holds %v, want %v", names, want)
	}
	if b, err := os.ReadFile(filepath.Join(cp, "scripts", "check.sh")); err != nil || string(b) != "exit 0\n" {
		t.Errorf("path.root/scripts/check.sh through the copy: %q, %v", b, err)
	}
	tmpl, err := LoadTemplate(cp)
	if err != nil {
		t.Fatal(err)
	}
	if s := tmpl.AmazonSources(); len(s) != 2 || !tmpl.Declares("name") {
		t.Errorf("the copy reads as %d sources, variables %v", len(s), tmpl.Variables)
	}
	for _, s := range tmpl.AmazonSources() {
		if _, ok := s.Settings[skipCreateAMI]; ok {
			t.Errorf("the copy's %s still sets skip_create_ami", s.Name)
		}
	}
	if err := remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(cp); !os.IsNotExist(err) {
		t.Errorf("after remove: %v", err)
	}
	for name, text := range files {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != text {
			t.Errorf("the original %s is now %q (%v)", name, b, err)
		}
	}
	if b, err := os.ReadFile(shared); err != nil || !strings.Contains(string(b), skipCreateAMI) {
		t.Errorf("the linked original is now %q (%v)", b, err)
	}
}

func TestCopyWithoutSkipCreateAMIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pkr.hcl")
	if err := os.WriteFile(bad, []byte("source \"amazon-ebs\" {"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CopyWithoutSkipCreateAMI(bad); err == nil {
		t.Error("broken HCL: no error")
	}
	if _, _, err := CopyWithoutSkipCreateAMI(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("missing template: no error")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("a failed copy left %v", entries)
	}
}

func TestKnowsSkipCreateAMI(t *testing.T) {
	tests := []struct {
		version   string
		knows, ok bool
	}{
		{"Packer v1.6.6", false, true},
		{"Packer v1.6.99", false, true},
		{"Packer v1.7.0", true, true},
		{"Packer v1.7.0-dev", true, true},
		{"Packer v1.11.2", true, true},
		{"Packer v2.0.0", true, true},
		{"1.5.0", false, true},
		{"", false, false},
		{"Packer", false, false},
	}
	for _, tt := range tests {
		if knows, ok := KnowsSkipCreateAMI(tt.version); knows != tt.knows || ok != tt.ok {
			t.Errorf("KnowsSkipCreateAMI(%q) = %v, %v; want %v, %v", tt.version, knows, ok, tt.knows, tt.ok)
		}
	}
}
