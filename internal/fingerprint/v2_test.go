package fingerprint

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// baseTree is a small definition: a template next to an ami directory.
func baseTree() map[string]string {
	return map[string]string{
		"packer/ami.pkr.hcl":    "source \"amazon-ebs\" \"x\" {}\n",
		"ami/scripts/setup.sh*": "#!/bin/sh\necho setup\n",
		"ami/files/motd":        "hello\n",
		"ami/files/empty":       "",
	}
}

// with returns a copy of m with the pairs set; a value of "\x00del" deletes.
func with(m map[string]string, kv ...string) map[string]string {
	out := maps.Clone(m)
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "\x00del" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

const del = "\x00del"

// side is one definition to fingerprint: a tree written under a fresh
// temporary directory, and the Spec for it (by default the template and the
// ami directory).
type side struct {
	tree map[string]string
	prep func(t *testing.T, root string)
	spec func(root string) Spec
}

func defaultSpec(root string) Spec {
	return Spec{Template: filepath.Join(root, "packer/ami.pkr.hcl"), Dirs: []string{filepath.Join(root, "ami")}}
}

func (s side) compute(t *testing.T) Result {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, s.tree)
	if s.prep != nil {
		s.prep(t, root)
	}
	spec := defaultSpec
	if s.spec != nil {
		spec = s.spec
	}
	return compute(t, spec(root))
}

