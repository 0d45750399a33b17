package project

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// template is a JSON template declaring the fingerprint variable and, for a
// child, source_ami.
func template(child bool) string {
	vars := `"config_checksum": ""`
	if child {
		vars += `, "source_ami": ""`
	}
	return `{"variables": {` + vars + `}, "builders": [{"type": "amazon-ebs", "ami_name": "x-{{user ` + "`config_checksum`" + `}}"}]}` + "\n"
}

// writeFiles writes files (slash paths) under dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// tree is a project's images: base <- runtime <- app, and other.
func tree() map[string]string {
	return map[string]string{
		"images/base/base.json":       template(false),
		"images/base/setup.sh":        "echo base\n",
		"shared/scripts/common.sh":    "echo common\n",
		"images/runtime/runtime.json": template(true),
		"images/app/app.json":         template(true),
		"images/app/app.conf":         "port = 80\n",
		"images/other/other.json":     template(false),
	}
}

const chain = `defaults {
  regions = ["us-east-1", "eu-west-1"]
  owners  = ["111122223333"]
  vars    = { instance_type = "t3.small" }
}

image "base" {
  template = "images/base/base.json"
  dirs     = ["images/base", "shared/scripts"]
}

image "runtime" {
  template = "images/runtime/runtime.json"
  parent   = "base"
}

image "app" {
  template = "images/app/app.json"
  parent   = "runtime"
  regions  = ["us-east-1"]
}

image "other" {
  template = "images/other/other.json"
}
`

// load writes the tree and the project file and loads it from the
// project's directory, so errors name "bakery.hcl".
func load(t *testing.T, name, text string) (*Project, error) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, tree())
	writeFiles(t, dir, map[string]string{name: text})
	t.Chdir(dir)
	return Load(name, nil)
}

func TestLoad(t *testing.T) {
	p, err := load(t, FileHCL, chain)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, img := range p.Images {
		parent := "-"
		if img.Parent != nil {
			parent = img.Parent.Name
		}
		got = append(got, img.Name+"/"+parent+"/"+string(rune('0'+img.Level)))
	}
	if want := []string{"base/-/0", "other/-/0", "runtime/base/1", "app/runtime/2"}; !slices.Equal(got, want) {
		t.Errorf("images = %v, want %v", got, want)
	}
	app := p.Images[3]
	if !filepath.IsAbs(app.Template) || app.Dirs[0] != filepath.Dir(app.Template) {
		t.Errorf("app paths: template %s, dirs %v", app.Template, app.Dirs)
	}
	if !slices.Equal(app.Regions, []string{"us-east-1"}) || !slices.Equal(app.Owners, []string{"111122223333"}) {
		t.Errorf("app regions %v owners %v: want its own regions and the default owners", app.Regions, app.Owners)
	}
	if app.Vars["instance_type"] != "t3.small" || app.ParentVar != DefaultParentVar || app.TagKey != DefaultTagKey {
		t.Errorf("app settings: %+v", app)
	}
	if base := p.Images[0]; len(base.Dirs) != 2 || !strings.HasSuffix(base.Dirs[1], "/shared/scripts") {
		t.Errorf("base dirs = %v", base.Dirs)
	}
}

