package project

import (
	"fmt"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// An ownedVar is a template variable ami-bakery sets itself for an image,
// and the setting that names it.
type ownedVar struct {
	name    string // the variable
	what    string // what ami-bakery passes to it
	setting string // "fingerprint_var"; "" for a fixed name
}

// ownedVars are the variables ami-bakery sets for img: the fingerprint,
// the region (aws_region always, and region_var), the subnet and endpoint
// (aws_subnet_id, aws_ec2_endpoint, subnet_var, endpoint_var), a child's
// parent AMI and a root's base AMI.
func (img *Image) ownedVars() []ownedVar {
	out := []ownedVar{
		{img.FingerprintVar, "the fingerprint", "fingerprint_var"},
		{bake.VarRegion, "the region", ""},
		{bake.VarSubnetID, "the subnet", ""},
		{bake.VarEndpoint, "the EC2 endpoint", ""},
	}
	for _, v := range []ownedVar{
		{img.RegionVar, "the region", "region_var"},
		{img.SubnetVar, "the subnet", "subnet_var"},
		{img.EndpointVar, "the EC2 endpoint", "endpoint_var"},
	} {
		if v.name != "" {
			out = append(out, v)
		}
	}
	if img.ParentName != "" {
		out = append(out, ownedVar{img.ParentVar, "the parent's AMI", "parent_var"})
	}
	if img.Base != nil {
		out = append(out, ownedVar{img.Base.Var, "the base image", "base.var"})
	}
	return out
}

// checkOwnedVars refuses two of img's owned variables that share a name
// but receive different values: packer would get two values for one
// variable, and the fingerprint could be lost from the AMI's name.
func (img *Image) checkOwnedVars() error {
	vs := img.ownedVars()
	for i, a := range vs {
		for _, b := range vs[:i] {
			if a.name != b.name || a.what == b.what {
				continue
			}
			return usererr.WithHint(usererr.Usagef("%s and %s both name the template variable %q; ami-bakery passes %s and %s, and one variable cannot hold both",
				img.label(a), img.label(b), a.name, b.what, a.what),
				"give each its own variable")
		}
	}
	return nil
}

// label names where an owned variable comes from: the flag of a single
// template, the project file's setting and its position, or the fixed
// name ami-bakery always passes.
func (img *Image) label(v ownedVar) string {
	if v.setting == "" {
		return fmt.Sprintf("%s (which ami-bakery always passes %s)", v.name, v.what)
	}
	if flag, ok := singleFlags[v.setting]; ok && img.Range.Filename == "" {
		return flag // a single template: no file, only flags
	}
	if v.setting == "base.var" {
		return fmt.Sprintf("image %q's base var", img.Name)
	}
	return fmt.Sprintf("%s (%s)", v.setting, img.rangeOf(v.setting))
}

// singleFlags are the flags of a single template for the settings an owned
// variable comes from.
var singleFlags = map[string]string{
	"fingerprint_var": "--fingerprint-var", "region_var": "--region-var", "subnet_var": "--subnet-var",
	"endpoint_var": "--endpoint-var", "base.var": "--base-var",
}
