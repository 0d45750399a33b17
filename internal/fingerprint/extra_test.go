package fingerprint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// eksTree is an EKS-like definition: a JSON template in eks/ whose scripts
// live in shared/, beside it, outside the definition directory eks/.
func eksTree() map[string]string {
	return map[string]string{
		"eks/eks.json":                 `{"builders": [{"type": "amazon-ebs"}]}` + "\n",
		"eks/files/bootstrap.sh*":      "#!/bin/sh\n",
		"shared/install-worker.sh*":    "#!/bin/sh\necho install\n",
		"shared/files/kubelet.service": "[Unit]\n",
		"shared/files/docker.json":     "{}\n",
		"elsewhere/unused.txt":         "not used\n",
	}
}

// eksSpec fingerprints eks/ and the template, with extra roots under root.
func eksSpec(extra ...string) func(root string) Spec {
	return func(root string) Spec {
		s := Spec{Template: filepath.Join(root, "eks/eks.json"), Dirs: []string{filepath.Join(root, "eks")}}
		for _, x := range extra {
			s.Extra = append(s.Extra, ExtraRoot{Path: filepath.Join(root, x), Pos: "eks.json:9"})
		}
		return s
	}
}

func TestV2ExtraRules(t *testing.T) {
	base := eksTree()
	withSpec := func(spec func(string) Spec, f func(root string, s *Spec)) func(string) Spec {
		return func(root string) Spec {
			s := spec(root)
			f(root, &s)
			return s
		}
	}
	script, dir := eksSpec("shared/install-worker.sh"), eksSpec("shared/files")
	both := eksSpec("shared/install-worker.sh", "shared/files")
	tests := []struct {
		name string
		a, b side
		same bool
	}{
		{"no extra is the old sum", side{tree: base, spec: eksSpec()}, side{tree: base, spec: func(root string) Spec {
			s := eksSpec()(root)
			s.Extra, s.Only, s.Except = []ExtraRoot{}, []string{}, nil
			return s
		}}, true},
		{"an extra file counts", side{tree: base, spec: eksSpec()}, side{tree: base, spec: script}, false},
		{"an extra directory counts", side{tree: base, spec: eksSpec()}, side{tree: base, spec: dir}, false},
		{"same tree elsewhere (a clone)", side{tree: base, spec: both}, side{tree: prefixKeys("clone/x/", base), spec: func(root string) Spec {
			return both(filepath.Join(root, "clone/x"))
		}}, true},
		{"extra file content", side{tree: base, spec: script}, side{tree: with(base, "shared/install-worker.sh*", "#!/bin/sh\necho other\n"), spec: script}, false},
		{"extra file mode", side{tree: base, spec: script}, side{tree: with(base, "shared/install-worker.sh*", del, "shared/install-worker.sh", "#!/bin/sh\necho install\n"), spec: script}, false},
		{"extra file moved relative to the template", side{tree: base, spec: script},
			side{tree: with(base, "shared/install-worker.sh*", del, "shared2/install-worker.sh*", "#!/bin/sh\necho install\n"), spec: eksSpec("shared2/install-worker.sh")}, false},
		{"file added to an extra directory", side{tree: base, spec: dir}, side{tree: with(base, "shared/files/new", ""), spec: dir}, false},
		{"file changed in an extra directory", side{tree: base, spec: dir}, side{tree: with(base, "shared/files/docker.json", "{ }\n"), spec: dir}, false},
		{"file beside an extra directory does not count", side{tree: base, spec: dir}, side{tree: with(base, "shared/other.sh", ""), spec: dir}, true},
		{"an extra directory's ignore file applies", side{tree: with(base, "shared/files/.bakeryignore", "*.log\n"), spec: dir},
			side{tree: with(base, "shared/files/.bakeryignore", "*.log\n", "shared/files/x.log", "x"), spec: dir}, true},
		{".git in an extra directory is left out", side{tree: base, spec: dir}, side{tree: with(base, "shared/files/.git/HEAD", "x"), spec: dir}, true},
		{"symlink in an extra directory", side{tree: base, spec: dir}, side{tree: with(base, "shared/files/link", "->docker.json"), spec: dir}, false},
		{"extra order does not count", side{tree: base, spec: eksSpec("shared/files", "shared/install-worker.sh")}, side{tree: base, spec: both}, true},
		{"extra given twice counts once", side{tree: base, spec: script}, side{tree: base, spec: eksSpec("shared/install-worker.sh", "shared/./install-worker.sh")}, true},
		{"a file inside an extra directory counts once", side{tree: base, spec: dir}, side{tree: base, spec: eksSpec("shared/files", "shared/files/docker.json")}, true},
		{"an extra directory that is a definition directory counts once", side{tree: base, spec: eksSpec()}, side{tree: base, spec: eksSpec("eks")}, true},
		{"an extra file versus the same in a definition directory", side{tree: base, spec: script},
			side{tree: base, spec: withSpec(eksSpec(), func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "shared")) })}, false},
		{"the position is not hashed", side{tree: base, spec: script}, side{tree: base, spec: withSpec(script, func(_ string, s *Spec) { s.Extra[0].Pos = "elsewhere:1" })}, true},
		{"an empty extra directory adds nothing", side{tree: base, spec: eksSpec()}, side{tree: with(base, "shared/empty/", ""), spec: eksSpec("shared/empty")}, true},
		{"a relative extra path", side{tree: base, spec: script}, side{tree: base, spec: func(root string) Spec {
			t.Chdir(root)
			return Spec{Template: "eks/eks.json", Dirs: []string{"eks"}, Extra: []ExtraRoot{{Path: "shared/install-worker.sh"}}}
		}}, true},
		{"excluded extra file", side{tree: base, spec: eksSpec()}, side{tree: base, spec: withSpec(script, func(root string, s *Spec) {
			s.Exclude = []string{filepath.Join(root, "shared/install-worker.sh")}
		})}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.a.compute(t), tt.b.compute(t)
			if (a.Sum == b.Sum) != tt.same {
				t.Errorf("sums equal = %v, want %v\na: %s\n%sb: %s\n%s", a.Sum == b.Sum, tt.same, a.Sum, dumpInputs(a.Inputs), b.Sum, dumpInputs(b.Inputs))
			}
		})
	}
}

