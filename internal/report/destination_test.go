//go:build linux

package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// TestReplaceIsAtomic: a file is replaced by a rename, never rewritten in
// place, so an old hard link to it keeps the old bytes (the bug: writing
// through an O_TRUNC open would change both).
func TestReplaceIsAtomic(t *testing.T) {
	dir := t.TempDir()
	p, old := filepath.Join(dir, ".ami_id.json"), filepath.Join(dir, "old")
	os.WriteFile(p, []byte("old bytes\n"), 0o600)
	if err := os.Link(p, old); err != nil {
		t.Fatal(err)
	}
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(old); string(raw) != "old bytes\n" {
		t.Errorf("the old hard link changed: %q", raw)
	}
	raw, _ := os.ReadFile(p)
	if !strings.Contains(string(raw), `"ami_id": "ami-1"`) {
		t.Errorf("new file: %q", raw)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the replaced file's 0600", fi.Mode().Perm())
	}
}

// TestSameResultNotRewritten: a file that holds the result already is left
// as it is (the no-op pays no temporary file and fsync); one that differs
// in a byte or in its mode is replaced.
func TestSameResultNotRewritten(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".ami_id.json")
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	inode := func() uint64 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Ino
	}
	first := inode()
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	if inode() != first {
		t.Error("the same result replaced the file")
	}
	raw, _ := os.ReadFile(p)
	os.WriteFile(p, append(bytes.Clone(raw[:len(raw)-2]), 'x', '\n'), 0o644)
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(raw) {
		t.Errorf("a changed file was not replaced: %q", got)
	}
	os.Chmod(p, 0o600)
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the file's own 0600 kept", fi.Mode().Perm())
	}
}

// TestSymlinkKept: a symlink to a regular file keeps being a link; its
// target is replaced atomically.
func TestSymlinkKept(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "real.json"), filepath.Join(dir, "link.json")
	os.WriteFile(target, []byte("old\n"), 0o644)
	os.Symlink("real.json", link)
	if err := writeAll(Sinks(SinkOptions{OutputFile: link}), sample); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v, %v", fi.Mode(), err)
	}
	if raw, _ := os.ReadFile(target); !strings.Contains(string(raw), "ami-1") {
		t.Errorf("target: %q", raw)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

// TestDevicesWrittenInPlace: /dev/null stays a device (the bug: a rename
// over it made it a regular file, for every process on the machine).
func TestDevicesWrittenInPlace(t *testing.T) {
	if err := writeAll(Sinks(SinkOptions{OutputFile: "/dev/null", TFVarsFile: "/dev/null"}), sample); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v (%v)", fi.Mode(), err)
	}
}

// TestProcDescriptor: /dev/stdout and /dev/fd/N lead through /proc to
// whatever the descriptor holds, here a regular file: it is appended to
// through the descriptor, not replaced (which would cut off its holder).
func TestProcDescriptor(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("before\n")
	for _, p := range []string{fmt.Sprintf("/proc/self/fd/%d", f.Fd()), fmt.Sprintf("/dev/fd/%d", f.Fd())} {
		if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
	}
	f.Seek(0, io.SeekStart)
	raw, _ := io.ReadAll(f)
	if !strings.HasPrefix(string(raw), "before\n{") || strings.Count(string(raw), `"ami_id"`) != 2 {
		t.Errorf("the descriptor's file holds %q; want both results appended", raw)
	}
}

// TestFifo: a named pipe is written in place when it has a reader, and
// refused, without hanging and without writing any other sink, when not.
func TestFifo(t *testing.T) {
	dir := t.TempDir()
	fifo, out, gh := filepath.Join(dir, "fifo"), filepath.Join(dir, ".ami_id.json"), filepath.Join(dir, "gh")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	err := writeAll(Sinks(SinkOptions{OutputFile: out, TFVarsFile: fifo, GitHubOutput: gh}), sample)
	if !errors.Is(err, syscall.ENXIO) || len(usererr.Hints(err)) == 0 {
		t.Errorf("no reader: %v (hints %q)", err, usererr.Hints(err))
	}
	for _, p := range []string{out, gh} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s was written although the fifo failed", p)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}

	r, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := writeAll(Sinks(SinkOptions{TFVarsFile: fifo}), sample); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := r.Read(buf)
	if !strings.Contains(string(buf[:n]), `"ami_ids"`) {
		t.Errorf("reader got %q", buf[:n])
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the fifo became %v", fi.Mode())
	}
}

// TestAllOrNone: when one sink cannot be staged, no file is replaced and
// nothing is appended to the GitHub files (the bug: the sinks were written
// one by one, so the ones before the failure were written).
func TestAllOrNone(t *testing.T) {
	dir := t.TempDir()
	o := SinkOptions{
		OutputFile: filepath.Join(dir, ".ami_id.json"), TFVarsFile: filepath.Join(dir, "tf"),
		GitHubOutput: filepath.Join(dir, "out"), GitHubSummary: filepath.Join(dir, "sum"),
	}
	for _, p := range o.Paths() {
		os.WriteFile(p, []byte("earlier\n"), 0o644)
	}
	sinks := Sinks(o)
	sinks = append(sinks[:2:2], failing{}, sinks[2], sinks[3])
	if err := writeAll(sinks, sample); err == nil {
		t.Fatal("WriteAll succeeded")
	}
	for _, p := range o.Paths() {
		if raw, _ := os.ReadFile(p); string(raw) != "earlier\n" {
			t.Errorf("%s: %q, want it untouched", p, raw)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

type failing struct{}

func (failing) Name() string                                  { return "failing" }
func (failing) Check() error                                  { return nil }
func (failing) Stage(context.Context, Result) (Staged, error) { return nil, errors.New("cannot stage") }

// TestCheckWritable: a read-only directory fails the check, before any
// build. Root passes access(2) everywhere, and CI runs as root: there the
// test runs itself again as an unprivileged user.
func TestCheckWritable(t *testing.T) {
	if dir := os.Getenv("REPORT_TEST_READ_ONLY_DIR"); dir != "" {
		checkReadOnly(t, dir)
		return
	}
	if os.Geteuid() != 0 {
		dir := filepath.Join(t.TempDir(), "ro")
		os.Mkdir(dir, 0o555)
		checkReadOnly(t, dir)
		return
	}
	// Everything the other user needs is in a directory it may enter.
	base, err := os.MkdirTemp("", "report-ro-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	ro, bin := filepath.Join(base, "ro"), filepath.Join(base, "report.test")
	if err := errors.Join(os.Chmod(base, 0o755), os.Mkdir(ro, 0o555), copyFile(os.Args[0], bin)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^TestCheckWritable$", "-test.v")
	cmd.Dir = base
	cmd.Env = append(os.Environ(), "REPORT_TEST_READ_ONLY_DIR="+ro)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestCheckWritable") {
		t.Fatalf("the check as uid 65534: %v\n%s", err, out)
	}
}

func checkReadOnly(t *testing.T, dir string) {
	err := CheckAll(Sinks(SinkOptions{TFVarsFile: filepath.Join(dir, "tf")}))
	if err == nil || !usererr.IsUsage(err) || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("check: %v", err)
	}
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
