package fingerprint

import (
	"context"
	"slices"
	"testing"
)

// A base identity enters the sum as one input, after a parent and before
// the files; the same definition without one keeps its sum.
func TestBase(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, baseTree())
	s := defaultSpec(root)
	plain := compute(t, s)
	s.Base = "099720109477/ubuntu-jammy-20261101"
	withB := compute(t, s)
	if withB.Sum == plain.Sum {
		t.Fatal("a base identity did not change the sum")
	}
	s.Base = "099720109477/ubuntu-jammy-20261120"
	if other := compute(t, s); other.Sum == withB.Sum {
		t.Error("a newer base gave the same sum")
	}
	s.Parent = parentGoldenV2
	both := compute(t, s)
	var kinds []string
	for _, in := range both.Inputs {
		kinds = append(kinds, in.Kind)
	}
	if want := []string{KindTemplate, KindParent, KindBase, KindFile, KindFile, KindFile}; !slices.Equal(kinds, want) {
		t.Errorf("kinds = %v, want %v", kinds, want)
	}
	if _, err := Compute(context.Background(), Spec{Algorithm: V1, Dirs: s.Dirs, Base: "x/y"}); err == nil {
		t.Error("v1 with a base succeeded")
	}
}