func TestV2Rules(t *testing.T) {
	base := baseTree()
	dirsOnly := func(dirs ...string) func(string) Spec {
		return func(root string) Spec {
			s := Spec{}
			for _, d := range dirs {
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
	tests := []struct {
		name string
		a, b side
		same bool
	}{
		{"same tree in two locations", side{tree: base}, side{tree: base}, true},
		{"same tree at another depth", side{tree: base}, side{
			tree: prefixKeys("deep/er/", base),
			spec: func(root string) Spec { return defaultSpec(filepath.Join(root, "deep/er")) },
		}, true},
		{"relative paths in the spec", side{tree: base}, side{tree: base, spec: func(root string) Spec {
			t.Chdir(root)
			return Spec{Template: "packer/ami.pkr.hcl", Dirs: []string{"./ami/"}}
		}}, true},
		{"one byte changed", side{tree: base}, side{tree: with(base, "ami/files/motd", "hellO\n")}, false},
		{"byte appended", side{tree: base}, side{tree: with(base, "ami/files/empty", "\n")}, false},
		{"chmod +x", side{tree: base}, side{tree: with(base, "ami/files/motd", del, "ami/files/motd*", "hello\n")}, false},
		{"chmod -x", side{tree: base}, side{tree: with(base, "ami/scripts/setup.sh*", del, "ami/scripts/setup.sh", "#!/bin/sh\necho setup\n")}, false},
		{"group and other bits do not count", side{tree: base}, side{tree: base, prep: func(t *testing.T, root string) {
			mustDo(t, os.Chmod(filepath.Join(root, "ami/files/motd"), 0o600))
			mustDo(t, os.Chmod(filepath.Join(root, "ami/scripts/setup.sh"), 0o751))
		}}, true},
		{"rename", side{tree: base}, side{tree: with(base, "ami/files/motd", del, "ami/files/motd2", "hello\n")}, false},
		{"move to another directory", side{tree: base}, side{tree: with(base, "ami/files/motd", del, "ami/motd", "hello\n")}, false},
		{"content moved between files", side{tree: with(base, "ami/x", "ab", "ami/y", "")}, side{tree: with(base, "ami/x", "a", "ami/y", "b")}, false},
		{"file added", side{tree: base}, side{tree: with(base, "ami/new", "")}, false},
		{"empty directory does not count", side{tree: base}, side{tree: with(base, "ami/nothing/", "")}, true},
		{".git directory ignored", side{tree: base}, side{tree: with(base, "ami/.git/HEAD", "ref: main\n", "ami/sub/.git/config", "x")}, true},
		{".git file ignored", side{tree: base}, side{tree: with(base, "ami/.git", "gitdir: ../.git/worktrees/x\n")}, true},
		{"other hidden files count", side{tree: base}, side{tree: with(base, "ami/.env", "A=1\n")}, false},
		{"ignored file added", side{tree: with(base, "ami/.bakeryignore", "*.log\n")}, side{tree: with(base, "ami/.bakeryignore", "*.log\n", "ami/debug.log", "x", "ami/scripts/x.log", "y")}, true},
		{"ignored dir added", side{tree: with(base, "ami/.bakeryignore", "/build/\n")}, side{tree: with(base, "ami/.bakeryignore", "/build/\n", "ami/build/a/b", "x")}, true},
		{"negation cannot re-include under ignored dir", side{tree: with(base, "ami/.bakeryignore", "build/\n!build/keep\n")}, side{tree: with(base, "ami/.bakeryignore", "build/\n!build/keep\n", "ami/build/keep", "x")}, true},
		{"negation re-includes", side{tree: with(base, "ami/.bakeryignore", "*.log\n!keep.log\n")}, side{tree: with(base, "ami/.bakeryignore", "*.log\n!keep.log\n", "ami/keep.log", "x")}, false},
		{"ignore file is part of the sum", side{tree: with(base, "ami/.bakeryignore", "*.log\n")}, side{tree: with(base, "ami/.bakeryignore", "*.log\n*.tmp\n")}, false},
		{"ignore file cannot ignore itself", side{tree: with(base, "ami/.bakeryignore", ".bakery*\n")}, side{tree: with(base, "ami/.bakeryignore", ".bakery*\n\n")}, false},
		{"nested ignore file is an ordinary file", side{tree: with(base, "ami/files/.bakeryignore", "motd\n")}, side{tree: with(base, "ami/files/.bakeryignore", "motd\n", "ami/files/motd", "changed")}, false},
		{"custom ignore file name", side{tree: with(base, "ami/.ignore", "*.log\n"), spec: withSpec(func(_ string, s *Spec) { s.IgnoreFile = ".ignore" })},
			side{tree: with(base, "ami/.ignore", "*.log\n", "ami/x.log", "x"), spec: withSpec(func(_ string, s *Spec) { s.IgnoreFile = ".ignore" })}, true},
		{"template change", side{tree: base}, side{tree: with(base, "packer/ami.pkr.hcl", "source \"amazon-ebs\" \"y\" {}\n")}, false},
		{"template rename", side{tree: base}, side{tree: with(base, "packer/ami.pkr.hcl", del, "packer/b.pkr.hcl", base["packer/ami.pkr.hcl"]),
			spec: withSpec(func(root string, s *Spec) { s.Template = filepath.Join(root, "packer/b.pkr.hcl") })}, false},
		{"template moved relative to dirs", side{tree: base}, side{tree: with(base, "packer/ami.pkr.hcl", del, "packer/x/ami.pkr.hcl", base["packer/ami.pkr.hcl"]),
			spec: withSpec(func(root string, s *Spec) { s.Template = filepath.Join(root, "packer/x/ami.pkr.hcl") })}, false},
		{"dirs order", side{tree: with(base, "base/b", "b"), spec: withSpec(func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "base")) })},
			side{tree: with(base, "base/b", "b"), spec: withSpec(func(root string, s *Spec) { s.Dirs = []string{filepath.Join(root, "base"), filepath.Join(root, "ami")} })}, true},
		{"dir given twice", side{tree: base}, side{tree: base, spec: withSpec(func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "ami")+"/") })}, true},
		{"dirs without template, order", side{tree: with(base, "base/b", "b"), spec: dirsOnly("ami", "base")}, side{tree: with(base, "base/b", "b"), spec: dirsOnly("base", "ami")}, true},
		{"dirs without template, another name", side{tree: base, spec: dirsOnly("ami")}, side{tree: prefixKeys("x/", base), spec: dirsOnly("x/ami")}, true},
		{"file moved between dirs", side{tree: with(base, "base/b", "b"), spec: withSpec(func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "base")) })},
			side{tree: with(base, "base/b", del, "ami/b", "b", "base/c", ""), spec: withSpec(func(root string, s *Spec) { s.Dirs = append(s.Dirs, filepath.Join(root, "base")) })}, false},
		{"vars order", side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=1", "b=2"} })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"b=2", "a=1"} })}, true},
		{"var given twice, last wins", side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=1", "a=2"} })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=2"} })}, true},
		{"var given twice, order counts", side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=1", "a=2"} })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=2", "a=1"} })}, false},
		{"var value", side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=1"} })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=2"} })}, false},
		{"var value with =", side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=b=c"} })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a=b"} })}, false},
		{"var added", side{tree: base}, side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"a="} })}, false},
		{"var-file content", side{tree: with(base, "v.pkrvars.hcl", "a = 1\n"), spec: withSpec(func(root string, s *Spec) { s.VarFiles = []string{filepath.Join(root, "v.pkrvars.hcl")} })},
			side{tree: with(base, "v.pkrvars.hcl", "a = 2\n"), spec: withSpec(func(root string, s *Spec) { s.VarFiles = []string{filepath.Join(root, "v.pkrvars.hcl")} })}, false},
		{"var-file location does not count", side{tree: with(base, "v.pkrvars.hcl", "a = 1\n"), spec: withSpec(func(root string, s *Spec) { s.VarFiles = []string{filepath.Join(root, "v.pkrvars.hcl")} })},
			side{tree: with(base, "elsewhere/v.pkrvars.hcl", "a = 1\n"), spec: withSpec(func(root string, s *Spec) { s.VarFiles = []string{filepath.Join(root, "elsewhere/v.pkrvars.hcl")} })}, true},
		{"var-file order counts", side{tree: with(base, "1.hcl", "a = 1\n", "2.hcl", "a = 2\n"), spec: withSpec(func(root string, s *Spec) {
			s.VarFiles = []string{filepath.Join(root, "1.hcl"), filepath.Join(root, "2.hcl")}
		})},
			side{tree: with(base, "1.hcl", "a = 1\n", "2.hcl", "a = 2\n"), spec: withSpec(func(root string, s *Spec) {
				s.VarFiles = []string{filepath.Join(root, "2.hcl"), filepath.Join(root, "1.hcl")}
			})}, false},
		{"var-file versus var", side{tree: with(base, "v.hcl", ""), spec: withSpec(func(root string, s *Spec) { s.VarFiles = []string{filepath.Join(root, "v.hcl")} })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Vars = []string{"v.hcl="} })}, false},
		{"symlink inside root", side{tree: base}, side{tree: with(base, "ami/link", "->files/motd")}, false},
		{"symlink target text", side{tree: with(base, "ami/link", "->files/motd")}, side{tree: with(base, "ami/link", "->files/empty")}, false},
		{"symlink versus copy", side{tree: with(base, "ami/link", "->files/motd")}, side{tree: with(base, "ami/link", "hello\n")}, false},
		{"symlink to dir is recorded, not entered", side{tree: with(base, "ami/files/up", "->..")}, side{tree: with(base, "ami/files/up", "->..")}, true},
		{"template directory", side{tree: with(base, "packer/vars.pkr.hcl", "x"), spec: withSpec(func(root string, s *Spec) { s.Template = filepath.Join(root, "packer") })},
			side{tree: with(base, "packer/vars.pkr.hcl", "y"), spec: withSpec(func(root string, s *Spec) { s.Template = filepath.Join(root, "packer") })}, false},
		{"template inside a dir", side{tree: base, spec: func(root string) Spec {
			return Spec{Template: filepath.Join(root, "packer/ami.pkr.hcl"), Dirs: []string{root}}
		}},
			side{tree: base, spec: func(root string) Spec {
				return Spec{Template: filepath.Join(root, "packer/ami.pkr.hcl"), Dirs: []string{root}}
			}}, true},
		{"non-UTF-8 names", side{tree: with(base, "ami/\xff\xfe", "x")}, side{tree: with(base, "ami/\xff\xfd", "x")}, false},
		{"workers 1 and 8", side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Workers = 1 })},
			side{tree: base, spec: withSpec(func(_ string, s *Spec) { s.Workers = 8 })}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.a.compute(t), tt.b.compute(t)
			if (a.Sum == b.Sum) != tt.same {
				t.Errorf("sums equal = %v, want %v\na: %s\n%sb: %s\n%s", a.Sum == b.Sum, tt.same, a.Sum, dumpInputs(a.Inputs), b.Sum, dumpInputs(b.Inputs))
			}
			for _, r := range []Result{a, b} {
				if r.Algorithm != V2 || len(r.Sum) != 64 || strings.ToLower(r.Sum) != r.Sum {
					t.Errorf("result %q %q: want a lowercase hex v2 sum", r.Algorithm, r.Sum)
				}
			}
		})
	}
}

