package prune

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/images"
)

// prune's current AMI is the one bake's lookup would print: for each row,
// an AMI bake finds for the fingerprint is kept by prune as current, and
// prune takes for current exactly what bake.IsCurrent says, in any state.
func TestCurrentAgreesWithBake(t *testing.T) {
	const key = "ami_config_checksum"
	rows := []struct {
		name    string
		amiName string
		tags    map[string]string // besides the identity tags; FP is the row's fingerprint
		state   string
		bake    bool // bake's lookup finds it
		current bool
	}{
		{"tagged", "app-build-1", map[string]string{key: "FP"}, "available", true, true},
		{"named only", "app-FP", nil, "available", true, true},
		{"another tag key, named", "app-FP", map[string]string{"other_key": "FP"}, "available", true, true},
		{"another tag key only", "app-build-2", map[string]string{"other_key": "FP"}, "available", false, false},
		{"deprecated", "app-build-3", map[string]string{key: "FP"}, "deprecated", true, true},
		{"disabled", "app-build-4", map[string]string{key: "FP"}, "disabled", false, true},
		{"pending", "app-build-5", map[string]string{key: "FP"}, "pending", true, true},
		{"failed, named", "app-FP", nil, "failed", false, true},
		{"another fingerprint", "app-build-6", map[string]string{key: "older"}, "available", false, false},
		{"fingerprint in another case", "app-fp", nil, "available", false, false},
	}
	for i, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			f := newFixture(t)
			fpi := fmt.Sprintf("%064x", i+1)
			tags := map[string]string{TagProject: project, TagImage: "app", TagInputs: inputs}
			for k, v := range row.tags {
				if v == "FP" {
					v = fpi
				}
				tags[k] = v
			}
			name := row.amiName
			if name == "app-FP" {
				name = "app-" + fpi
			}
			if name == "app-fp" {
				name = "app-" + fmt.Sprintf("%064X", i+1)
			}
			spec := awsemu.ImageSpec{Name: name, Tags: tags, CreationDate: f.s.Now().Add(-40 * 24 * time.Hour)}
			switch row.state {
			case "pending", "failed":
				spec.State = row.state
			case "deprecated":
				spec.DeprecationTime = f.s.Now().Add(-24 * time.Hour)
			}
			id, err := f.s.PutImage(awsemu.DefaultAccount, region, spec)
			if err != nil {
				t.Fatal(err)
			}
			if row.state == "disabled" {
				_, err := f.e.DisableImage(f.ctx, &ec2.DisableImageInput{ImageId: aws.String(id)})
				f.check(t, nil, err)
			}

			b := &bake.Baker{Clients: func(_, r string) images.EC2 { return f.s.EC2(awsemu.DefaultAccount, r) },
				Account: func(context.Context, string) (string, error) { return awsemu.DefaultAccount, nil }}
			m, err := b.FindAMI(f.ctx, &bake.Image{Owners: []string{"self"}, TagKey: key, Regions: []string{region}}, region, fpi)
			if err != nil {
				t.Fatal(err)
			}
			found := m.Available != nil && m.Available.ID == id || m.Pending != nil && m.Pending.ID == id
			if found != row.bake {
				t.Fatalf("bake found it: %t, want %t", found, row.bake)
			}

			o := opts(f.s, fpi, ModeDelete)
			o.Keep = 0
			p, err := PlanPrune(f.ctx, clients(f.s), o)
			if err != nil {
				t.Fatal(err)
			}
			a := planned(t, p, id)
			isCurrent := slices.Contains(a.Reasons, "current fingerprint")
			if isCurrent != row.current || isCurrent != bake.IsCurrent(name, tags, key, fpi) {
				t.Fatalf("prune: current %t (%s %v), want %t", isCurrent, a.Decision, a.Reasons, row.current)
			}
			if found && (!isCurrent || a.Decision != Keep) {
				t.Fatalf("bake prints %s, prune would %s it", id, a.Decision)
			}
		})
	}
}

func TestIsCurrent(t *testing.T) {
	tags := map[string]string{"k": "abc", "other": "def"}
	for _, tc := range []struct {
		name, key, fp string
		want          bool
	}{
		{"x", "k", "abc", true},
		{"app-def-1", "k", "def", true},
		{"x", "other", "def", true},
		{"x", "k", "def", false},
		{"x", "", "abc", false},
		{"x", "k", "", false},
		{"", "missing", "", false},
	} {
		if got := bake.IsCurrent(tc.name, maps.Clone(tags), tc.key, tc.fp); got != tc.want {
			t.Errorf("IsCurrent(%q, %q, %q) = %t", tc.name, tc.key, tc.fp, got)
		}
	}
}
