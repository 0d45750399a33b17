package awsemu

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// GetParametersByPath and the public parameters.
//
// GetParametersByPath lists the parameters directly under Path (the names
// Path + "/" + NAME), or every level below it with Recursive, sorted by name,
// at most MaxResults (1 to 10, default 10) a page, with an opaque NextToken.
// ParameterFilters are not modelled and are refused. Under the Path "/" a
// name without a leading slash ("plain") counts as a top-level one, as AWS
// answers (a parameter "foo" is listed by Path "/": reported against AWS in
// getmoto/moto#1700, which moto then modelled).
//
// Public parameters (SetPublicParameter) live under /aws/service/ in each
// region, as AWS publishes AMI ids there; every account reads them with
// GetParameter, GetParameters and GetParametersByPath, and none can write
// them (the aws prefix is reserved).

const maxPathResults = 10

type getParametersByPathInput struct {
	Path           string
	Recursive      bool
	WithDecryption bool
	MaxResults     *int
	NextToken      string
}

func getParametersByPath(r *request) (any, error) {
	in, err := decodeJSON[getParametersByPathInput](r)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.Path, "/") {
		return nil, clientError("ValidationException", "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\".")
	}
	limit := maxPathResults
	if in.MaxResults != nil {
		if limit = *in.MaxResults; limit < 1 || limit > maxPathResults {
			return nil, clientError("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", limit, maxPathResults)
		}
	}
	source := r.rs.params[r.account]
	if strings.HasPrefix(in.Path+"/", publicParamPrefix) {
		source = r.rs.public
	}
	prefix := strings.TrimSuffix(in.Path, "/") + "/"
	var names []string
	for name, p := range source {
		full := name
		if prefix == "/" && !strings.HasPrefix(name, "/") {
			full = "/" + name
		}
		rest, ok := strings.CutPrefix(full, prefix)
		if ok && p.current() != nil && (in.Recursive || !strings.Contains(rest, "/")) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	start, err := pageStart(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	page := []parameterJSON{}
	for _, name := range names[start:min(start+limit, len(names))] {
		p := source[name]
		page = append(page, r.parameterJSON(p, p.current(), ""))
	}
	if start+limit < len(names) {
		out["NextToken"] = pageToken(names[start+limit-1])
	}
	out["Parameters"] = page
	return out, nil
}

// SetPublicParameter publishes a public parameter (a String of data type
// text, as AWS publishes its AMI ids) in region, readable by every account,
// as a new version of it. name must start with /aws/service/.
func (e *Emulator) SetPublicParameter(region, name, value string) error {
	if !knownRegion(region) {
		return fmt.Errorf("setting public parameter %s: unknown region %q", name, region)
	}
	if !strings.HasPrefix(name, publicParamPrefix) || !paramNamePattern.MatchString(name) || value == "" {
		return fmt.Errorf("setting public parameter %q: want a name under %s and a value", name, publicParamPrefix)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.nowLocked()
	rs := e.regionLocked(region, now)
	p := rs.public[name]
	if p == nil {
		p = &ssmParameter{name: name}
		rs.public[name] = p
	}
	p.add(&ssmVersion{value: value, typ: "String", dataType: dataTypeText, modified: now})
	return nil
}

// SetSSMValidation changes Options.SSMValidationDelay and
// SSMNeverValidates on a running emulator (for the versions written from
// now on), e.g. from a CLI script whose emulator was made with zero Options.
func (e *Emulator) SetSSMValidation(delay time.Duration, never bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.opts.SSMValidationDelay, e.opts.SSMNeverValidates = delay, never
}

// Parameter is an SSM parameter's newest validated version, as tests see it.
type Parameter struct {
	Name, Value, Type, DataType string
	Version                     int64
	// Pending counts the versions written but not yet validated.
	Pending int
}

// Parameters returns account's parameters in region (visible or pending),
// sorted by name.
func (e *Emulator) Parameters(account, region string) []Parameter {
	var out []Parameter
	e.inspect(region, func(rs *regionState) {
		ps := rs.params[account]
		for _, name := range slices.Sorted(maps.Keys(ps)) {
			p := ps[name]
			x := Parameter{Name: name}
			for _, v := range p.versions {
				if v.pending {
					x.Pending++
				}
			}
			if v := p.current(); v != nil {
				x.Value, x.Type, x.DataType, x.Version = v.value, v.typ, v.dataType, v.number
			}
			out = append(out, x)
		}
	})
	return out
}