// prefixKeys moves every path of m under prefix.
func prefixKeys(prefix string, m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[prefix+k] = v
	}
	return out
}

func TestV2Inputs(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, with(baseTree(),
		"ami/.bakeryignore", "*.log\n",
		"ami/x.log", "ignored",
		"ami/link", "->files/motd",
		"ami/.git/HEAD", "x",
		"v.pkrvars.hcl", "a = 1\n",
		"w.pkrvars.hcl", "b = 1\n",
	))
	res := compute(t, Spec{
		Template: filepath.Join(root, "packer/ami.pkr.hcl"),
		Dirs:     []string{filepath.Join(root, "ami")},
		VarFiles: []string{filepath.Join(root, "w.pkrvars.hcl"), filepath.Join(root, "v.pkrvars.hcl")},
		Vars:     []string{"z=1", "region=eu-west-1"},
	})
	type key struct{ Kind, Root, Path string }
	var got []key
	for _, in := range res.Inputs {
		got = append(got, key{in.Kind, in.Root, in.Path})
	}
	want := []key{
		{KindTemplate, ".", "ami.pkr.hcl"},
		{KindVarFile, "", "w.pkrvars.hcl"},
		{KindVarFile, "", "v.pkrvars.hcl"},
		{KindVar, "", "region"},
		{KindVar, "", "z"},
		{KindFile, "../ami", ".bakeryignore"},
		{KindFile, "../ami", "files/empty"},
		{KindFile, "../ami", "files/motd"},
		{KindSymlink, "../ami", "link"},
		{KindFile, "../ami", "scripts/setup.sh"},
	}
	if len(got) != len(want) {
		t.Fatalf("inputs:\n%s want %v", dumpInputs(res.Inputs), want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("input %d = %v, want %v", i, got[i], want[i])
		}
	}
	byPath := map[string]Input{}
	for _, in := range res.Inputs {
		byPath[in.Path] = in
	}
	if in := byPath["scripts/setup.sh"]; !in.Executable || in.Size != int64(len("#!/bin/sh\necho setup\n")) {
		t.Errorf("setup.sh = %+v, want executable with its size", in)
	}
	// sha256 of "hello\n" and of "" (sha256sum).
	if h := byPath["files/motd"].Hash; h != "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03" {
		t.Errorf("motd hash = %s", h)
	}
	if h := byPath["files/empty"].Hash; h != "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty hash = %s", h)
	}
	// The symlink's hash covers its target text: printf files/motd | sha256sum.
	if in := byPath["link"]; in.Size != int64(len("files/motd")) || in.Hash != "a3aa21b5c8c68fb55af5963d461c699107440c31026275757a33b6e7fed566be" {
		t.Errorf("link = %+v", in)
	}

	// The sum is the SHA-256 of the manifest of the inputs.
	var m bytes.Buffer
	mustDo(t, writeManifest(&m, res.Inputs))
	if got := manifestSum(res.Inputs); got != res.Sum {
		t.Errorf("manifestSum = %s, Sum = %s", got, res.Sum)
	}
	if !bytes.HasPrefix(m.Bytes(), []byte("ami-bakery fingerprint v2\n8:template,1:.,11:ami.pkr.hcl,1:-,64:")) {
		t.Errorf("manifest starts %q", m.Bytes()[:80])
	}
	if !bytes.Contains(m.Bytes(), []byte("\n4:file,6:../ami,16:scripts/setup.sh,1:x,64:")) {
		t.Errorf("manifest has no executable setup.sh line:\n%s", m.Bytes())
	}
}

