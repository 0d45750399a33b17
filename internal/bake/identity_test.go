package bake

import (
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

// The variant bake computes for an image is the one prune reads back from
// the inputs tag bake writes; variables change it, files do not.
func TestVariantRoundTrip(t *testing.T) {
	res := func(vars ...string) fingerprint.Result {
		r := fingerprint.Result{Inputs: []fingerprint.Input{
			{Kind: fingerprint.KindTemplate, Root: ".", Path: "ami.json", Hash: "aa"},
			{Kind: fingerprint.KindFile, Root: ".", Path: "a.sh", Hash: "bb"},
		}}
		for _, v := range vars {
			r.Inputs = append(r.Inputs, fingerprint.Input{Kind: fingerprint.KindVar, Path: "env", Hash: v})
		}
		return r
	}
	tags := func(r fingerprint.Result) map[string]string {
		return map[string]string{TagInputs: fingerprint.GroupsOf(r).String()}
	}
	prod, staging, none := res("prod"), res("staging"), res()
	for _, r := range []fingerprint.Result{prod, staging, none} {
		if v, ok := VariantOfTags(tags(r)); !ok || v != Variant(r) {
			t.Errorf("VariantOfTags = %q, %t; Variant = %q", v, ok, Variant(r))
		}
	}
	if Variant(prod) == Variant(staging) || Variant(prod) == "" || Variant(none) != "" {
		t.Errorf("variants: prod %q, staging %q, none %q", Variant(prod), Variant(staging), Variant(none))
	}
	changed := res("prod")
	changed.Inputs[1].Hash = "cc"
	if Variant(changed) != Variant(prod) {
		t.Error("a file changed the variant")
	}
	if _, ok := VariantOfTags(map[string]string{}); ok {
		t.Error("no inputs tag, yet a variant")
	}
}