func TestV2SelectionRules(t *testing.T) {
	base := baseTree()
	sel := func(only, except []string) side {
		return side{tree: base, spec: func(root string) Spec {
			s := defaultSpec(root)
			s.Only, s.Except = only, except
			return s
		}}
	}
	tests := []struct {
		name string
		a, b side
		same bool
	}{
		{"no selection is the old sum", side{tree: base}, sel([]string{}, []string{}), true},
		{"a selection counts", side{tree: base}, sel([]string{"amazon-ebs.x"}, nil), false},
		{"only order and duplicates do not count", sel([]string{"a", "b"}, nil), sel([]string{"b", "a", "b"}, nil), true},
		{"except order does not count", sel(nil, []string{"a", "b"}), sel(nil, []string{"b", "a"}), true},
		{"only versus except", sel([]string{"a"}, nil), sel(nil, []string{"a"}), false},
		{"other names", sel([]string{"a"}, nil), sel([]string{"b"}, nil), false},
		{"names do not run together", sel([]string{"a", "b"}, nil), sel([]string{"a,b"}, nil), false},
		{"a name in both", sel([]string{"a"}, []string{"a"}), sel([]string{"a"}, nil), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.a.compute(t), tt.b.compute(t)
			if (a.Sum == b.Sum) != tt.same {
				t.Errorf("sums equal = %v, want %v\na: %s\n%sb: %s\n%s", a.Sum == b.Sum, tt.same, a.Sum, dumpInputs(a.Inputs), b.Sum, dumpInputs(b.Inputs))
			}
		})
	}
}

