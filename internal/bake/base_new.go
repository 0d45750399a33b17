package bake

import (
	"fmt"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// NewBase checks a base's settings, however given, and makes it. The
// errors name the project file's attributes and the flags alike.
func NewBase(owners, filters []string, ssmParam string, includeDeprecated bool, varName, mode string) (*Base, error) {
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
	case mode != "" && mode != BaseTrack && mode != BaseLocked:
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
		varName = DefaultBaseVar
	}
	if mode == "" {
		mode = BaseTrack
	}
	return &Base{Query: q, Var: varName, Mode: mode}, nil
}

// Clone returns a fresh copy of the base's settings, without what was
// resolved, or nil for nil.
func (bs *Base) Clone() *Base {
	if bs == nil {
		return nil
	}
	return &Base{Query: bs.Query, Var: bs.Var, Mode: bs.Mode, Pinned: bs.Pinned, PinsFile: bs.PinsFile}
}
