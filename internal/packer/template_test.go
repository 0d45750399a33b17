package packer

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const jsonAmazon = `{
  "variables": {
    "ami_bakery_fingerprint": "",
    "base": null
  },
  "builders": [
    {
      "type": "amazon-ebs",
      "region": "us-east-1",
      "ami_name": "bakery-{{user ` + "`ami_bakery_fingerprint`" + `}}-{{ user \"base\" }}",
      "ami_regions": ["eu-west-1", "us-west-2"]
    },
    {"type": "null", "name": "check", "communicator": "none"}
  ]
}
`

const hclAmazon = `variable "ami_bakery_fingerprint" {
  type = string
}

variables {
  base   = "debian"
  unused = 1
}

source "amazon-ebs" "main" {
  region      = "us-east-1"
  ami_name    = "bakery-${var.ami_bakery_fingerprint}-${var["base"]}"
  ami_regions = ["eu-west-1"]
}

source "amazon-ebs" "computed" {
  region      = var.base
  ami_name    = "fixed"
  ami_regions = [var.base]
}

build {
  sources = ["source.amazon-ebs.main"]
}
`

func TestLoadTemplate(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string // relative to a temp dir; "dir/" makes a directory, "symlink:target" a link
		path  string            // relative to the temp dir; "" is the dir itself
		want  *Template         // Path relative to the temp dir
		// wantErr and wantHint are substrings of the error and of its hint.
		wantErr, wantHint string
		skipAsRoot        bool
	}{
		{
			name:  "JSON with amazon-ebs",
			files: map[string]string{"t.json": jsonAmazon},
			path:  "t.json",
			want: &Template{
				Path:      "t.json",
				Variables: []string{"ami_bakery_fingerprint", "base"},
				Sources: []Source{
					{
						Type: "amazon-ebs", Name: "amazon-ebs", Pos: "t.json:7",
						AMINameVars: []string{"ami_bakery_fingerprint", "base"},
					},
					{Type: "null", Name: "check", Pos: "t.json:13"},
				},
			},
		},
		{
			name:  "JSON any file name",
			files: map[string]string{"template": `{"builders":[{"type":"amazon-ebs","region":"{{user ` + "`r`" + `}}","ami_regions":["{{user ` + "`r`" + `}}"],"ami_name":"x"}]}`},
			path:  "template",
			want: &Template{
				Path:    "template",
				Sources: []Source{{Type: "amazon-ebs", Name: "amazon-ebs", Pos: "template:1"}},
			},
		},
		{
			name:  "JSON variables null",
			files: map[string]string{"t.json": `{"variables": null, "builders": [{"type": "null"}]}`},
			path:  "t.json",
			want: &Template{
				Path:    "t.json",
				Sources: []Source{{Type: "null", Name: "null", Pos: "t.json:1"}},
			},
		},
		{
			name:  "HCL2 file",
			files: map[string]string{"t.pkr.hcl": hclAmazon},
			path:  "t.pkr.hcl",
			want: &Template{
				Path:      "t.pkr.hcl",
				Variables: []string{"ami_bakery_fingerprint", "base", "unused"},
				Sources: []Source{
					{
						Type: "amazon-ebs", Name: "amazon-ebs.main", Pos: "t.pkr.hcl:10",
						AMINameVars: []string{"ami_bakery_fingerprint", "base"},
					},
					{Type: "amazon-ebs", Name: "amazon-ebs.computed", Pos: "t.pkr.hcl:16"},
				},
			},
		},
		{
			name: "HCL2 directory",
			files: map[string]string{
				"d/vars.pkr.hcl":     `variable "b" {}` + "\n" + `variable "a" { default = "x" }`,
				"d/main.pkr.json":    `{"variable": {"c": {}}, "source": {"amazon-ebs": {"x": {"ami_name": "n-${var.c}", "ami_regions": ["us-east-2"]}}}, "build": {"sources": ["source.amazon-ebs.x"]}}`,
				"d/build.pkr.hcl":    `source "null" "n" { communicator = "none" }`,
				"d/other.hcl":        `this is ignored {`,
				"d/vals.pkrvars.hcl": `a = "ignored too"`,
				"d/sub.pkr.hcl/":     "",
			},
			path: "d",
			want: &Template{
				Path:      "d",
				Variables: []string{"a", "b", "c"},
				Sources: []Source{
					{Type: "null", Name: "null.n", Pos: "d/build.pkr.hcl:1"},
					{Type: "amazon-ebs", Name: "amazon-ebs.x", Pos: "d/main.pkr.json:1", AMINameVars: []string{"c"}},
				},
			},
		},

		// Errors.
		{name: "missing file", path: "nope.json", wantErr: "reading template: stat ", wantHint: "check the template path"},
		{name: "path through a file", files: map[string]string{"f": "{}"}, path: "f/t.json", wantErr: "not a directory"},
		{name: "unreadable file", files: map[string]string{"t.json": "{}"}, path: "t.json", skipAsRoot: true, wantErr: "permission denied", wantHint: "readable"},
		{name: "symlink loop", files: map[string]string{"t.json": "symlink:t.json"}, path: "t.json", wantErr: "too many levels of symbolic links"},
		{name: "dangling symlink in a directory", files: map[string]string{"d/a.pkr.hcl": "symlink:gone.pkr.hcl"}, path: "d", wantErr: "a.pkr.hcl: no such file or directory"},
		{name: "empty JSON", files: map[string]string{"t.json": ""}, path: "t.json", wantErr: "the template is empty", wantHint: "at least one builder"},
		{name: "blank JSON", files: map[string]string{"t.json": " \n\t\n"}, path: "t.json", wantErr: "the template is empty"},
		{name: "empty HCL2", files: map[string]string{"t.pkr.hcl": "\n"}, path: "t.pkr.hcl", wantErr: "the template is empty"},
		{
			name: "invalid JSON", files: map[string]string{"t.json": "{\n  \"builders\": [\n    {\"type\": \"null\"}\n    {\"type\": \"null\"}\n  ]\n}\n"}, path: "t.json",
			wantErr: "invalid JSON: line 4, column 5: invalid character '{' after array element", wantHint: "fix the JSON",
		},
		{name: "truncated JSON", files: map[string]string{"t.json": "{\n  \"builders\": [\n"}, path: "t.json", wantErr: "invalid JSON: line 3, column 1: unexpected end of JSON input"},
		{name: "trailing data", files: map[string]string{"t.json": `{"builders": [{"type": "null"}]} {}`}, path: "t.json", wantErr: "line 1, column 34: invalid character '{' after top-level value"},
		{
			name: "JSON variables not an object", files: map[string]string{"t.json": "{\n  \"variables\": [\"a\"],\n  \"builders\": [{\"type\": \"null\"}]\n}"}, path: "t.json",
			wantErr: `"variables" at line 2, column 16 is array, not an object`, wantHint: `"variables": {"name": "default value"}`,
		},
		{name: "JSON variables a string", files: map[string]string{"t.json": `{"variables": "a", "builders": []}`}, path: "t.json", wantErr: `"variables" at line 1, column 15 is a string, not an object`},
		{name: "JSON without builders", files: map[string]string{"t.json": `{"variables": {}}`}, path: "t.json", wantErr: "it defines no builders", wantHint: `"builders"`},
		{name: "JSON builders empty", files: map[string]string{"t.json": `{"builders": []}`}, path: "t.json", wantErr: `"builders" at line 1, column 14 is empty`},
		{name: "JSON builders an object", files: map[string]string{"t.json": `{"builders": {"type": "null"}}`}, path: "t.json", wantErr: `"builders" at line 1, column 14 is object, not an array`},
		{name: "JSON builder not an object", files: map[string]string{"t.json": "{\"builders\": [\n  {\"type\": \"null\"},\n  \"null\"\n]}"}, path: "t.json", wantErr: "the builder at line 3, column 3: it is not an object", wantHint: `"type"`},
		{name: "JSON builder without type", files: map[string]string{"t.json": `{"builders": [{"name": "x"}]}`}, path: "t.json", wantErr: `the builder at line 1, column 15: it has no "type" string`},
		{name: "JSON top level not an object", files: map[string]string{"t.json": `["builders"]`}, path: "t.json", wantErr: "neither a JSON template nor an HCL2 template"},
		{name: "HCL2 JSON in a .json file", files: map[string]string{"t.json": `{"source": {"null": {"x": {}}}}`}, path: "t.json", wantErr: `it has "source" but no "builders"`, wantHint: ".pkr.json"},
		{name: "HCL2 in a .json file", files: map[string]string{"t.json": hclAmazon}, path: "t.json", wantErr: "looks like HCL2, but packer 1.6.6 reads only files named *.pkr.hcl as HCL2", wantHint: "rename it"},
		{name: "HCL2 in a .hcl file", files: map[string]string{"t.hcl": `build {}`}, path: "t.hcl", wantErr: "looks like HCL2", wantHint: "rename it to end in .pkr.hcl"},
		{name: "HCL2 build block in a .txt file", files: map[string]string{"t.txt": "build {}"}, path: "t.txt", wantErr: "looks like HCL2"},
		{name: "HCL that is not packer's", files: map[string]string{"t.txt": "resource \"x\" \"y\" {}"}, path: "t.txt", wantErr: "neither a JSON template nor an HCL2 template"},
		{name: "neither", files: map[string]string{"notes.txt": "hello world\n"}, path: "notes.txt", wantErr: "neither a JSON template nor an HCL2 template", wantHint: "*.pkr.hcl"},
		{
			name: "invalid HCL2", files: map[string]string{"t.pkr.hcl": "source \"null\" \"x\" {\n  communicator = \n}\n"}, path: "t.pkr.hcl",
			wantErr: "invalid HCL2: ", wantHint: "fix the HCL",
		},
		{
			name: "invalid HCL2 names the file and line", files: map[string]string{"d/a.pkr.hcl": `source "null" "x" {}`, "d/b.pkr.hcl": "\n\nvariable {\n}\n"}, path: "d",
			wantErr: "b.pkr.hcl:3,10-11: Missing name for variable",
		},
		{
			name: "invalid HCL2 lists every error in the hint", files: map[string]string{"d/a.pkr.hcl": `variable "a" {`, "d/b.pkr.hcl": `variable {}`}, path: "d",
			wantErr: "a.pkr.hcl:1,", wantHint: "b.pkr.hcl:1,",
		},
		{name: "invalid HCL2 JSON", files: map[string]string{"t.pkr.json": `{"source": `}, path: "t.pkr.json", wantErr: "t.pkr.json:1,"},
		{
			name: "duplicate variable", files: map[string]string{"d/a.pkr.hcl": `variable "x" {}` + "\n" + `source "null" "n" {}`, "d/b.pkr.hcl": "variables {\n  x = 1\n}"}, path: "d",
			wantErr: `b.pkr.hcl:2,3-4: Duplicate variable; Variable "x" was already declared at`,
		},
		{name: "HCL2 without sources", files: map[string]string{"t.pkr.hcl": `variable "x" {}`}, path: "t.pkr.hcl", wantErr: "it defines no source blocks", wantHint: `source "amazon-ebs"`},
		{name: "empty directory", files: map[string]string{"d/t.json": "{}"}, path: "d", wantErr: "it has no *.pkr.hcl or *.pkr.json files", wantHint: "packer 1.6.6 reads a directory as HCL2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.skipAsRoot && os.Geteuid() == 0 {
				t.Skip("root reads every file")
			}
			dir := t.TempDir()
			for name, content := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(name))
				if strings.HasSuffix(name, "/") {
					if err := os.MkdirAll(p, 0o755); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if target, ok := strings.CutPrefix(content, "symlink:"); ok {
					if err := os.Symlink(target, p); err != nil {
						t.Fatal(err)
					}
					continue
				}
				mode := os.FileMode(0o644)
				if tt.skipAsRoot {
					mode = 0o200
				}
				if err := os.WriteFile(p, []byte(content), mode); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, filepath.FromSlash(tt.path))
			got, err := LoadTemplate(path)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("no error, want one containing %q; got %+v", tt.wantErr, got)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error = %q, want it to contain %q", err, tt.wantErr)
				}
				hints := strings.Join(usererr.Hints(err), "\n")
				if !strings.Contains(hints, tt.wantHint) {
					t.Errorf("hints = %q, want them to contain %q", hints, tt.wantHint)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			relativize(t, dir, got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("template:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// relativize rewrites the paths in tmpl to be relative to dir.
func relativize(t *testing.T, dir string, tmpl *Template) {
	t.Helper()
	rel := func(p string) string {
		r, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		return filepath.ToSlash(r)
	}
	tmpl.Path = rel(tmpl.Path)
	// What TestTemplateSettings checks is left out here.
	tmpl.Syntax, tmpl.Manifests, tmpl.refs = "", nil, nil
	for i := range tmpl.Sources {
		tmpl.Sources[i].Pos = rel(tmpl.Sources[i].Pos)
		tmpl.Sources[i].Settings, tmpl.Sources[i].Builds = nil, nil
	}
}

func TestTemplateDeclaresAndAmazon(t *testing.T) {
	tmpl := &Template{
		Variables: []string{"a", "ami_bakery_fingerprint", "z"},
		Sources:   []Source{{Type: "null"}, {Type: "amazon-ebs", Name: "amazon-ebs"}, {Type: "amazon-chroot", Name: "c"}},
	}
	for name, want := range map[string]bool{"a": true, "ami_bakery_fingerprint": true, "z": true, "": false, "b": false, "zz": false} {
		if got := tmpl.Declares(name); got != want {
			t.Errorf("Declares(%q) = %v, want %v", name, got, want)
		}
	}
	if got := tmpl.AmazonSources(); len(got) != 2 || got[0].Name != "amazon-ebs" || got[1].Name != "c" {
		t.Errorf("AmazonSources() = %+v", got)
	}
}

func TestRequiredPlugins(t *testing.T) {
	dir := t.TempDir()
	for name, want := range map[string]bool{
		"with.pkr.hcl":    true,
		"without.pkr.hcl": false,
	} {
		body := `source "amazon-ebs" "a" {}` + "\n"
		if want {
			body = "packer {\n  required_plugins {\n    amazon = {\n      version = \">= 1.2.0\"\n      source = \"github.com/hashicorp/amazon\"\n    }\n  }\n}\n" + body
		} else {
			body = "packer {\n  required_version = \">= 1.6.0\"\n}\n" + body
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		tmpl, err := LoadTemplate(p)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.RequiredPlugins != want {
			t.Errorf("%s: RequiredPlugins = %v, want %v", name, tmpl.RequiredPlugins, want)
		}
	}
}

func TestVersionAtLeast(t *testing.T) {
	for line, want := range map[string]bool{
		"Packer v1.6.6": false, "Packer v1.7.0": true, "Packer v1.11.2": true, "Packer v2.0.0": true,
		"1.8.3": true, "garbage": false,
	} {
		if got := versionAtLeast(line, 1, 7); got != want {
			t.Errorf("versionAtLeast(%q) = %v, want %v", line, got, want)
		}
	}
}

// TestTemplateErrorHints covers the hints that the "unreadable file" case
// above cannot reach when the tests run as root, as in CI.
func TestTemplateErrorHints(t *testing.T) {
	eacces := &fs.PathError{Op: "open", Path: "t.json", Err: syscall.EACCES}
	enoent := &fs.PathError{Op: "stat", Path: "t.json", Err: syscall.ENOENT}
	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"stat, permission", statError("t.json", eacces), "readable by the user"},
		{"stat, missing", statError("t.json", enoent), "check the template path"},
		{"read, permission", readError("t.json", eacces), "readable by the user"},
	} {
		if !errors.Is(tt.err, fs.ErrPermission) && !errors.Is(tt.err, fs.ErrNotExist) || !strings.HasPrefix(tt.err.Error(), "reading template: ") {
			t.Errorf("%s: %v", tt.name, tt.err)
		}
		if h := strings.Join(usererr.Hints(tt.err), "\n"); !strings.Contains(h, tt.want) {
			t.Errorf("%s: hints %q, want %q", tt.name, h, tt.want)
		}
	}
}

func TestTemplateSiblingVariable(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"variables.pkr.hcl": "variable \"region\" {\n  default = \"us-east-1\"\n}\n",
		"main.pkr.hcl":      "source \"amazon-ebs\" \"x\" {\n  region = var.region\n}\nbuild {\n  sources = [\"source.amazon-ebs.x\"]\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err := LoadTemplate(filepath.Join(dir, "main.pkr.hcl"))
	if err == nil || !strings.Contains(err.Error(), "var.region, which is declared in "+filepath.Join(dir, "variables.pkr.hcl")) {
		t.Fatalf("err = %v", err)
	}
	if h := strings.Join(usererr.Hints(err), ""); !strings.Contains(h, "-t "+dir+"/") {
		t.Errorf("hint = %q", h)
	}
	if _, err := LoadTemplate(dir); err != nil {
		t.Errorf("the directory: %v", err)
	}
}
