package fingerprint

import (
	"fmt"
	"strings"
	"testing"
)

func TestGroups(t *testing.T) {
	base := Result{Inputs: []Input{
		{Kind: KindTemplate, Root: ".", Path: "ami.json", Hash: "aa"},
		{Kind: KindFile, Root: ".", Path: "a.sh", Hash: "bb"},
		{Kind: KindFile, Root: "../shared", Path: "b.sh", Hash: "cc"},
		{Kind: KindVar, Path: "env", Hash: "dd"},
		{Kind: KindParent, Path: "fingerprint", Hash: "ee"},
	}}
	g := GroupsOf(base)
	if got, want := strings.Join(g.Keys, ","), "t,d0,d1,v,p"; got != want {
		t.Fatalf("keys %s, want %s", got, want)
	}
	if g.Roots["d1"] != "../shared" {
		t.Errorf("roots %v", g.Roots)
	}
	back := ParseGroups(g.String())
	if back.String() != g.String() {
		t.Errorf("round trip %q != %q", back.String(), g.String())
	}
	changed := base
	changed.Inputs = append([]Input(nil), base.Inputs...)
	changed.Inputs[2].Hash = "c2"
	g2 := GroupsOf(changed)
	for _, k := range g.Keys {
		if (g.Hashes[k] != g2.Hashes[k]) != (k == "d1") {
			t.Errorf("group %s: %s -> %s", k, g.Hashes[k], g2.Hashes[k])
		}
	}
}

func TestGroupsFitATag(t *testing.T) {
	var res Result
	for i := range 40 {
		res.Inputs = append(res.Inputs, Input{Kind: KindFile, Root: fmt.Sprintf("r%d", i), Path: "f", Hash: "x"})
	}
	g := GroupsOf(res)
	if len(g.String()) > 256 || strings.Join(g.Keys, ",") != "d" {
		t.Errorf("%d chars, keys %v", len(g.String()), g.Keys)
	}
}
