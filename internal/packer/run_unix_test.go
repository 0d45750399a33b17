//go:build unix

package packer

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/testenv"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// fakePacker writes a shell script that stands in for packer and returns
// its path. The script finds its scratch directory in $FAKE_DIR.
func fakePacker(t *testing.T, script string) (path, dir string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "packer")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func fakeOptions(t *testing.T, script string) (BuildOptions, string, *bytes.Buffer) {
	path, dir := fakePacker(t, script)
	var progress bytes.Buffer
	return BuildOptions{
		Packer:   path,
		Template: "t.json",
		Dir:      dir,
		Env:      []string{"PATH=/usr/bin:/bin", "FAKE_DIR=" + dir},
		Progress: &progress,
		Grace:    5 * time.Second,
	}, dir, &progress
}

// waitFile waits for a file that the fake writes when it is ready. It may
// run outside the test's goroutine, so it reports with t.Error.
func waitFile(t *testing.T, path string) bool {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return true
		}
		if time.Now().After(deadline) {
			t.Errorf("the fake packer did not write %s", path)
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// assertGone checks that the process whose pid is in file has ended (a
// zombie waiting for its reaper counts as ended).
func assertGone(t *testing.T, pidFile string) {
	t.Helper()
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d outlived Build", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

const fakeAMI = `echo '1,,ui,say,==> amazon-ebs: Creating AMI bakery-abc from instance i-0123'
echo '1,amazon-ebs,artifact-count,1'
echo '1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs'
echo '1,amazon-ebs,artifact,0,id,eu-west-1:ami-0b%!(PACKER_COMMA)us-east-1:ami-0a'
echo '1,amazon-ebs,artifact,0,end'
`

func TestBuildSuccess(t *testing.T) {
	o, dir, progress := fakeOptions(t, `pwd > "$FAKE_DIR/pwd"
for a in "$@"; do echo "$a"; done > "$FAKE_DIR/args"
echo "${HOME-unset}" > "$FAKE_DIR/home"
echo 'panic-free stderr, line 1' >&2
`+fakeAMI)
	o.Vars = []Var{{"ami_bakery_fingerprint", "abc"}, {"msg", "a, b"}}
	o.VarFiles = []string{"v.pkrvars.hcl"}
	o.Only = []string{"amazon-ebs"}
	o.OnError = "abort"
	res, err := Build(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	want := []Artifact{{
		Build: "amazon-ebs", BuilderID: "mitchellh.amazonebs", ID: "eu-west-1:ami-0b,us-east-1:ami-0a",
		AMIs: map[string]string{"eu-west-1": "ami-0b", "us-east-1": "ami-0a"},
	}}
	if !reflect.DeepEqual(res.Artifacts, want) {
		t.Errorf("artifacts = %+v, want %+v", res.Artifacts, want)
	}
	if got := res.AMIArtifacts(); len(got) != 1 {
		t.Errorf("AMIArtifacts() = %+v", got)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(string(b), "\n")
	}
	if got := read("pwd"); got != dir {
		t.Errorf("packer ran in %q, want %q", got, dir)
	}
	if got, want := strings.Split(read("args"), "\n"), Args(o); !reflect.DeepEqual(got, want) {
		t.Errorf("packer got args %q, want %q", got, want)
	}
	if got := read("home"); got != "unset" {
		t.Errorf("HOME = %q: the environment was not exactly o.Env", got)
	}
	for _, line := range []string{
		"packer: ==> amazon-ebs: Creating AMI bakery-abc from instance i-0123\n",
		"packer stderr: panic-free stderr, line 1\n",
	} {
		if !strings.Contains(progress.String(), line) {
			t.Errorf("progress lacks %q:\n%s", line, progress)
		}
	}
}

func TestBuildFindsPackerOnEnvPath(t *testing.T) {
	o, dir, _ := fakeOptions(t, fakeAMI)
	o.Packer = ""
	o.Env = []string{"PATH=relative/dir:" + dir}
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
}

func TestBuildPackerNotFound(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "packer-not-executable")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, packer, wantErr string
	}{
		{"not on PATH", "", `finding packer: "packer" is not on PATH (` + dir + `)`},
		{"path does not exist", filepath.Join(dir, "nope"), "finding packer: stat " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{"not executable", notExec, "is not executable"},
		{"a directory", dir, "is not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(context.Background(), BuildOptions{Packer: tt.packer, Template: "t.json", Env: []string{"PATH=" + dir}})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if h := usererr.Hints(err); len(h) != 1 || !strings.Contains(h[0], "install packer") {
				t.Errorf("hints = %q", h)
			}
		})
	}
}

