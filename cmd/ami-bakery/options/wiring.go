package options

import (
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Wiring is how the template is run, for plan and bake alike: which of its
// variables receive the fingerprint, region, subnet and endpoint, and which
// of its builds run (--only). Plan takes it
// too, so that it refuses what bake would.
type Wiring struct {
	FingerprintVar string
	SubnetID       string
	// RegionVar, SubnetVar and EndpointVar name template variables that
	// receive the primary region, --subnet-id and --endpoint, besides
	// those the template's sources use for region, subnet_id and
	// custom_endpoint_ec2.
	RegionVar, SubnetVar, EndpointVar string
	Only, Except                      []string
}

// AddFlags registers the wiring flags.
func (w *Wiring) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&w.SubnetID, "subnet-id", "", "subnet passed to the template's subnet_id variable (or --subnet-var, or aws_subnet_id)")
	fs.StringVar(&w.FingerprintVar, "fingerprint-var", DefaultFingerprintVar, "template variable that receives the fingerprint (optional in the template)")
	fs.StringVar(&w.RegionVar, "region-var", "", "template variable that also receives the primary region")
	fs.StringVar(&w.SubnetVar, "subnet-var", "", "template variable that also receives --subnet-id")
	fs.StringVar(&w.EndpointVar, "endpoint-var", "", "template variable that also receives --endpoint")
	w.AddSelectionFlags(fs)
	BindEnv(fs, "subnet-id", "AWS_SUBNET_ID")
	BindEnv(fs, "fingerprint-var", "AMI_BAKERY_FINGERPRINT_VAR")
}

// AddSelectionFlags registers --only and --except: which builds of the
// template run, part of the fingerprint (checksum takes them too).
func (w *Wiring) AddSelectionFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&w.Only, "only", nil, "packer -only: build only these builds (the checks look only at these; part of the fingerprint)")
	fs.StringSliceVar(&w.Except, "except", nil, "packer -except: build all but these builds (part of the fingerprint)")
}

// Validate checks the wiring flags against the definition's --var names.
func (w *Wiring) Validate(d *Definition) error {
	for _, f := range []struct{ flag, v string }{
		{"fingerprint-var", w.FingerprintVar}, {"region-var", w.RegionVar},
		{"subnet-var", w.SubnetVar}, {"endpoint-var", w.EndpointVar},
	} {
		if (f.v != "" || f.flag == "fingerprint-var") && !validVarName(f.v) {
			return flagErr(f.flag, usererr.WithHint(usererr.Usagef("invalid --%s %q", f.flag, f.v),
				"a packer variable name is letters, digits, _ and -, not starting with a digit"))
		}
	}
	for _, v := range d.Vars {
		if err := w.checkOwnedVar(VarName(v)); err != nil {
			return err
		}
	}
	return nil
}

// checkOwnedVar refuses a --var for a variable whose value ami-bakery
// passes itself: the fingerprint and the region always (the lookups and the
// build must agree on them), the subnet and endpoint when given. Variables
// the template's sources use for these are checked once the template is
// read (internal/bake).
func (w *Wiring) checkOwnedVar(name string) error {
	var from string
	switch {
	case name == w.FingerprintVar:
		from = "the fingerprint"
	case name == "aws_region" || name == w.RegionVar:
		from = "the primary region (--region)"
	case name == "aws_ec2_endpoint" || name == w.EndpointVar && w.EndpointVar != "":
		from = "the EC2 endpoint (--endpoint)"
	case (name == "aws_subnet_id" || name == w.SubnetVar) && w.SubnetID != "":
		from = "--subnet-id (AWS_SUBNET_ID)"
	default:
		return nil
	}
	return usererr.WithHint(usererr.Usagef("--var %s would override %s", name, from),
		"ami-bakery sets %s itself; remove that --var", name)
}
