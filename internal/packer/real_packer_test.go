//go:build unix

package packer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/testenv"
)

// realPacker returns the path of the packer binary on PATH. Without one the
// test is skipped, except in CI, where packer must be installed.
func realPacker(t *testing.T) string {
	t.Helper()
	return testenv.Command(t, "packer", "Debian: apt-get install packer")
}

func realOptions(t *testing.T, files map[string]string, template string) (BuildOptions, *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var progress bytes.Buffer
	return BuildOptions{
		Packer:   realPacker(t),
		Template: template,
		Dir:      dir,
		// No version check against the network.
		Env:      append(os.Environ(), "CHECKPOINT_DISABLE=1", "FAKE_DIR="+dir),
		Progress: &progress,
		Grace:    30 * time.Second,
	}, &progress
}

func TestRealPackerNullBuild(t *testing.T) {
	o, progress := realOptions(t, map[string]string{"t.json": `{
  "variables": {"msg": ""},
  "builders": [{"type": "null", "communicator": "none"}],
  "provisioners": [{"type": "shell-local", "inline": ["echo '{{user ` + "`msg`" + `}}'", "echo to-stderr >&2"]}]
}`}, "t.json")
	o.Vars = []Var{{"msg", "hello, world"}}
	res, err := Build(context.Background(), o)
	// The null builder makes no AMI: Build says so, and still returns what
	// packer built.
	if !errors.Is(err, ErrNoAMI) {
		t.Fatalf("error = %v, want ErrNoAMI", err)
	}
	want := []Artifact{{Build: "null", BuilderID: "fnoeding.null", ID: "Null"}}
	if res == nil || !reflect.DeepEqual(res.Artifacts, want) {
		t.Fatalf("result = %+v, want artifacts %+v", res, want)
	}
	for _, line := range []string{
		"packer:     null: hello, world\n", // escaped comma undone
		"packer: ==> null: to-stderr\n",    // the provisioner's stderr is a ui error
		"packer: --> null: Did not export anything. This is the null builder\n",
	} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, progress)
		}
	}
}

