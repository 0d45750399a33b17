package awsemu

import (
	"encoding/base64"
	"maps"
	"slices"
	"strings"
)

// DescribeParameters lists the caller's own parameters in the region (not
// the public ones under /aws/service/, which AWS does not list either),
// every name whatever its form ("/a/b" and "plain"), sorted by name, with
// their metadata but not their values. MaxResults is 1 to 50, as in AWS;
// without it a page holds at most 10 (AWS documents no default: 10 is
// GetParametersByPath's). AWS answers "on a best-effort basis": a page may
// hold fewer items than asked, even none, and still carry a NextToken;
// with Options.SSMShortPages the pages alternate between none and half of
// what was asked (at least one), so that a client that stops at a short or
// empty page is caught. Filters, ParameterFilters and Shared are not modelled and are
// refused with ValidationException.

const (
	maxDescribeParamResults     = 50
	defaultDescribeParamResults = 10
)

type describeParametersInput struct {
	MaxResults       *int
	NextToken        string
	Filters          []any
	ParameterFilters []any
	Shared           *bool
}

// parameterMetadataJSON is a ParameterMetadata as DescribeParameters
// answers it.
type parameterMetadataJSON struct {
	Name             string
	ARN              string
	Type             string
	Version          int64
	LastModifiedDate float64
	Description      string `json:",omitempty"`
	Tier             string
	DataType         string
	Policies         []any
}

func describeParameters(r *request) (any, error) {
	in, err := decodeJSON[describeParametersInput](r)
	if err != nil {
		return nil, err
	}
	if len(in.Filters) > 0 || len(in.ParameterFilters) > 0 || in.Shared != nil {
		return nil, clientError("ValidationException", "Filters, ParameterFilters and Shared are not modelled by this emulator")
	}
	limit := defaultDescribeParamResults
	if in.MaxResults != nil {
		if limit = *in.MaxResults; limit < 1 || limit > maxDescribeParamResults {
			return nil, clientError("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", limit, maxDescribeParamResults)
		}
	}
	own := r.rs.params[r.account]
	var names []string
	for _, name := range slices.Sorted(maps.Keys(own)) {
		if own[name].current() != nil {
			names = append(names, name)
		}
	}
	start, err := pageStart(names, in.NextToken)
	if err != nil {
		return nil, err
	}
	n, empty := limit, false
	if r.e.opts.SSMShortPages {
		// A token after an empty page ends with NUL (describeToken).
		last, _ := base64.RawURLEncoding.DecodeString(in.NextToken)
		empty = !strings.HasSuffix(string(last), "\x00")
		n = max(1, limit/2)
		if empty {
			n = 0
		}
	}
	end := min(start+n, len(names))
	page := []parameterMetadataJSON{}
	for _, name := range names[start:end] {
		p := own[name]
		v := p.current()
		pj := r.parameterJSON(p, v, "")
		page = append(page, parameterMetadataJSON{Name: pj.Name, ARN: pj.ARN, Type: pj.Type, Version: pj.Version,
			LastModifiedDate: pj.LastModifiedDate, Description: v.desc, Tier: "Standard", DataType: pj.DataType, Policies: []any{}})
	}
	out := map[string]any{"Parameters": page}
	if end < len(names) {
		out["NextToken"] = describeToken(names, start, end)
	}
	return out, nil
}

// describeToken is the NextToken of a page that covered names[start:end]:
// the last name of the page, or, for an empty page, the name before it
// followed by NUL (no name has one, so pageStart still finds start).
func describeToken(names []string, start, end int) string {
	switch {
	case end > start:
		return pageToken(names[end-1])
	case start > 0:
		return pageToken(names[start-1] + "\x00")
	}
	return pageToken("\x00")
}
