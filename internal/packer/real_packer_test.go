//go:build unix

package packer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
