package fingerprint

import (
	"path/filepath"
	"testing"
)

// TestV2Golden pins the v2 format: fixed trees, templates and variables and
// their exact sums. A change of any sum here changes every AMI's fingerprint
// (every definition builds once more), so it must be deliberate: a new
// algorithm name, not an edit of v2. The trees cover the template, a
// directory template, var files in order, vars (the last value of a name
// wins), executable bits, symlinks, nested paths, an ignore file, and two
// directories holding the same relative path.
func TestV2Golden(t *testing.T) {
	for _, tt := range v2Golden {
		root := t.TempDir()
		writeTree(t, root, tt.tree)
		res := compute(t, tt.spec(root))
		if res.Sum != tt.want {
			t.Errorf("%s: sum %s, want %s; inputs:\n%s", tt.name, res.Sum, tt.want, dumpInputs(res.Inputs))
		}
	}
}

// TestV2GoldenWithoutNewInputs: the inputs added since (extra roots, the
// build selection), given empty, leave every earlier golden sum as it was.
func TestV2GoldenWithoutNewInputs(t *testing.T) {
	for _, tt := range v2Golden {
		if tt.added {
			continue
		}
		root := t.TempDir()
		writeTree(t, root, tt.tree)
		s := tt.spec(root)
		s.Extra, s.Only, s.Except = []ExtraRoot{}, []string{}, []string{}
		if res := compute(t, s); res.Sum != tt.want {
			t.Errorf("%s: with empty Extra, Only and Except the sum is %s, want %s", tt.name, res.Sum, tt.want)
		}
	}
}

// v2Golden are the golden vectors of TestV2Golden; added marks those of
// inputs added to v2 later, whose specs had no sum before.
var v2Golden = []struct {
	name  string
	tree  map[string]string
	spec  func(root string) Spec
	want  string
	added bool
}{
	{"template and one directory", map[string]string{
		"packer/ami.json": `{"builders": []}` + "\n",
		"ami/setup.sh*":   "#!/bin/sh\necho hi\n",
		"ami/files/motd":  "hello\n",
		"ami/empty":       "",
	}, func(root string) Spec {
		return Spec{Template: filepath.Join(root, "packer/ami.json"), Dirs: []string{filepath.Join(root, "ami")}}
	}, "67a450ee3089c84a71131176450f13e4c79c3e0fa250a5c1f59722a27a8182c8", false},
	{"vars, var files, symlink, ignore file", map[string]string{
		"packer/ami.pkr.hcl": "source \"amazon-ebs\" \"x\" {}\n",
		"ami/.bakeryignore":  "*.log\n",
		"ami/debug.log":      "left out\n",
		"ami/link":           "->files/a",
		"ami/files/a":        "a\n",
		"one.pkrvars.hcl":    "a = 1\n",
		"two.pkrvars.hcl":    "a = 2\n",
	}, func(root string) Spec {
		return Spec{
			Template: filepath.Join(root, "packer/ami.pkr.hcl"), Dirs: []string{filepath.Join(root, "ami")},
			VarFiles: []string{filepath.Join(root, "two.pkrvars.hcl"), filepath.Join(root, "one.pkrvars.hcl")},
			Vars:     []string{"region=us-east-1", "size=small", "size=large"},
		}
	}, "bce041f7375527d8aa1e96733ab5556d2048883f40317e586c5d1f2f8621708d", false},
	{"directory template and two roots with the same path", map[string]string{
		"packer/main.pkr.hcl": "build {}\n",
		"packer/vars.pkr.hcl": "variable \"config_checksum\" {}\n",
		"base/x":              "base\n",
		"app/x*":              "app\n",
	}, func(root string) Spec {
		return Spec{Template: filepath.Join(root, "packer"), Dirs: []string{filepath.Join(root, "base"), filepath.Join(root, "app")}}
	}, "3807daf9b4fc7a4181b031502b62ebf3d679b46c3c1ffb830eecb27e3f522d64", false},
	// Checked by hand: h() { printf %s "$1" | sha256sum | cut -c1-64; }
	// printf 'ami-bakery fingerprint v2\n4:file,1:a,1:x,1:-,64:%s,\n4:file,1:b,1:x,1:-,64:%s,\n' \
	//   $(h 1) $(h 2) | sha256sum
	{"directories without a template", map[string]string{
		"a/x": "1",
		"b/x": "2",
	}, func(root string) Spec {
		return Spec{Dirs: []string{filepath.Join(root, "b"), filepath.Join(root, "a")}}
	}, "330b344a5e8a301cff98c2e8820a370f4e676579dd5daa56a1aceb0092a23d9f", false},
	// The manifest of this one is spelled out in TestV2ExtraManifest;
	// checked by hand as above: printf 'ami-bakery fingerprint v2\n8:template,
	// ...,\n5:input,9:../shared,17:install-worker.sh,1:x,64:%s,\n...
	// 4:only,0:,12:amazon-linux,...,\n6:except,0:,3:gpu,...,\n' ... | sha256sum
	{"extra roots and a selection", map[string]string{
		"eks/eks.json":              `{"builders": [{"type": "amazon-ebs"}]}` + "\n",
		"eks/files/bootstrap.sh*":   "#!/bin/sh\n",
		"shared/install-worker.sh*": "#!/bin/sh\necho install\n",
		"shared/files/docker.json":  "{}\n",
		"shared/files/link":         "->docker.json",
	}, func(root string) Spec {
		return Spec{
			Template: filepath.Join(root, "eks/eks.json"), Dirs: []string{filepath.Join(root, "eks")},
			Extra:  []ExtraRoot{{Path: filepath.Join(root, "shared/files")}, {Path: filepath.Join(root, "shared/install-worker.sh"), Pos: "x:1"}},
			Only:   []string{"ubuntu", "amazon-linux"},
			Except: []string{"gpu"},
		}
	}, "f8ed250d409e8770f4b82f57bc19be99d0f6785a340dee5d00d5d54922514976", true},
}

// TestV2DirOrderSamePath: two directories holding the same relative path
// give one sum whatever their order on the command line, and swapping the
// files' contents between them changes it. A canonical order that ignored
// the directory (sorting by path alone) would keep the command-line order
// of the two "x" entries and fail the first check.
func TestV2DirOrderSamePath(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"t.json": "{}\n", "a/x": "1", "b/x": "2", "a/y/z": "3", "b/y/z": "4"})
	spec := func(dirs ...string) Spec {
		s := Spec{Template: filepath.Join(root, "t.json")}
		for _, d := range dirs {
			s.Dirs = append(s.Dirs, filepath.Join(root, d))
		}
		return s
	}
	ab, ba := compute(t, spec("a", "b")), compute(t, spec("b", "a"))
	if ab.Sum != ba.Sum {
		t.Errorf("--dir a --dir b and --dir b --dir a differ:\n%s\nvs\n%s", dumpInputs(ab.Inputs), dumpInputs(ba.Inputs))
	}
	swapped := t.TempDir()
	writeTree(t, swapped, map[string]string{"t.json": "{}\n", "a/x": "2", "b/x": "1", "a/y/z": "3", "b/y/z": "4"})
	s := Spec{Template: filepath.Join(swapped, "t.json"), Dirs: []string{filepath.Join(swapped, "a"), filepath.Join(swapped, "b")}}
	if compute(t, s).Sum == ab.Sum {
		t.Error("swapping a/x and b/x did not change the sum")
	}
}
