package explain

import (
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

func TestCompare(t *testing.T) {
	old := fingerprint.Result{Inputs: []fingerprint.Input{
		{Kind: fingerprint.KindTemplate, Root: ".", Path: "a.json", Hash: "1"},
		{Kind: fingerprint.KindFile, Root: ".", Path: "x", Hash: "2"},
		{Kind: fingerprint.KindVar, Path: "v", Hash: "3"},
		{Kind: fingerprint.KindParent, Path: "fingerprint", Hash: "p1"},
		{Kind: fingerprint.KindInput, Root: "../shared", Path: "install.sh", Hash: "4"},
		{Kind: fingerprint.KindOnly, Path: "amazon-ebs.x", Hash: "5"},
	}}
	tag := fingerprint.GroupsOf(old).String()
	for _, tt := range []struct {
		name  string
		i     int
		hash  string
		group string
	}{
		{"template", 0, "9", "template"},
		{"directory", 1, "9", "directory"},
		{"variables", 2, "9", "variables"},
		{"parent", 3, "p2", "parent"},
		{"input", 4, "9", "input"},
		{"selection", 5, "9", "selection"},
	} {
		cur := fingerprint.Result{Inputs: append([]fingerprint.Input(nil), old.Inputs...)}
		cur.Inputs[tt.i].Hash = tt.hash
		got := compare(cur, &Previous{Inputs: tag + ";pf:p1"})
		if len(got) != 1 || got[0].Group != tt.group {
			t.Errorf("%s: %+v", tt.name, got)
			continue
		}
		if tt.group == "parent" && (got[0].Old != "p1" || got[0].New != "p2") {
			t.Errorf("parent: %+v", got[0])
		}
		if tt.group == "input" && got[0].Root != "../shared" {
			t.Errorf("input: %+v", got[0])
		}
	}
	if got := compare(old, &Previous{}); len(got) != 1 || got[0].Group != "unknown" {
		t.Errorf("no tag: %+v", got)
	}
}