// The JSON syntax gives the same project.
func TestLoadJSON(t *testing.T) {
	p, err := load(t, FileJSON, `{
  "defaults": {"regions": ["us-east-1"]},
  "image": {
    "base": {"template": "images/base/base.json"},
    "app": {"template": "images/app/app.json", "parent": "base"}
  }
}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Images) != 2 || p.Images[1].Parent != p.Images[0] {
		t.Fatalf("images: %+v", p.Images)
	}
}

func TestLoadErrors(t *testing.T) {
	img := func(name, body string) string { return "image \"" + name + "\" {\n" + body + "}\n" }
	base := img("base", "  template = \"images/base/base.json\"\n  regions = [\"us-east-1\"]\n")
	tests := []struct {
		name, text string
		want       string // the error starts with "loading project: " + want
	}{
		{"unknown attribute", base + img("app", "  template = \"images/app/app.json\"\n  regions = [\"us-east-1\"]\n  colour = \"red\"\n"),
			`bakery.hcl:8,3-9: Unsupported argument; An argument named "colour" is not expected here.`},
		{"unknown block", base + "target \"x\" {\n}\n",
			`bakery.hcl:5,1-7: Unsupported block type; Blocks of type "target" are not expected here.`},
		{"unknown parent", base + img("app", "  template = \"images/app/app.json\"\n  regions = [\"us-east-1\"]\n  parent = \"runtim\"\n"),
			`bakery.hcl:8,3-20: image "app" has parent "runtim", which the project does not declare (images: base, app)`},
		{"cycle", img("a", "  template = \"images/app/app.json\"\n  regions = [\"us-east-1\"]\n  parent = \"b\"\n") +
			img("b", "  template = \"images/runtime/runtime.json\"\n  regions = [\"us-east-1\"]\n  parent = \"a\"\n"),
			`bakery.hcl:4,3-15: images form a cycle: a -> b -> a`},
		{"self parent", img("a", "  template = \"images/app/app.json\"\n  regions = [\"us-east-1\"]\n  parent = \"a\"\n"),
			`bakery.hcl:4,3-15: images form a cycle: a -> a`},
		{"duplicate name", base + img("base", "  template = \"images/other/other.json\"\n"),
			`bakery.hcl:5,7-13: duplicate image "base"; it is first declared at bakery.hcl:1,1-13`},
		{"parent lacks a region", base + img("app", "  template = \"images/app/app.json\"\n  regions = [\"us-east-1\", \"eu-west-1\"]\n  parent = \"base\"\n"),
			`bakery.hcl:7,3-39: image "app" needs region eu-west-1, which its parent "base" does not have`},
		{"template lacks parent_var", base + img("app", "  template = \"images/other/other.json\"\n  regions = [\"us-east-1\"]\n  parent = \"base\"\n"),
			`bakery.hcl:8,3-18: image "app" has a parent, but its template`},
		{"template lacks the named parent_var", base + img("app", "  template = \"images/app/app.json\"\n  regions = [\"us-east-1\"]\n  parent = \"base\"\n  parent_var = \"base_ami\"\n"),
			`bakery.hcl:9,3-26: image "app" has a parent, but its template`},
		{"no regions", img("base", "  template = \"images/base/base.json\"\n"),
			`bakery.hcl:1,1-13: image "base" has no regions`},
		{"missing template", img("base", "  template = \"images/nope.json\"\n  regions = [\"us-east-1\"]\n"),
			`bakery.hcl:2,3-32: image "base": reading template:`},
		{"wrong type", img("base", "  template = \"images/base/base.json\"\n  regions = \"us-east-1\"\n"),
			`bakery.hcl:3,14-23: Unsuitable value type; Unsuitable value: list of string required, but have string`},
		{"parent in defaults", "defaults {\n  parent = \"base\"\n}\n" + base,
			`bakery.hcl:2,3-9: Unsupported argument`},
		{"syntax", "image \"base\" {\n  template = \n}\n",
			`bakery.hcl:2,14-3,1: Invalid expression`},
		{"bad name", img("base app", "  template = \"images/base/base.json\"\n"),
			`bakery.hcl:1,7-17: invalid image name "base app"`},
		{"no image", "defaults {\n}\n", `bakery.hcl:1,1-1: the project declares no image`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, FileHCL, tt.text)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.HasPrefix(err.Error(), "loading project: "+tt.want) {
				t.Errorf("error = %q\nwant prefix %q", err, "loading project: "+tt.want)
			}
			if strings.Contains(err.Error(), "more error") {
				t.Errorf("error = %q: one mistake, more than one error", err)
			}
			if !usererr.IsUsage(err) {
				t.Errorf("error %v is not a usage error", err)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "bakery.hcl"), nil)
	if !usererr.IsUsage(err) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v, want a usage error wrapping ErrNotExist", err)
	}
}

func TestSelect(t *testing.T) {
	p, err := load(t, FileHCL, chain)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		sel  []string
		want []string
	}{
		{nil, []string{"base", "other", "runtime", "app"}},
		{[]string{"app"}, []string{"base", "runtime", "app"}},
		{[]string{"other", "runtime"}, []string{"base", "other", "runtime"}},
		{[]string{"base"}, []string{"base"}},
		{[]string{"app", "app"}, []string{"base", "runtime", "app"}},
	}
	for _, tt := range tests {
		got, err := p.Select(tt.sel...)
		if err != nil {
			t.Fatal(err)
		}
		if n := names(got); !slices.Equal(n, tt.want) {
			t.Errorf("Select(%v) = %v, want %v", tt.sel, n, tt.want)
		}
	}
	if _, err := p.Select("nope"); !usererr.IsUsage(err) {
		t.Errorf("Select(nope) = %v, want a usage error", err)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	if got, err := Find(dir); got != "" || err != nil {
		t.Errorf("Find(empty) = %q, %v", got, err)
	}
	writeFiles(t, dir, map[string]string{FileJSON: "{}"})
	if got, _ := Find(dir); got != filepath.Join(dir, FileJSON) {
		t.Errorf("Find = %q, want bakery.json", got)
	}
	writeFiles(t, dir, map[string]string{FileHCL: ""})
	if got, _ := Find(dir); got != filepath.Join(dir, FileHCL) {
		t.Errorf("Find = %q, want bakery.hcl first", got)
	}
}