// TestManifestUnambiguous checks that inputs whose fields would run
// together if simply concatenated still give different manifests.
func TestManifestUnambiguous(t *testing.T) {
	h := strings.Repeat("0", 64)
	lists := [][]Input{
		{{Kind: KindFile, Root: "a", Path: "b/c", Hash: h}},
		{{Kind: KindFile, Root: "a/b", Path: "c", Hash: h}},
		{{Kind: KindFile, Root: "a", Path: "b,1:c", Hash: h}},
		{{Kind: KindFile, Root: "a", Path: "b\n4:file", Hash: h}},
		{{Kind: KindFile, Root: "a", Path: "b", Hash: h}, {Kind: KindFile, Root: "a", Path: "c", Hash: h}},
		{{Kind: KindFile, Root: "a", Path: "b", Hash: h, Executable: true}},
		{{Kind: KindSymlink, Root: "a", Path: "b", Hash: h}},
	}
	seen := map[string]int{}
	for i, l := range lists {
		s := manifestSum(l)
		if j, ok := seen[s]; ok {
			t.Errorf("lists %d and %d have the same sum", j, i)
		}
		seen[s] = i
	}
}

func TestV2Cancel(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Compute(ctx, defaultSpec(root))
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Compute with a canceled context: err = %v", err)
	}

	// Cancelled while hashing: the first file to be opened cancels.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	s := defaultSpec(root)
	s.beforeOpen = func(string) { cancel() }
	if _, err := Compute(ctx, s); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Compute cancelled while hashing: err = %v", err)
	}
}

// The files ami-bakery writes (.ami_id.json beside a template that lies in
// a definition directory) must not change the fingerprint, or every bake
// would see a new definition and build again.
func TestV2Exclude(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"packer/ami.json": "{}", "scripts/a.sh": "echo"})
	s := Spec{Template: filepath.Join(dir, "packer/ami.json"), Dirs: []string{dir},
		Exclude: []string{filepath.Join(dir, "packer/.ami_id.json")}}
	before := compute(t, s)
	writeTree(t, dir, map[string]string{"packer/.ami_id.json": `{"ami_id": "ami-1"}`})
	if after := compute(t, s); after.Sum != before.Sum {
		t.Errorf("writing an excluded file changed the sum:\n%s", dumpInputs(after.Inputs))
	}
	s.Exclude = nil
	if after := compute(t, s); after.Sum == before.Sum {
		t.Errorf("without Exclude the same file must count")
	}
}
