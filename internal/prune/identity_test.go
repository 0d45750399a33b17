package prune

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// Only AMIs whose project, image and variant tags name a lineage are
// candidates; one without the project or inputs tag is left alone and
// counted, unless AdoptUntagged; one that names another project, image or
// variant, or no image, never is.
func TestIdentity(t *testing.T) {
	ours := map[string]string{TagProject: project, TagImage: "app", TagInputs: inputs}
	with := func(changes ...string) map[string]string {
		tags := maps.Clone(ours)
		for _, c := range changes {
			k, v, _ := strings.Cut(c, "=")
			if v == "" {
				delete(tags, k)
			} else {
				tags[k] = v
			}
		}
		return tags
	}
	amis := []struct {
		name             string
		tags             map[string]string
		candidate, adopt bool // without and with AdoptUntagged
		untagged         bool // counted as left alone without it
	}{
		{"ours", ours, true, true, false},
		{"another project", with(TagProject + "=blog"), false, false, false},
		{"another image", with(TagImage + "=worker"), false, false, false},
		{"another variant", with(TagInputs + "=t:00000000;v:33333333"), false, false, false},
		{"no variables, where the lineage has", with(TagInputs + "=t:00000000"), false, false, false},
		{"no image tag", with(TagImage + "="), false, false, false},
		{"no project tag", with(TagProject + "="), false, true, true},
		{"an empty project tag", with(TagProject + "=\x00"), false, true, true},
		{"no inputs tag", with(TagInputs + "="), false, true, true},
		{"neither", with(TagProject+"=", TagInputs+"="), false, true, true},
		{"no project tag, another variant", with(TagProject+"=", TagInputs+"=t:0;v:33333333"), false, false, false},
	}
	for _, adopt := range []bool{false, true} {
		f := newFixture(t)
		ids := map[string]string{}
		for i, a := range amis {
			tags := maps.Clone(a.tags)
			if tags[TagProject] == "\x00" {
				tags[TagProject] = ""
			}
			tags["ami_config_checksum"] = "old"
			id, err := f.s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{Name: fmt.Sprintf("img-%02d", i),
				Tags: tags, CreationDate: f.s.Now().Add(-30 * 24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
			ids[id] = a.name
		}
		o := opts(f.s, "current", ModeDelete)
		o.Keep, o.AdoptUntagged = 0, adopt
		p, err := PlanPrune(f.ctx, clients(f.s), o)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, a := range p.AMIs {
			got = append(got, ids[a.ID])
			if a.Decision != Delete {
				t.Errorf("adopt=%t: %s: %s %v", adopt, ids[a.ID], a.Decision, a.Reasons)
			}
		}
		var want []string
		untagged := 0
		for _, a := range amis {
			if a.candidate || adopt && a.adopt {
				want = append(want, a.name)
			}
			if a.untagged && !adopt {
				untagged++
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("adopt=%t: candidates %q, want %q", adopt, got, want)
		}
		if p.Untagged != untagged {
			t.Errorf("adopt=%t: %d left alone as untagged, want %d", adopt, p.Untagged, untagged)
		}
	}
}

// An AMI two lineages of one image could claim (no inputs tag, two
// variants given) is left alone even with AdoptUntagged.
func TestIdentityAmbiguous(t *testing.T) {
	f := newFixture(t)
	_, err := f.s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{Name: "legacy",
		Tags: map[string]string{TagImage: "app", TagProject: project}, CreationDate: f.s.Now().Add(-30 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	o := opts(f.s, "current", ModeDelete)
	o.Keep, o.AdoptUntagged = 0, true
	o.Images = append(o.Images, o.Images[0])
	o.Images[1].Variant = "33333333"
	p, err := PlanPrune(f.ctx, clients(f.s), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.AMIs) != 0 {
		t.Fatalf("an ambiguous AMI is a candidate: %+v", p.AMIs)
	}
}
