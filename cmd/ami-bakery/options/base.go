package options

import (
	"strings"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/bake"
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
	base, err := bake.NewBase(b.Owners, b.Filters, b.SSMParameter, b.IncludeDeprecated, b.Var, b.Mode)
	if err != nil {
		return nil, b.flagOf(usererr.Usage(err))
	}
	return base, nil
}

// flagOf marks a base error with the one flag whose value alone is wrong,
// so that an error from the environment names its variable.
func (b *Base) flagOf(err error) error {
	switch {
	case b.Mode != "" && b.Mode != bake.BaseTrack && b.Mode != bake.BaseLocked:
		return flagErr("base-mode", err)
	case b.SSMParameter != "" && !strings.HasPrefix(b.SSMParameter, "/"):
		return flagErr("base-ssm-parameter", err)
	}
	for _, o := range b.Owners {
		if _, e := bake.NewBase([]string{o}, []string{"name=x"}, "", false, "", ""); e != nil {
			return flagErr("base-owner", err)
		}
	}
	for _, f := range b.Filters {
		if _, e := bake.NewBase([]string{"amazon"}, []string{f}, "", false, "", ""); e != nil {
			return flagErr("base-filter", err)
		}
	}
	return err
}

// CheckVars refuses a --var for the base's variable: ami-bakery passes it
// the resolved (or pinned) base image's id, which a --var would override
// behind the fingerprint's back.
func (b *Base) CheckVars(d *Definition) error {
	if !b.Declared() {
		return nil
	}
	for _, v := range d.Vars {
		if VarName(v) == b.Var {
			return usererr.WithHint(usererr.Usagef("--var %s would override the resolved base image", b.Var),
				"ami-bakery sets %s itself; remove that --var, or pin the base with --base-mode locked and ami-bakery lock", b.Var)
		}
	}
	return nil
}
