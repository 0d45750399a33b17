package fingerprint

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
)

// parentGoldenV2 pins one V2 sum: a change to the manifest or to what enters it
// changes every AMI's fingerprint and makes every user build again, so it
// must be deliberate. The definition has a template, an executable file, a
// var file and vars.
const parentGoldenV2 = "74ec1cad311198817b401ecbb31f4098c02763fcc33edc81547bce1f046e7d8e"

func TestGoldenV2WithVarFile(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, with(baseTree(), "packer/prod.pkrvars.hcl", "instance_type = \"t3.small\"\n"))
	s := defaultSpec(root)
	s.VarFiles = []string{filepath.Join(root, "packer/prod.pkrvars.hcl")}
	s.Vars = []string{"region=us-east-1", "z=1"}
	if got := compute(t, s).Sum; got != parentGoldenV2 {
		t.Errorf("v2 sum = %s, want %s", got, parentGoldenV2)
	}
}

// A parent fingerprint enters the sum as one input, before the files; the
// same definition without one keeps the golden sum.
func TestParent(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree())
	s := defaultSpec(root)
	plain := compute(t, s)
	s.Parent = parentGoldenV2
	withP := compute(t, s)
	if withP.Sum == plain.Sum {
		t.Fatal("a parent fingerprint did not change the sum")
	}
	s.Parent = "0" + parentGoldenV2[1:]
	if other := compute(t, s); other.Sum == withP.Sum {
		t.Error("a different parent gave the same sum")
	}
	var kinds []string
	for _, in := range withP.Inputs {
		kinds = append(kinds, in.Kind)
	}
	if want := []string{KindTemplate, KindParent, KindFile, KindFile, KindFile}; !slices.Equal(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	if got := withP.Inputs[1]; got.Hash != parentGoldenV2 || got.Root != "" {
		t.Errorf("parent input = %+v", got)
	}
	for _, bad := range []Spec{{Algorithm: V1, Dirs: s.Dirs, Parent: parentGoldenV2}, {Template: s.Template, Parent: "abc"}} {
		if _, err := Compute(context.Background(), bad); err == nil {
			t.Errorf("Compute(%+v) succeeded", bad)
		}
	}
}
