package fingerprint

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

func TestComputeErrors(t *testing.T) {
	base := baseTree()
	dirs := func(ds ...string) func(string) Spec {
		return func(root string) Spec {
			s := Spec{}
			for _, d := range ds {
				s.Dirs = append(s.Dirs, filepath.Join(root, d))
			}
			return s
		}
	}
	withSpec := func(f func(root string, s *Spec)) func(string) Spec {
		return func(root string) Spec {
			s := defaultSpec(root)
			f(root, &s)
			return s
		}
	}
	fifoAt := func(p string) func(*testing.T, string) {
		return func(t *testing.T, root string) { mustDo(t, mkfifo(filepath.Join(root, p))) }
	}
	tests := []struct {
		name string
		tree map[string]string
		prep func(t *testing.T, root string)
		spec func(root string) Spec
		want []string // substrings of the error or its hints
		hint bool     // whether it carries a hint
	}{
		{name: "nothing", spec: func(string) Spec { return Spec{} }, want: []string{"nothing to fingerprint"}, hint: true},
		{name: "unknown algorithm", spec: withSpec(func(_ string, s *Spec) { s.Algorithm = "v3" }), want: []string{`unknown fingerprint algorithm "v3"`, "v1, v2"}, hint: true},
		{name: "missing dir", tree: base, spec: withSpec(func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "nope")) }),
			want: []string{"reading definition directory", "nope", "no such file"}, hint: true},
		{name: "dir is a file", tree: base, spec: withSpec(func(root string, s *Spec) { s.Dirs = []string{filepath.Join(root, "ami/files/motd")} }),
			want: []string{"motd", "is not a directory"}, hint: true},
		{name: "empty dir", tree: with(base, "empty/", ""), spec: withSpec(func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "empty")) }),
			want: []string{"empty", "has no files to fingerprint"}, hint: true},
		{name: "only ignored files", tree: map[string]string{"d/.bakeryignore": "*\n", "d/a": "x"}, spec: dirs("d"),
			want: []string{"has no files to fingerprint", "does not leave out everything"}, hint: true},
		{name: "only .git", tree: map[string]string{"d/.git/HEAD": "x"}, spec: dirs("d"), want: []string{"has no files"}, hint: true},
		{name: "missing template", tree: base, spec: withSpec(func(root string, s *Spec) { s.Template = filepath.Join(root, "nope.pkr.hcl") }),
			want: []string{"reading packer template", "nope.pkr.hcl"}, hint: true},
		{name: "template is a fifo", tree: base, prep: fifoAt("t.pkr.hcl"), spec: withSpec(func(root string, s *Spec) { s.Template = filepath.Join(root, "t.pkr.hcl") }),
			want: []string{"t.pkr.hcl", "named pipe"}, hint: true},
		{name: "missing var-file", tree: base, spec: withSpec(func(root string, s *Spec) { s.VarFiles = []string{filepath.Join(root, "nope.hcl")} }),
			want: []string{`reading -var-file "`, "nope.hcl", "check the -var-file path"}, hint: true},
		{name: "var without =", tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"region"} }),
			want: []string{`-var "region"`, "name=value"}, hint: true},
		{name: "var without name", tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"=x"} }), want: []string{"name=value"}, hint: true},
		{name: "fifo", tree: base, prep: fifoAt("ami/files/pipe"), want: []string{"ami/files/pipe", "named pipe"}, hint: true},
		{name: "socket", tree: base, prep: func(t *testing.T, root string) {
			// Socket paths are short; listen from inside the directory.
			t.Chdir(filepath.Join(root, "ami"))
			l, err := net.Listen("unix", "sock")
			mustDo(t, err)
			t.Cleanup(func() { l.Close() })
		}, want: []string{"sock", "socket"}, hint: true},
		{name: "symlink escapes", tree: with(base, "secret", "x", "ami/link", "->../secret"),
			want: []string{`symlink "`, "ami/link", `"../secret"`, "outside its definition directory"}, hint: true},
		{name: "symlink escapes and returns", tree: with(base, "ami/link", "->../ami/files/motd"), want: []string{"outside its definition directory"}, hint: true},
		{name: "symlink chain escapes", tree: with(base, "ami/.bakeryignore", "ign/\n", "ami/a", "->ign/b", "ami/ign/b", "->../../packer"),
			want: []string{"ami/a", `"ign/b", which leads to "../../packer", outside`}, hint: true},
		{name: "symlink absolute", tree: with(base, "ami/link", "->/etc/passwd"), want: []string{"ami/link", "absolute path", "/etc/passwd"}, hint: true},
		{name: "symlink absolute via another", tree: with(base, "ami/.bakeryignore", "ign/\n", "ami/a", "->ign/b", "ami/ign/b", "->/etc"),
			want: []string{"ami/a", "leads to the absolute path"}, hint: true},
		{name: "symlink dangling", tree: with(base, "ami/link", "->nope"), want: []string{"ami/link", `"nope"`, "does not exist"}, hint: true},
		{name: "symlink through a file", tree: with(base, "ami/link", "->files/motd/x"), want: []string{"does not exist"}, hint: true},
		{name: "symlink loop", tree: with(base, "ami/a", "->b", "ami/b", "->a"), want: []string{"too many levels of symbolic links"}, hint: true},
		{name: "symlink self loop", tree: with(base, "ami/a", "->a"), want: []string{"too many levels"}, hint: true},
		{name: "symlink loop through dir", tree: with(base, "ami/d/x", "->../d/x"), want: []string{"too many levels"}, hint: true},
		{name: "symlink to ignored file", tree: with(base, "ami/.bakeryignore", "*.log\n", "ami/a.log", "x", "ami/link", "->a.log"),
			want: []string{"ami/link", "left out of the fingerprint"}, hint: true},
		{name: "symlink into .git", tree: with(base, "ami/.git/HEAD", "x", "ami/link", "->.git/HEAD"), want: []string{"left out of the fingerprint"}, hint: true},
		{name: "root symlink escapes", tree: with(base, "ami/up", "->.."), want: []string{"outside"}, hint: true},
		{name: "ignore file is a directory", tree: with(base, "ami/.bakeryignore/", ""), want: []string{"reading ignore file", "directory"}, hint: true},
		{name: "bad ignore file name", tree: base, spec: withSpec(func(_ string, s *Spec) { s.IgnoreFile = "a/b" }), want: []string{`invalid ignore file name "a/b"`}, hint: true},
		{name: "file vanishes", tree: base, spec: withSpec(func(_ string, s *Spec) {
			s.beforeOpen = func(p string) {
				if strings.HasSuffix(p, "motd") {
					os.Remove(p)
				}
			}
		}), want: []string{"ami/files/motd", "no such file", ""}, hint: true},
		// Files are opened relative to their directory; when it cannot be
		// opened, the whole path is, so the error is the same.
		{name: "directory vanishes", tree: base, spec: withSpec(func(_ string, s *Spec) {
			s.beforeOpen = func(p string) {
				if strings.HasSuffix(p, "motd") {
					os.RemoveAll(filepath.Dir(p))
				}
			}
		}), want: []string{"ami/files/motd", "no such file", ""}, hint: true},
		{name: "file becomes a fifo", tree: base, spec: withSpec(func(_ string, s *Spec) {
			s.beforeOpen = func(p string) {
				if strings.HasSuffix(p, "motd") {
					os.Remove(p)
					mkfifo(p)
				}
			}
		}), want: []string{"ami/files/motd", "named pipe"}, hint: true},
		{name: "file becomes a symlink", tree: base, spec: withSpec(func(_ string, s *Spec) {
			s.beforeOpen = func(p string) {
				if strings.HasSuffix(p, "motd") {
					os.Remove(p)
					os.Symlink("empty", p)
				}
			}
		}), want: []string{"ami/files/motd", "changed while it was fingerprinted"}, hint: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tt.tree)
			if tt.prep != nil {
				tt.prep(t, root)
			}
			spec := defaultSpec
			if tt.spec != nil {
				spec = tt.spec
			}
			s := spec(root)
			s.Workers = 1
			done := make(chan struct{})
			var (
				res Result
				err error
			)
			go func() {
				defer close(done)
				res, err = Compute(context.Background(), s)
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Compute hangs")
			}
			if err == nil {
				t.Fatalf("Compute succeeded with %s, want an error", res.Sum)
			}
			full := strings.Join(append([]string{err.Error()}, usererr.Hints(err)...), "\nhint: ")
			t.Log(full)
			for _, w := range tt.want {
				if !strings.Contains(full, w) {
					t.Errorf("error %q does not contain %q", full, w)
				}
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] || strings.HasSuffix(msg, ".") {
				t.Errorf("error %q: want lowercase, no final period", msg)
			}
			if hints := usererr.Hints(err); (len(hints) > 0) != tt.hint {
				t.Errorf("error %q: hints %q, want a hint: %v", err, hints, tt.hint)
			}
		})
	}
}

