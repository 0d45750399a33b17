package fingerprint

import (
	"os"
	"path/filepath"
	"testing"
)

// TestInputOf: an output path is an input when writing it would change the
// sum; the check agrees with Compute for every case.
func TestInputOf(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{
		"packer/ami.json":   "{}\n",
		"ami/.bakeryignore": "*.log\n/out/\n",
		"ami/setup.sh":      "x",
		"ami/out/keep":      "k",
		"vars.json":         "{}\n",
		"linkdir":           "->ami",
		"tmpl-link":         "->packer/ami.json",
	})
	spec := Spec{
		Template: filepath.Join(root, "packer/ami.json"), Dirs: []string{filepath.Join(root, "ami")},
		VarFiles: []string{filepath.Join(root, "vars.json")},
		Exclude:  []string{filepath.Join(root, "packer/.ami_id.json")},
	}
	tests := []struct {
		path  string
		input bool
	}{
		{"packer/ami.json", true},
		{"tmpl-link", true},
		{"vars.json", true},
		{"ami/new.json", true},
		{"ami/setup.sh", true},
		{"ami/.bakeryignore", true},
		{"ami/deep/new.json", true},
		{"linkdir/new.json", true},
		{"ami/result.log", false},
		{"ami/out/result.json", false},
		{"ami/.git/x", false},
		{"packer/.ami_id.json", false},
		{"packer/other.json", false},
		{"result.json", false},
		{"ami", false},
	}
	before := compute(t, spec).Sum
	for _, tt := range tests {
		p := filepath.Join(root, tt.path)
		what, err := InputOf(spec, p)
		if err != nil || (what != "") != tt.input {
			t.Errorf("InputOf(%s) = %q, %v; want input %v", tt.path, what, err, tt.input)
		}
		if tt.input || tt.path == "ami" {
			continue
		}
		// Writing a path that is no input leaves the sum as it was.
		os.MkdirAll(filepath.Dir(p), 0o755)
		mustDo(t, os.WriteFile(p, []byte("result"), 0o644))
		if got := compute(t, spec).Sum; got != before {
			t.Errorf("writing %s changed the sum although InputOf said it is no input", tt.path)
		}
		os.Remove(p)
	}
	v1 := spec
	v1.Algorithm = V1
	for path, input := range map[string]bool{"ami/.result.json": false, "ami/result.json": true, "ami/out/x": true} {
		if what, _ := InputOf(v1, filepath.Join(root, path)); (what != "") != input {
			t.Errorf("v1: InputOf(%s) = %q, want input %v", path, what, input)
		}
	}
}