// TestV2ExtraManifest pins the new manifest lines: kinds, labels relative
// to the template's directory, their place after every older line, the
// position carried but not written.
func TestV2ExtraManifest(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, with(eksTree(), "shared/files/link", "->docker.json"))
	s := eksSpec("shared/install-worker.sh", "shared/files")(root)
	s.Only, s.Except = []string{"ubuntu", "amazon-linux"}, []string{"gpu"}
	s.Parent = strings.Repeat("ab", 32)
	res := compute(t, s)
	var m bytes.Buffer
	mustDo(t, writeManifest(&m, res.Inputs))
	h := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	want := "ami-bakery fingerprint v2\n" +
		"8:template,1:.,8:eks.json,1:-,64:" + h(`{"builders": [{"type": "amazon-ebs"}]}`+"\n") + ",\n" +
		"6:parent,0:,11:fingerprint,1:-,64:" + s.Parent + ",\n" +
		"4:file,1:.,8:eks.json,1:-,64:" + h(`{"builders": [{"type": "amazon-ebs"}]}`+"\n") + ",\n" +
		"4:file,1:.,18:files/bootstrap.sh,1:x,64:" + h("#!/bin/sh\n") + ",\n" +
		"5:input,9:../shared,17:install-worker.sh,1:x,64:" + h("#!/bin/sh\necho install\n") + ",\n" +
		"5:input,15:../shared/files,11:docker.json,1:-,64:" + h("{}\n") + ",\n" +
		"5:input,15:../shared/files,15:kubelet.service,1:-,64:" + h("[Unit]\n") + ",\n" +
		"13:input-symlink,15:../shared/files,4:link,1:-,64:" + h("docker.json") + ",\n" +
		"4:only,0:,12:amazon-linux,1:-,64:" + h("amazon-linux") + ",\n" +
		"4:only,0:,6:ubuntu,1:-,64:" + h("ubuntu") + ",\n" +
		"6:except,0:,3:gpu,1:-,64:" + h("gpu") + ",\n"
	if m.String() != want {
		t.Errorf("manifest:\n%s\nwant\n%s", m.String(), want)
	}
	for _, in := range res.Inputs {
		if (in.Kind == KindInput || in.Kind == KindInputSymlink) != (in.Pos == "eks.json:9") {
			t.Errorf("input %+v: Pos", in)
		}
	}
}

// TestV2ExtraErrors: a missing extra path or a special file is an error
// naming where the template uses it.
func TestV2ExtraErrors(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, eksTree())
	s := eksSpec("shared/missing.sh")(root)
	_, err := Compute(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "which the template uses at eks.json:9") || len(usererr.Hints(err)) == 0 {
		t.Errorf("missing: err = %v, hints %q", err, usererr.Hints(err))
	}
	// A fifo is refused; a platform without fifos (mkfifo is
	// ErrUnsupported there, never on Linux) checks the rest.
	switch err := mkfifo(filepath.Join(root, "shared/fifo")); {
	case errors.Is(err, errors.ErrUnsupported):
	case err != nil:
		t.Fatal(err)
	default:
		if _, err := Compute(context.Background(), eksSpec("shared/fifo")(root)); err == nil || !strings.Contains(err.Error(), "fifo") {
			t.Errorf("fifo: err = %v", err)
		}
	}
	// V1 ignores the extra roots and the selection, as the original did.
	v1 := eksSpec("shared/missing.sh")(root)
	v1.Algorithm, v1.Only = V1, []string{"x"}
	plain := eksSpec()(root)
	plain.Algorithm = V1
	if a, b := compute(t, v1), compute(t, plain); a.Sum != b.Sum {
		t.Errorf("v1 with extra roots %s, without %s", a.Sum, b.Sum)
	}
}