func TestBuildFailures(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		only     []string
		wantErr  []string // the error's start, then substrings of it
		wantIs   error
		wantHint string
	}{
		{
			name: "non-zero exit",
			script: `echo '1,,ui,say,==> amazon-ebs: Prevalidating AMI Name: bakery-abc'
echo '1,,ui,error,Build '"'"'amazon-ebs'"'"' errored: error validating regions:\ncaused by: no such host'
echo 'panic: plugin exited' >&2
echo '1,,ui,error,--> amazon-ebs: error validating regions'
echo '1,,ui,say,\n==> Builds finished but no artifacts were created.'
exit 3`,
			wantErr: []string{
				"packer build failed (exit status 3)\n",
				"last 7 lines of packer output:",
				"  packer: ==> amazon-ebs: Prevalidating AMI Name: bakery-abc",
				"  packer: caused by: no such host",
				"  packer stderr: panic: plugin exited",
				"  packer: ==> Builds finished but no artifacts were created.",
			},
		},
		{
			name: "errors that scrolled out of the tail come first",
			script: `echo '1,,ui,error,--> amazon-ebs: the real problem'
i=0; while [ $i -lt 30 ]; do echo "1,,ui,say,cleanup step $i"; i=$((i+1)); done
exit 1`,
			wantErr: []string{
				"packer build failed (exit status 1)",
				"packer build failed (exit status 1)\npacker reported these errors earlier:\n  packer: --> amazon-ebs: the real problem\nlast 20 lines of packer output:\n  packer: cleanup step 10\n",
				"  packer: cleanup step 29",
			},
		},
		{
			name:    "killed by a signal",
			script:  `echo '1,,ui,say,working'; kill -SEGV $$`,
			wantErr: []string{"packer build failed (signal: segmentation fault)", "packer: working"},
		},
		{
			name: "crash in the middle of an artifact line",
			script: `echo '1,amazon-ebs,artifact-count,1'
echo '1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs'
printf '1,amazon-ebs,artifact,0,id,us-ea'
exit 0`,
			wantErr: []string{`reading packer build output: packer output line 3: output ended in the middle of a line (did packer crash?): "1,amazon-ebs,artifact,0,id,us-ea"`},
		},
		{
			name: "artifact without an id",
			script: `echo '1,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs'
echo '1,amazon-ebs,artifact,0,end'`,
			wantErr: []string{`reading packer build output: packer output line 2: artifact of build "amazon-ebs" (mitchellh.amazonebs) ended without an id`},
		},
		{
			name:    "no artifacts",
			script:  `echo '1,,ui,say,\n==> Builds finished but no artifacts were created.'`,
			wantErr: []string{"packer build produced no artifacts\nlast 2 lines of packer output:"},
			wantIs:  ErrNoArtifacts,
		},
		{
			name:     "no artifacts with -only",
			script:   `:`,
			only:     []string{"amazon-ebs.typo"},
			wantErr:  []string{"packer build produced no artifacts"},
			wantIs:   ErrNoArtifacts,
			wantHint: "-only build names",
		},
		{
			name:     "no AMI",
			script:   `echo '1,null,artifact,0,builder-id,fnoeding.null'; echo '1,null,artifact,0,id,Null'; echo '1,null,artifact,0,end'`,
			wantErr:  []string{`packer build produced no AMI (artifacts: null: fnoeding.null "Null")`},
			wantIs:   ErrNoAMI,
			wantHint: "amazon-ebs",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, _, progress := fakeOptions(t, tt.script)
			o.Only = tt.only
			res, err := Build(context.Background(), o)
			if err == nil {
				t.Fatalf("no error; result %+v", res)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.wantErr[0]) {
				t.Errorf("error does not start with %q:\n%s", tt.wantErr[0], msg)
			}
			for _, want := range tt.wantErr[1:] {
				if !strings.Contains(msg, want) {
					t.Errorf("error lacks %q:\n%s", want, msg)
				}
			}
			var be *BuildError
			if !errors.As(err, &be) {
				t.Errorf("error is %T, want a *BuildError in its chain", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error is not %v", tt.wantIs)
			}
			if errors.Is(err, ErrInterrupted) {
				t.Errorf("error is ErrInterrupted")
			}
			if hints := strings.Join(usererr.Hints(err), "\n"); !strings.Contains(hints, tt.wantHint) {
				t.Errorf("hints = %q, want %q", hints, tt.wantHint)
			}
			if (res != nil) != errors.Is(err, ErrNoAMI) {
				t.Errorf("result = %+v; want one exactly for ErrNoAMI", res)
			}
			for _, l := range be.Tail {
				if !strings.Contains(progress.String(), l+"\n") {
					t.Errorf("tail line %q is not in the progress output", l)
				}
			}
		})
	}
}

