package bake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file decides, before packer runs, whether a template can be built
// as it is, and which of its variables receive ami-bakery's values. Plan
// and Bake both call checkBuild, so a plan reports what a bake would refuse.

// fingerprintSentinel stands for the fingerprint when an AMI name is
// evaluated: the name carries the fingerprint when it carries this.
const fingerprintSentinel = "ami-bakery-fingerprint-sentinel"

// checkBuild refuses a build of img in region that could not work or whose
// AMI could not be found again, warns about what does not fit, and returns
// the variables to pass besides the fingerprint: the region, subnet and
// endpoint, each to every variable the selected sources use for it, the
// explicit *Var, and the names the original tool passed when declared.
func (b *Baker) checkBuild(img *Image, region string) ([]packer.Var, error) {
	t := img.Template
	if bad := t.UnmatchedPatterns(img.Packer.Only, img.Packer.Except); len(bad) > 0 {
		return nil, usererr.Usage(usererr.WithHint(fmt.Errorf("the selection %s matches no build of template %s", strings.Join(bad, ", "), t.Path),
			"the builds are: %s", strings.Join(t.BuildNames(), ", ")))
	}
	sources := t.Select(img.Packer.Only, img.Packer.Except)
	if len(sources) == 0 {
		return nil, noAmazonSource(img)
	}
	vars := map[string]string{}
	for _, v := range img.Packer.Vars {
		vars[v.Name] = v.Value
	}
	if skip, _ := packer.SkippingAMI(sources, vars); len(skip) > 0 {
		return nil, usererr.Usage(usererr.WithHint(fmt.Errorf("build %s sets skip_create_ami (%s): packer would make no AMI to find again", skip[0].Name, skip[0].Settings["skip_create_ami"].Pos),
			"leave that build out with --except %s (or --only the others), or set skip_create_ami = false", skip[0].Name))
	}
	if err := b.checkNames(img, sources); err != nil {
		return nil, err
	}
	for _, s := range sources {
		if err := checkRegion(s, region); err != nil {
			return nil, err
		}
	}
	var out []packer.Var
	for _, w := range []struct {
		setting, explicit, legacy, value, flag, varFlag string
	}{
		{"region", img.RegionVar, VarRegion, region, "--region", "--region-var"},
		{"subnet_id", img.SubnetVar, VarSubnetID, img.SubnetID, "--subnet-id", "--subnet-var"},
		{"custom_endpoint_ec2", img.EndpointVar, VarEndpoint, img.Endpoint, "--endpoint", "--endpoint-var"},
	} {
		names, others := packer.SettingVars(sources, w.setting)
		if w.explicit != "" {
			if !t.Declares(w.explicit) {
				return nil, usererr.WithHint(fmt.Errorf("template %s does not declare the variable %q that %s names", t.Path, w.explicit, w.varFlag),
					"name a variable the template declares, or drop %s", w.varFlag)
			}
			names = append(names, w.explicit)
		}
		if t.Declares(w.legacy) {
			names = append(names, w.legacy)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		if w.value == "" {
			continue
		}
		if err := checkUserVars(img, names, w.flag); err != nil {
			return nil, err
		}
		for _, n := range names {
			out = append(out, packer.Var{Name: n, Value: w.value})
		}
		// Only the subnet warns: a template without custom_endpoint_ec2
		// is the usual case on AWS itself.
		if w.setting == "subnet_id" && w.explicit == "" && len(others) > 0 {
			b.log().Warn(fmt.Sprintf("%s has nowhere to go in %s: its %s is %s", w.flag, others[0].Name, w.setting, describe(others[0], w.setting)),
				"hint", fmt.Sprintf("make the template's %s a variable, or name the variable with %s", w.setting, w.varFlag))
		}
	}
	return out, nil
}

// describe says what a source's setting is, for a warning.
func describe(s packer.Source, setting string) string {
	st, ok := s.Settings[setting]
	if !ok {
		return "not set"
	}
	return fmt.Sprintf("%s (%s)", st.Text, st.Pos)
}

// checkRegion refuses a source whose region is a literal other than the
// primary region: packer would build there, and the AMI would not be where
// it is looked for.
func checkRegion(s packer.Source, region string) error {
	st, ok := s.Settings["region"]
	if !ok || st.Var != "" {
		return nil
	}
	if v, known := st.Literal(); known && v != region {
		build := s.Name
		if len(s.Builds) > 0 {
			build = s.Builds[0]
		}
		return usererr.WithHint(fmt.Errorf("the region of %s is %s (%s), not the primary region %s", s.Name, st.Text, st.Pos, region),
			"for one AMI in every region, bake the build of one region and let ami-bakery copy it: --only BUILD --regions %s,%s (BUILD the build made in %s); to build this one where it says: --only %s --region %s; or make the template's region a variable (ami-bakery passes the primary region to it)",
			region, v, region, build, v)
	}
	return nil
}

// checkUserVars refuses a --var (or a project's vars) for a variable that
// ami-bakery passes a value to itself: the lookups and the build must agree.
func checkUserVars(img *Image, names []string, flag string) error {
	for _, v := range img.Packer.Vars {
		if slices.Contains(names, v.Name) {
			return usererr.Usage(usererr.WithHint(fmt.Errorf("--var %s would override %s, which ami-bakery passes to it", v.Name, flag),
				"ami-bakery sets %s itself from %s; remove that --var", v.Name, flag))
		}
	}
	return nil
}

// checkNames warns when an AMI name does not carry the fingerprint (the
// second guard against double builds), and refuses it when AMIs are found
// by name. A name built in locals counts; timestamp() and other unknowns
// do not hide the fingerprint in the rest.
func (b *Baker) checkNames(img *Image, sources []packer.Source) error {
	v := img.FingerprintVar
	if !img.Template.Declares(v) {
		if img.ByName {
			return usererr.WithHint(fmt.Errorf("looking up by name: template %s does not declare the fingerprint variable %q, so no AMI name can carry it", img.Template.Path, v),
				"%s", declareHint(img))
		}
		return nil
	}
	for _, src := range sources {
		if nameCarries(src, v) {
			continue
		}
		err := fmt.Errorf("the ami_name of %s (%s) does not contain the fingerprint variable %q", src.Name, src.Pos, v)
		hint := fmt.Sprintf("name AMIs after the fingerprint, e.g. \"ami_name\": \"app-{{user `%s`}}\" (HCL2: \"app-${var.%s}\")", v, v)
		if img.ByName {
			return usererr.WithHint(fmt.Errorf("looking up by name: %w", err), "%s", hint)
		}
		b.log().Warn(err.Error()+"; concurrent or retried builds cannot be told apart by name", "hint", hint)
	}
	return nil
}

// nameCarries reports whether src's ami_name carries the fingerprint
// variable v: its value, when it can be known, holds the fingerprint;
// otherwise it refers to v, directly or through locals.
func nameCarries(src packer.Source, v string) bool {
	st, ok := src.Settings["ami_name"]
	if !ok {
		return slices.Contains(src.AMINameVars, v)
	}
	if name, known := st.Eval(map[string]string{v: fingerprintSentinel}); known {
		return strings.Contains(strings.ToLower(name), fingerprintSentinel)
	}
	return slices.Contains(st.Vars, v)
}

// declareHint tells how to declare the fingerprint variable and tag the
// AMI with it, in the template's own syntax.
func declareHint(img *Image) string {
	v, k := img.FingerprintVar, img.TagKey
	if img.Template.Syntax == "hcl" {
		return fmt.Sprintf("declare it and tag the AMI with it for atomic tagging: variable %q { type = string } and, in the source, tags = { %q = var.%s }", v, k, v)
	}
	return fmt.Sprintf("declare it and tag the AMI with it for atomic tagging: \"variables\": {%q: \"\"} and, in the builder, \"tags\": {%q: \"{{user `%s`}}\"}", v, k, v)
}

// noAmazonSource is the refusal of a template with no amazon-* source
// to build (among those --only selects).
func noAmazonSource(img *Image) error {
	t := img.Template
	if len(img.Packer.Only) > 0 {
		return usererr.WithHint(fmt.Errorf("template %s has no amazon-* source that --only %s selects", t.Path, strings.Join(img.Packer.Only, ",")),
			"--only takes packer's build names (%s)", strings.Join(buildNames(t), ", "))
	}
	return usererr.WithHint(fmt.Errorf("template %s builds no amazon-* source", t.Path),
		"ami-bakery bakes AMIs: the template needs an amazon-ebs (or other amazon-*) builder, used by a build block in HCL2")
}

func buildNames(t *packer.Template) []string {
	var out []string
	for _, s := range t.AmazonSources() {
		out = append(out, s.Builds...)
	}
	if len(out) == 0 {
		return []string{"none"}
	}
	return out
}