func TestInside(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, with(eksTree(),
		"eks/.bakeryignore", "/build/\n*.log\n",
		"eks/build/out.json", "x",
		"eks/debug.log", "x",
		"eks/sub/x", "x",
		"eks/.git/HEAD", "x",
		"eks/link", "->sub",
	))
	s := eksSpec()(root)
	for _, c := range []struct {
		path string
		want bool
	}{
		{"eks", true},
		{"eks/sub", true},
		{"eks/sub/x", true},
		{"eks/files/bootstrap.sh", true},
		{"eks/eks.json", true},
		{"eks/build", false},
		{"eks/build/out.json", false},
		{"eks/debug.log", false},
		{"eks/.git", false},
		{"shared", false},
		{"shared/install-worker.sh", false},
		{"eks/../shared/files", false},
		{"eks/link/x", true}, // through a symlink inside the directory
		{".", false},
		{"eks/missing.sh", true}, // it would be hashed once written
	} {
		got, err := Inside(s, filepath.Join(root, c.path))
		if err != nil || got != c.want {
			t.Errorf("Inside(%s) = %v, %v; want %v", c.path, got, err, c.want)
		}
	}
	// A directory template is a definition root of its own.
	writeTree(t, root, map[string]string{"hcl/a.pkr.hcl": "", "hcl/scripts/a.sh": ""})
	d := Spec{Template: filepath.Join(root, "hcl")}
	if got, _ := Inside(d, filepath.Join(root, "hcl/scripts")); !got {
		t.Error("a directory of a directory template is inside")
	}
}

// TestInputOfExtra: writing into an extra root changes the fingerprint, so
// InputOf names it.
func TestInputOfExtra(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, eksTree())
	s := eksSpec("shared/install-worker.sh", "shared/files")(root)
	for _, c := range []struct {
		path, want string
	}{
		{"shared/install-worker.sh", "a file the template uses at eks.json:9"},
		{"shared/files/new.json", "a file of " + filepath.Join(root, "shared/files") + ", which the template uses at eks.json:9"},
		{"shared/other.sh", ""},
	} {
		got, err := InputOf(s, filepath.Join(root, c.path))
		if err != nil || got != c.want {
			t.Errorf("InputOf(%s) = %q, %v; want %q", c.path, got, err, c.want)
		}
	}
	v1 := s
	v1.Algorithm = V1
	if got, _ := InputOf(v1, filepath.Join(root, "shared/install-worker.sh")); got != "" {
		t.Errorf("v1: InputOf = %q, want no input", got)
	}
}

func TestGroupsExtraAndSelection(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, eksTree())
	s := eksSpec("shared/install-worker.sh", "shared/files")(root)
	plain := GroupsOf(compute(t, eksSpec()(root)))
	if got := strings.Join(plain.Keys, ","); got != "t,d0" {
		t.Fatalf("keys without extra roots %s", got)
	}
	s.Only = []string{"a"}
	g := GroupsOf(compute(t, s))
	if got := strings.Join(g.Keys, ","); got != "t,d0,i0,i1,s" {
		t.Fatalf("keys %s", got)
	}
	if g.Roots["i0"] != "../shared" || g.Roots["i1"] != "../shared/files" {
		t.Errorf("roots %v", g.Roots)
	}
	for k, h := range plain.Hashes {
		if g.Hashes[k] != h {
			t.Errorf("group %s changed with extra roots: %s -> %s", k, h, g.Hashes[k])
		}
	}
	writeTree(t, root, map[string]string{"shared/files/docker.json": "{ }\n"})
	s.Only = []string{"b"}
	g2 := GroupsOf(compute(t, s))
	for _, k := range g.Keys {
		if (g.Hashes[k] != g2.Hashes[k]) != (k == "i1" || k == "s") {
			t.Errorf("group %s: %s -> %s", k, g.Hashes[k], g2.Hashes[k])
		}
	}
	// Too many roots for a tag: one "i", after one "d".
	var res Result
	for i := range 30 {
		res.Inputs = append(res.Inputs, Input{Kind: KindFile, Root: string(rune('a' + i)), Path: "f", Hash: "x"})
		res.Inputs = append(res.Inputs, Input{Kind: KindInput, Root: string(rune('A' + i)), Path: "f", Hash: "x"})
	}
	if g := GroupsOf(res); strings.Join(g.Keys, ",") != "d,i" || len(g.String()) > 256 {
		t.Errorf("collapsed keys %v (%d chars)", g.Keys, len(g.String()))
	}
}