func TestBuildOptionErrors(t *testing.T) {
	tests := []struct {
		name    string
		change  func(*BuildOptions)
		wantErr string
	}{
		{"no template", func(o *BuildOptions) { o.Template = "" }, "no template given"},
		{"bad on-error", func(o *BuildOptions) { o.OnError = "retry" }, `invalid on-error value "retry"`},
		{"var without name", func(o *BuildOptions) { o.Vars = []Var{{"", "x"}} }, `invalid packer variable name ""`},
		{"var name with =", func(o *BuildOptions) { o.Vars = []Var{{"a=b", "x"}} }, `invalid packer variable name "a=b"`},
		{"empty var file", func(o *BuildOptions) { o.VarFiles = []string{""} }, "empty -var-file path"},
		{"build name with comma", func(o *BuildOptions) { o.Only = []string{"a,b"} }, `invalid build name "a,b"`},
		{"negative grace", func(o *BuildOptions) { o.Grace = -time.Second }, "negative grace period"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, dir, _ := fakeOptions(t, `touch "$FAKE_DIR/started"`)
			tt.change(&o)
			_, err := Build(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), "checking packer build options: "+tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
				t.Errorf("packer was started")
			}
		})
	}
	for _, v := range OnErrorValues {
		o := BuildOptions{Template: "t", OnError: v}
		if err := o.validate(); err != nil {
			t.Errorf("on-error %q: %v", v, err)
		}
	}
}

func TestBuildContextCancelledBeforeStart(t *testing.T) {
	o, dir, _ := fakeOptions(t, `touch "$FAKE_DIR/started"`)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Build(ctx, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "started")); err == nil {
		t.Errorf("packer was started")
	}
}

// interruptible is like packer: the first process does nothing on SIGINT
// but wait for its child, which handles it, says so, and exits.
const interruptible = `trap 'echo leader >> "$FAKE_DIR/leader-int"' INT
echo '1,,ui,say,==> amazon-ebs: Launching a source AWS instance...'
sh -c 'trap "echo child > \"\$FAKE_DIR/child-int\"; echo 1,,ui,error,Cancelling build after receiving interrupt; exit 1" INT
echo $$ > "$FAKE_DIR/child.pid"
while :; do sleep 0.05; done'
echo '1,,ui,say,Cleanly cancelled builds after being interrupted.'
exit 1
`

func TestBuildInterruptReachesTheProcessGroup(t *testing.T) {
	o, dir, progress := fakeOptions(t, interruptible)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFile(t, filepath.Join(dir, "child.pid"))
		cancel()
	}()
	start := time.Now()
	_, err := Build(ctx, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	if d := time.Since(start); d > o.Grace {
		t.Errorf("Build took %v, more than the grace period: the interrupt did not end packer", d)
	}
	for _, f := range []string{"child-int", "leader-int"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: the interrupt did not reach that process: %v", f, err)
		}
	}
	if !strings.Contains(err.Error(), "packer: Cancelling build after receiving interrupt") ||
		!strings.Contains(progress.String(), "packer: Cleanly cancelled builds after being interrupted.\n") {
		t.Errorf("packer's last words are missing:\nerror: %v\nprogress:\n%s", err, progress)
	}
	assertGone(t, filepath.Join(dir, "child.pid"))
}

// stubborn ignores SIGINT, like a packer stuck in an API call.
const stubborn = `trap '' INT
echo '1,,ui,say,==> amazon-ebs: Waiting for instance to become ready...'
echo $$ > "$FAKE_DIR/pid"
while :; do sleep 0.05; done
`