func TestRealPackerHCL2Directory(t *testing.T) {
	o, progress := realOptions(t, map[string]string{
		"vars.pkr.hcl": `variable "greeting" { default = "hi" }`,
		"main.pkr.hcl": `source "null" "one" {
  communicator = "none"
}
build {
  sources = ["source.null.one"]
}`,
	}, ".")
	tmpl, err := LoadTemplate(o.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if !tmpl.Declares("greeting") || len(tmpl.Sources) != 1 {
		t.Fatalf("template = %+v", tmpl)
	}
	o.Vars = []Var{{"greeting", "hello"}}
	o.Only = []string{tmpl.Sources[0].Name}
	o.Debug = true // must not wait for input
	res, err := Build(context.Background(), o)
	if !errors.Is(err, ErrNoAMI) {
		t.Fatalf("error = %v, want ErrNoAMI", err)
	}
	if len(res.Artifacts) != 1 || res.Artifacts[0].Build != tmpl.Sources[0].Name {
		t.Errorf("artifacts = %+v, want one of build %q (the name LoadTemplate gives)", res.Artifacts, tmpl.Sources[0].Name)
	}
	if !strings.Contains(progress.String(), "packer: Debug mode enabled. Builds will not be parallelized.\n") {
		t.Errorf("-debug was not passed:\n%s", progress)
	}
}

func TestRealPackerUndeclaredVariable(t *testing.T) {
	o, _ := realOptions(t, map[string]string{"t.pkr.hcl": `source "null" "one" { communicator = "none" }
build { sources = ["source.null.one"] }`}, "t.pkr.hcl")
	o.Vars = []Var{{"ami_bakery_fingerprint", "abc"}}
	_, err := Build(context.Background(), o)
	if err == nil || !strings.Contains(err.Error(), "packer build failed (exit status 1)") ||
		!strings.Contains(err.Error(), "packer: Error: Undefined -var variable\n") ||
		!strings.Contains(err.Error(), `packer: A "ami_bakery_fingerprint" variable was passed in the command line but was not`) {
		t.Fatalf("error = %v, want packer's complaint about the undeclared variable", err)
	}
}

// TestRealPackerInterrupt interrupts a build mid-provisioner. The script
// ignores SIGINT, as a long-running provisioner may: the interrupt reaches
// packer's whole process group, and a script that died of it first made
// packer report a failed script instead of the interrupt (1 run in 6 on a
// loaded machine). Now only packer's own cancellation can end the build.
func TestRealPackerInterrupt(t *testing.T) {
	o, progress := realOptions(t, map[string]string{"t.json": `{
  "builders": [{"type": "null", "communicator": "none"}],
  "provisioners": [{"type": "shell-local", "inline": ["trap '' INT", "touch \"$FAKE_DIR/ready\"", "while :; do sleep 0.05; done"]}]
}`}, "t.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if waitFile(t, filepath.Join(o.Dir, "ready")) {
			cancel()
		}
	}()
	start := time.Now()
	_, err := Build(ctx, o)
	if !errors.Is(err, ErrInterrupted) || strings.Contains(err.Error(), "killed") {
		t.Fatalf("error = %v, want ErrInterrupted without a kill", err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("Build took %v", d)
	}
	if !strings.Contains(progress.String(), "packer: Cancelling build after receiving interrupt\n") {
		t.Errorf("packer did not report the interrupt:\n%s", progress)
	}
}

// TestRealPackerInputsAgree runs the real packer on templates whose
// shell-local scripts and file() calls use {{template_dir}}, path.root and
// relative paths, from a working directory that is not the template's, and
// checks that packer ran the very files Inputs names: each script prints
// its own path, and a decoy at the other candidate place prints another.
func TestRealPackerInputsAgree(t *testing.T) {
	script := func(marker string) string { return "#!/bin/sh\necho RAN " + marker + "\n" }
	files := map[string]string{
		"tmpl/t.json": `{
  "variables": {"extra": "{{template_dir}}/../shared/b.sh"},
  "builders": [{"type": "null", "communicator": "none"}],
  "provisioners": [{"type": "shell-local", "scripts": ["{{template_dir}}/../shared/a.sh", "rel.sh", "{{user ` + "`extra`" + `}}"]}]
}`,
		"tmpl/t.pkr.hcl": `source "null" "n" {
  communicator = "none"
}
build {
  sources = ["null.n"]
  provisioner "shell-local" {
    scripts = ["${path.root}/../shared/a.sh", "rel.sh", "${path.cwd}/c.sh"]
  }
  provisioner "shell-local" {
    inline = ["echo FILE ${trimspace(file("data.txt"))}"]
  }
}`,
		"tmpl/data.txt":    "template-dir\n",
		"work/data.txt":    "working-dir\n",
		"shared/a.sh*":     script("shared/a.sh"),
		"shared/b.sh*":     script("shared/b.sh"),
		"work/rel.sh*":     script("work/rel.sh"),
		"tmpl/rel.sh*":     script("tmpl/rel.sh (decoy)"),
		"work/c.sh*":       script("work/c.sh"),
		"tmpl/shared/a.sh": script("decoy"),
	}
	for _, tc := range []struct {
		template string
		want     []string // relative to the root, in order
	}{
		{"tmpl/t.json", []string{"shared/a.sh", "work/rel.sh", "shared/b.sh"}},
		{"tmpl/t.pkr.hcl", []string{"shared/a.sh", "work/rel.sh", "work/c.sh", "tmpl/data.txt"}},
	} {
		t.Run(tc.template, func(t *testing.T) {
			o, progress := realOptions(t, nil, "")
			root := o.Dir
			writeFiles(t, root, files)
			o.Template = filepath.Join(root, tc.template)
			o.Dir = filepath.Join(root, "work")
			if _, err := Build(context.Background(), o); !errors.Is(err, ErrNoAMI) {
				t.Fatalf("error = %v, want ErrNoAMI\n%s", err, progress)
			}
			var ran []string
			for _, line := range strings.Split(progress.String(), "\n") {
				if _, m, ok := strings.Cut(line, "RAN "); ok {
					ran = append(ran, m)
				}
				if _, m, ok := strings.Cut(line, "FILE "); ok && !strings.Contains(m, "$") && !strings.Contains(m, "{") {
					ran = append(ran, "tmpl/data.txt read: "+m)
				}
			}
			tmpl, err := LoadTemplate(o.Template)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tmpl.Inputs(InputOptions{WorkDir: o.Dir, anyBuilder: true})
			if err != nil || len(res.Missing) > 0 || len(res.Unresolved) > 0 {
				t.Fatalf("Inputs = %+v, %v", res, err)
			}
			var got []string
			for _, in := range res.Inputs {
				r, _ := filepath.Rel(root, in.Path)
				got = append(got, filepath.ToSlash(r))
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("Inputs %q lack %s", got, w)
				}
				if w == "tmpl/data.txt" {
					if !slices.Contains(ran, "tmpl/data.txt read: template-dir") {
						t.Errorf("packer did not read file() from the template's directory: %q", ran)
					}
				} else if !slices.Contains(ran, w) {
					t.Errorf("packer ran %q, not %s", ran, w)
				}
			}
			if len(got) != len(tc.want) {
				t.Errorf("Inputs %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRealPackerSelectionAgrees: the build names LoadTemplate reads (both
// forms of a build's source label) and the builds -only and -except select
// (exact names in JSON, globs in HCL2) are what the real packer builds.
func TestRealPackerSelectionAgrees(t *testing.T) {
	files := map[string]string{
		"t.json": `{"builders": [
  {"type": "null", "name": "ubuntu-20", "communicator": "none"},
  {"type": "null", "name": "ubuntu-22", "communicator": "none"},
  {"type": "null", "communicator": "none"}
]}`,
		"t.pkr.hcl": `source "null" "base" {
  communicator = "none"
}
source "null" "other" {
  communicator = "none"
}
build {
  source "null.base" {
    name = "jenkins"
  }
  sources = ["source.null.other"]
}
build {
  name    = "ci"
  sources = ["null.base"]
}`,
	}
	for _, tc := range []struct {
		template     string
		only, except []string
	}{
		{"t.json", nil, nil},
		{"t.json", []string{"ubuntu-20", "null"}, []string{"null"}},
		{"t.json", []string{"ubuntu-*"}, nil},
		{"t.json", nil, []string{"ubuntu-*"}},
		{"t.pkr.hcl", nil, nil},
		{"t.pkr.hcl", []string{"null.*"}, []string{"*.other"}},
		{"t.pkr.hcl", nil, []string{"ci.*"}},
	} {
		o, progress := realOptions(t, files, tc.template)
		o.Only, o.Except = tc.only, tc.except
		tmpl, err := LoadTemplate(filepath.Join(o.Dir, tc.template))
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, s := range tmpl.Sources {
			want = append(want, tmpl.selectedBuilds(s, tc.only, tc.except)...)
		}
		res, err := Build(context.Background(), o)
		var got []string
		if res != nil {
			for _, a := range res.Artifacts {
				got = append(got, a.Build)
			}
		}
		if len(want) == 0 && !errors.Is(err, ErrNoArtifacts) || len(want) > 0 && !errors.Is(err, ErrNoAMI) {
			t.Errorf("%s only %q except %q: error %v\n%s", tc.template, tc.only, tc.except, err, progress)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s only %q except %q: packer built %q, the template says %q", tc.template, tc.only, tc.except, got, want)
		}
	}
}
