package testenv

import (
	"os/exec"
	"testing"
)

// fakeT records what Missing did instead of doing it.
type fakeT struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (f *fakeT) Helper()                           {}
func (f *fakeT) Skip(args ...any)                  { f.skipped = true; f.msg = args[0].(string) }
func (f *fakeT) Fatalf(format string, args ...any) { f.failed = true; f.msg = format }

func TestMissing(t *testing.T) {
	for _, tt := range []struct {
		ci         string
		skip, fail bool
	}{
		{ci: "", skip: true},
		{ci: "true", fail: true},
	} {
		t.Setenv("CI", tt.ci)
		f := &fakeT{}
		Missing(f, "no %s", "thing")
		if f.skipped != tt.skip || f.failed != tt.fail {
			t.Errorf("CI=%q: skipped %v, failed %v; want %v, %v", tt.ci, f.skipped, f.failed, tt.skip, tt.fail)
		}
		if tt.skip && f.msg != "no thing" {
			t.Errorf("CI=%q: skip message %q", tt.ci, f.msg)
		}
	}
}

func TestCommand(t *testing.T) {
	t.Setenv("CI", "")
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeT{}
	if got := Command(f, "sh", "it is everywhere"); got != sh || f.skipped || f.failed {
		t.Errorf("Command(sh) = %q, skipped %v, failed %v", got, f.skipped, f.failed)
	}
	f = &fakeT{}
	Command(f, "no-such-program-ami-bakery", "install it")
	if !f.skipped {
		t.Errorf("Command of a missing program did not skip")
	}
}