func TestBuildKillsAfterGrace(t *testing.T) {
	o, dir, _ := fakeOptions(t, stubborn)
	o.Grace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupted := make(chan time.Time, 1)
	go func() {
		waitFile(t, filepath.Join(dir, "pid"))
		interrupted <- time.Now()
		cancel()
	}()
	_, err := Build(ctx, o)
	took := time.Since(<-interrupted)
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "then killed: it was still running after the grace period of 300ms") {
		t.Fatalf("error = %v, want ErrInterrupted after the grace period", err)
	}
	if took < o.Grace || took > o.Grace+2*time.Second {
		t.Errorf("Build returned %v after the interrupt, want just over the grace period %v", took, o.Grace)
	}
	assertGone(t, filepath.Join(dir, "pid"))
}

func TestBuildKillChannel(t *testing.T) {
	for _, cancelFirst := range []bool{true, false} {
		t.Run("cancelled first "+strconv.FormatBool(cancelFirst), func(t *testing.T) {
			o, dir, _ := fakeOptions(t, stubborn)
			o.Grace = time.Minute
			kill := make(chan struct{})
			o.Kill = kill
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				waitFile(t, filepath.Join(dir, "pid"))
				if cancelFirst {
					cancel()
					time.Sleep(50 * time.Millisecond)
				}
				close(kill)
			}()
			start := time.Now()
			_, err := Build(ctx, o)
			if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "then killed at once") {
				t.Fatalf("error = %v, want ErrInterrupted, killed at once", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Build took %v", d)
			}
			assertGone(t, filepath.Join(dir, "pid"))
		})
	}
}