func TestUnreadableFile(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree())
	p := filepath.Join(root, "ami/files/motd")
	mustDo(t, os.Chmod(p, 0))
	if f, err := os.Open(p); err == nil {
		f.Close()
		t.Skip("running as a user who can read a mode-0 file (root)")
	}
	_, err := Compute(context.Background(), defaultSpec(root))
	if err == nil || !strings.Contains(err.Error(), "ami/files/motd") || !errors.Is(err, fs.ErrPermission) {
		t.Fatalf("err = %v, want a permission error naming the file", err)
	}
	if len(usererr.Hints(err)) == 0 {
		t.Errorf("no hint on %v", err)
	}
}

// TestFileErrorHints covers the classification that TestUnreadableFile
// cannot reach when the tests run as root.
func TestFileErrorHints(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.EACCES}, "make it readable"},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.ENOENT}, "vanished"},
		{errNotRegular{mode: fs.ModeNamedPipe}, "only regular files"},
		{errChanged, "run again"},
		{&fs.PathError{Op: "open", Path: "x", Err: syscall.ELOOP}, "run again"},
	}
	for _, tt := range tests {
		err := fileError(`"ami/x"`, false, tt.err)
		if !strings.Contains(err.Error(), `"ami/x"`) {
			t.Errorf("fileError(%v) = %q, does not name the file", tt.err, err)
		}
		if h := usererr.Hints(err); len(h) != 1 || !strings.Contains(h[0], tt.want) {
			t.Errorf("fileError(%v) hints = %q, want %q", tt.err, h, tt.want)
		}
	}
}

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		in      string
		want    Algorithm
		wantErr bool
	}{
		{"v1", V1, false},
		{"v2", V2, false},
		{"", "", true},
		{"V2", "", true},
		{"v3", "", true},
	}
	for _, tt := range tests {
		got, err := ParseAlgorithm(tt.in)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "v1, v2") {
			t.Errorf("ParseAlgorithm(%q) error %q does not name the valid algorithms", tt.in, err)
		}
	}
	if Default != V2 {
		t.Errorf("Default = %q", Default)
	}
}
