package packer

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// FuzzLoadTemplate writes the input as a JSON template, an HCL2 file and an
// HCL2 JSON file: LoadTemplate must not panic, must give the same answer
// twice, and a template it accepts must be well formed.
func FuzzLoadTemplate(f *testing.F) {
	for _, s := range []string{
		jsonAmazon,
		hclAmazon,
		`{"variables": {"a": "b"}, "builders": [{"type": "null"}]}`,
		`{"variable": {"c": {}}, "source": {"amazon-ebs": {"x": {"ami_name": "n-${var.c}", "ami_regions": ["us-east-2"]}}}}`,
		"variables {\n  x = 1\n}\nsource \"a\" \"b\" {\n  ami_regions = [for r in [\"x\"] : r]\n}\n",
		"{\n  \"variables\": [\"a\"]\n}",
		"",
		consulLikeJSON,
		ecsLikeFiles["ecs/build.pkr.hcl"] + ecsLikeFiles["ecs/sources.pkr.hcl"],
		eksLikeFiles["eks/eks-worker.json"],
	} {
		f.Add([]byte(s))
	}
	// One directory for every input: the files are overwritten each time.
	// (Minimizing an input runs it thousands of times; run the fuzzer with
	// -fuzzminimizetime=5s or so.)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, name := range []string{"t.json", "t.pkr.hcl", "t.pkr.json"} {
			p := filepath.Join(dir, name)
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			t1, err1 := LoadTemplate(p)
			t2, err2 := LoadTemplate(p)
			if (err1 == nil) != (err2 == nil) || err1 != nil && err1.Error() != err2.Error() {
				t.Fatalf("%s: errors differ between runs: %v / %v", name, err1, err2)
			}
			if !reflect.DeepEqual(withoutEval(t1), withoutEval(t2)) {
				t.Fatalf("%s: templates differ between runs:\n%+v\n%+v", name, t1, t2)
			}
			if err1 != nil {
				if t1 != nil {
					t.Fatalf("%s: a template with an error: %+v", name, t1)
				}
				continue
			}
			if len(t1.Sources) == 0 {
				t.Fatalf("%s: accepted a template without sources", name)
			}
			if !slices.IsSorted(t1.Variables) || len(slices.Compact(slices.Clone(t1.Variables))) != len(t1.Variables) {
				t.Fatalf("%s: variables not sorted and unique: %q", name, t1.Variables)
			}
			for _, v := range t1.Variables {
				if !t1.Declares(v) {
					t.Fatalf("%s: Declares(%q) is false", name, v)
				}
			}
			// Inputs must not panic, whatever the references are.
			_, _ = t1.Inputs(InputOptions{WorkDir: dir})
		}
	})
}

// withoutEval is tmpl with its settings' evaluators dropped (functions are
// never DeepEqual) and each setting's value given no variables instead.
func withoutEval(tmpl *Template) *Template {
	if tmpl == nil {
		return nil
	}
	c := *tmpl
	strip := func(st Setting) Setting {
		v, ok := st.Eval(nil)
		st.eval = nil
		st.Text += fmt.Sprintf(" = %q %v", v, ok)
		return st
	}
	c.Sources = slices.Clone(tmpl.Sources)
	for i, s := range c.Sources {
		c.Sources[i].Settings = map[string]Setting{}
		for k, st := range s.Settings {
			c.Sources[i].Settings[k] = strip(st)
		}
	}
	c.Manifests = nil
	for _, m := range tmpl.Manifests {
		c.Manifests = append(c.Manifests, strip(m))
	}
	c.refs = slices.Clone(tmpl.refs)
	for i := range c.refs {
		c.refs[i].eval = nil
	}
	return &c
}