func TestBuildKillsWhatPackerLeftBehind(t *testing.T) {
	// A background process that keeps packer's stdout open would block
	// reading it forever.
	o, dir, _ := fakeOptions(t, fakeAMI+`sleep 30 &
echo $! > "$FAKE_DIR/pid"
`)
	start := time.Now()
	if _, err := Build(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > drainTimeout {
		t.Errorf("Build took %v", d)
	}
	assertGone(t, filepath.Join(dir, "pid"))
}

func TestBuildOutputHeldOpenOutsideTheGroup(t *testing.T) {
	testenv.Command(t, "setsid", "util-linux")
	o, dir, _ := fakeOptions(t, fakeAMI+`setsid sh -c 'echo $$ > "$FAKE_DIR/pid.tmp"; mv "$FAKE_DIR/pid.tmp" "$FAKE_DIR/pid"; exec sleep 30' &
while [ ! -e "$FAKE_DIR/pid" ]; do sleep 0.01; done
`)
	t.Cleanup(func() {
		b, _ := os.ReadFile(filepath.Join(dir, "pid"))
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	_, err := build(context.Background(), o, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "packer exited but its output stayed open for 200ms") {
		t.Fatalf("error = %v", err)
	}
}

func TestArgs(t *testing.T) {
	tests := []struct {
		name string
		o    BuildOptions
		want []string
	}{
		{
			name: "minimal",
			o:    BuildOptions{Template: "t.json"},
			want: []string{"build", "-machine-readable", "-color=false", "t.json"},
		},
		{
			name: "everything",
			o: BuildOptions{
				Template: "dir", Debug: true, OnError: "ask",
				Only: []string{"amazon-ebs.a", "amazon-ebs.b"}, VarFiles: []string{"a.pkrvars.hcl", "b.json"},
				Vars: []Var{{"ami_bakery_fingerprint", "abc"}, {"msg", "a, b = c\nd"}, {"empty", ""}},
			},
			want: []string{
				"build", "-machine-readable", "-color=false", "-debug", "-on-error=ask", "-only=amazon-ebs.a,amazon-ebs.b",
				"-var-file=a.pkrvars.hcl", "-var-file=b.json",
				"-var", "ami_bakery_fingerprint=abc", "-var", "msg=a, b = c\nd", "-var", "empty=",
				"dir",
			},
		},
		{
			name: "absolute template",
			o:    BuildOptions{Template: "/abs/t.pkr.hcl", Only: []string{"null"}},
			want: []string{"build", "-machine-readable", "-color=false", "-only=null", "/abs/t.pkr.hcl"},
		},
		{
			name: "template that looks like a flag",
			o:    BuildOptions{Template: "-t.json"},
			want: []string{"build", "-machine-readable", "-color=false", "./-t.json"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Args(tt.o); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Args() =\n %q\nwant\n %q", got, tt.want)
			}
		})
	}
}

// TestInitIsSupervised shows that `packer init` runs as `packer build`
// does: a cancelled context interrupts its whole process group, its output
// is prefixed in Progress and its tail is in the error.
func TestInitIsSupervised(t *testing.T) {
	o, dir, progress := fakeOptions(t, `[ "$1" = init ] || exit 9
echo 'Installing plugin github.com/hashicorp/amazon'
echo 'slow mirror' >&2
`+strings.TrimPrefix(interruptible, `trap 'echo leader >> "$FAKE_DIR/leader-int"' INT
`+"echo '1,,ui,say,==> amazon-ebs: Launching a source AWS instance...'\n"))
	o.Template = "t.pkr.hcl"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFile(t, filepath.Join(dir, "child.pid"))
		cancel()
	}()
	start := time.Now()
	err := Init(ctx, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	if d := time.Since(start); d > o.Grace {
		t.Errorf("Init took %v, more than the grace period: the interrupt did not end packer", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "child-int")); err != nil {
		t.Errorf("the interrupt did not reach packer's child: %v", err)
	}
	for _, line := range []string{"packer: Installing plugin github.com/hashicorp/amazon", "packer stderr: slow mirror"} {
		if !strings.Contains(progress.String(), line+"\n") || !strings.Contains(err.Error(), "  "+line) {
			t.Errorf("%q is missing from progress or error:\nerror: %v\nprogress:\n%s", line, err, progress)
		}
	}
	assertGone(t, filepath.Join(dir, "child.pid"))
}

func TestInitKillsAfterGrace(t *testing.T) {
	o, dir, _ := fakeOptions(t, stubborn)
	o.Grace = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFile(t, filepath.Join(dir, "pid"))
		cancel()
	}()
	err := Init(ctx, o)
	if !errors.Is(err, ErrInterrupted) || !strings.Contains(err.Error(), "packer init interrupted, then killed: it was still running after the grace period of 300ms") {
		t.Fatalf("error = %v, want ErrInterrupted after the grace period", err)
	}
	assertGone(t, filepath.Join(dir, "pid"))
}

func TestInitFailureCarriesTheTail(t *testing.T) {
	o, _, _ := fakeOptions(t, `echo "args: $*"; echo 'Error: Failed getting the "amazon" plugin' >&2; exit 1`)
	o.Template = "-t.pkr.hcl"
	err := Init(context.Background(), o)
	var be *BuildError
	if !errors.As(err, &be) || !strings.HasPrefix(err.Error(), "packer init failed (exit status 1)") {
		t.Fatalf("error = %v, want a *BuildError for the failed init", err)
	}
	for _, want := range []string{"  packer: args: init ./-t.pkr.hcl", `  packer stderr: Error: Failed getting the "amazon" plugin`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestInitSupported(t *testing.T) {
	tests := []struct {
		script, want string
		ok           bool
	}{
		{`[ "$1" = version ] && echo 'Packer v1.8.7' && echo 'Your version is out of date'`, "Packer v1.8.7", true},
		{`echo '  Packer v1.6.6  '`, "Packer v1.6.6", false},
	}
	for _, tt := range tests {
		o, _, progress := fakeOptions(t, tt.script)
		ok, v, err := InitSupported(context.Background(), o)
		if err != nil || ok != tt.ok || v != tt.want {
			t.Errorf("InitSupported() = %v, %q, %v; want %v, %q", ok, v, err, tt.ok, tt.want)
		}
		if progress.Len() != 0 {
			t.Errorf("packer version wrote to progress: %q", progress)
		}
	}
	o, _, _ := fakeOptions(t, `echo 'no such command' >&2; exit 127`)
	if _, _, err := InitSupported(context.Background(), o); err == nil ||
		!strings.Contains(err.Error(), "asking packer its version: packer version failed (exit status 127)") ||
		!strings.Contains(err.Error(), "packer stderr: no such command") {
		t.Errorf("error = %v", err)
	}
}
