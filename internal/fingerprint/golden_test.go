package fingerprint

import (
	"path/filepath"
	"testing"
)

// goldenV2 pins one V2 sum: a change to the manifest or to what enters it
// changes every AMI's fingerprint and makes every user build again, so it
// must be deliberate. The definition has a template, an executable file, a
// var file and vars.
const goldenV2 = "74ec1cad311198817b401ecbb31f4098c02763fcc33edc81547bce1f046e7d8e"

func TestGoldenV2(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, with(baseTree(), "packer/prod.pkrvars.hcl", "instance_type = \"t3.small\"\n"))
	s := defaultSpec(root)
	s.VarFiles = []string{filepath.Join(root, "packer/prod.pkrvars.hcl")}
	s.Vars = []string{"region=us-east-1", "z=1"}
	if got := compute(t, s).Sum; got != goldenV2 {
		t.Errorf("v2 sum = %s, want %s", got, goldenV2)
	}
}
