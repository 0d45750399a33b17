package options

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Base is the single-template mode's base image (a project file's base
// block): the vendor image ami-bakery resolves and passes to the template.
type Base struct {
	Owners            []string
	Filters           []string // name=value
	SSMParameter      string
	Var               string
	Mode              string
	IncludeDeprecated bool
}

// AddFlags registers the base flags.
func (b *Base) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&b.Owners, "base-owner", nil, "account id or alias owning the base image (repeatable); required with --base-filter")
	fs.StringArrayVar(&b.Filters, "base-filter", nil, "NAME=VALUE: a DescribeImages filter selecting the base image, newest first (repeatable), e.g. name=ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*")
	fs.StringVar(&b.SSMParameter, "base-ssm-parameter", "", "an SSM parameter holding the base image's id (per region), instead of --base-owner and --base-filter")
	fs.BoolVar(&b.IncludeDeprecated, "base-include-deprecated", false, "let deprecated images be the base")
	fs.StringVar(&b.Var, "base-var", bake.DefaultBaseVar, "template variable receiving the base image's id")
	fs.StringVar(&b.Mode, "base-mode", bake.BaseTrack, "track: a newer base image rebuilds; locked: use the pin in the lock file")
	BindEnv(fs, "base-owner", "AMI_BAKERY_BASE_OWNERS")
	BindEnv(fs, "base-filter", "AMI_BAKERY_BASE_FILTERS")
	BindEnv(fs, "base-ssm-parameter", "AMI_BAKERY_BASE_SSM_PARAMETER")
	BindEnv(fs, "base-include-deprecated", "AMI_BAKERY_BASE_INCLUDE_DEPRECATED")
	BindEnv(fs, "base-var", "AMI_BAKERY_BASE_VAR")
	BindEnv(fs, "base-mode", "AMI_BAKERY_BASE_MODE")
}

// Declared reports whether any base is given.
func (b *Base) Declared() bool {
	return len(b.Owners) > 0 || len(b.Filters) > 0 || b.SSMParameter != ""
}

// Validate checks the base flags and returns the base, or nil when none
// is given.
func (b *Base) Validate() (*bake.Base, error) {
	if !b.Declared() {
		return nil, nil
	}
	base, err := NewBase(b.Owners, b.Filters, b.SSMParameter, b.IncludeDeprecated, b.Var, b.Mode)
	if err != nil {
		return nil, usererr.Usage(err)
	}
	return base, nil
}

// NewBase checks a base's settings, however given, and makes it. The
// errors name the project file's attributes and the flags alike.
func NewBase(owners, filters []string, ssmParam string, includeDeprecated bool, varName, mode string) (*bake.Base, error) {
	q := images.BaseQuery{Owners: owners, IncludeDeprecated: includeDeprecated, SSMParameter: ssmParam}
	switch {
	case ssmParam != "" && (len(owners) > 0 || len(filters) > 0):
		return nil, usererr.WithHint(fmt.Errorf("the base names both an SSM parameter and owners or filters"),
			"give either ssm_parameter (--base-ssm-parameter) or owners and filters (--base-owner, --base-filter)")
	case ssmParam == "" && len(owners) == 0:
		return nil, usererr.WithHint(fmt.Errorf("the base has filters but no owners"),
			"name the vendor's account in owners (--base-owner), e.g. 099720109477 for Canonical or amazon: an owner-less search could return anyone's image")
	case ssmParam == "" && len(filters) == 0:
		return nil, usererr.WithHint(fmt.Errorf("the base has owners but no filters"),
			"add a name filter (--base-filter name=PATTERN), e.g. name=ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*")
	case ssmParam != "" && !strings.HasPrefix(ssmParam, "/"):
		return nil, usererr.WithHint(fmt.Errorf("the base's SSM parameter %q is not a parameter path", ssmParam),
			"give the full path, e.g. /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id")
	case mode != "" && mode != bake.BaseTrack && mode != bake.BaseLocked:
		return nil, usererr.WithHint(fmt.Errorf("invalid base mode %q", mode), "use track or locked")
	}
	for _, o := range owners {
		if !images.ValidOwner(o) {
			return nil, usererr.WithHint(fmt.Errorf("invalid base owner %q", o), "give a 12-digit account id, self, amazon or aws-marketplace")
		}
	}
	if len(filters) > 0 {
		q.Filters = map[string]string{}
	}
	for _, f := range filters {
		k, v, ok := strings.Cut(f, "=")
		if !ok || k == "" || v == "" {
			return nil, usererr.WithHint(fmt.Errorf("invalid base filter %q", f), "write it as NAME=VALUE, e.g. name=ubuntu-jammy-*")
		}
		q.Filters[k] = v
	}
	if varName == "" {
		varName = bake.DefaultBaseVar
	}
	if mode == "" {
		mode = bake.BaseTrack
	}
	return &bake.Base{Query: q, Var: varName, Mode: mode}, nil
}
