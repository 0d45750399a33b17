package awsemu

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// GetParameterHistory, LabelParameterVersion and UnlabelParameterVersion.
//
// GetParameterHistory lists every version a parameter keeps (its own or a
// public one), oldest first, with its labels, at most MaxResults (1 to 50) a
// page with an opaque NextToken; versions of data type aws:ec2:image that
// are not yet validated are not listed. AWS documents neither the order nor
// the default page size: oldest first is what AWS is reported to answer, and
// 50 (the largest page) is a guess.
//
// A label names one version of a parameter, as AWS has it: a label is
// unique per parameter (attaching it to another version moves it), a
// version carries at most 10 (ParameterVersionLabelLimitExceeded, and
// nothing is attached), and GetParameter reads "NAME:LABEL" as well as
// "NAME:VERSION". A label that breaks AWS's rules (letters, digits, ".",
// "-" and "_"; not starting with a digit, nor with "aws" or "ssm" in any
// case) is not attached and comes back in InvalidLabels, not as an error;
// one outside 1 to 100 characters, and a list outside 1 to 10 labels, is a
// ValidationException, as AWS's API model constrains them before the rules.
// Labels go only on the caller's own parameters; ARNs as names are refused.

const (
	maxHistoryResults  = 50
	maxLabelsPerCall   = 10
	maxLabelsOnVersion = 10
	maxLabelLen        = 100
)

var labelPattern = regexp.MustCompile(`^[a-zA-Z0-9._-]+$`)

// validLabel is whether label keeps AWS's rules for a parameter label.
func validLabel(label string) bool {
	low := strings.ToLower(label)
	return labelPattern.MatchString(label) && (label[0] < '0' || label[0] > '9') &&
		!strings.HasPrefix(low, "aws") && !strings.HasPrefix(low, "ssm")
}

// labelled is the version carrying label, or nil.
func (p *ssmParameter) labelled(label string) *ssmVersion {
	for _, v := range p.versions {
		if !v.pending && slices.Contains(v.labels, label) {
			return v
		}
	}
	return nil
}

// refuseARN refuses a parameter named by its ARN, which AWS accepts and the
// emulator does not model.
func refuseARN(name string) error {
	if strings.HasPrefix(name, "arn:") {
		return clientError("ValidationException", "parameter ARNs (%s) are not modelled by this emulator: name the parameter", name)
	}
	return nil
}

// checkLabelList checks Labels as AWS's API model constrains them.
func checkLabelList(labels []string) error {
	if len(labels) < 1 || len(labels) > maxLabelsPerCall {
		return clientError("ValidationException", "1 validation error detected: Value at 'labels' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", maxLabelsPerCall)
	}
	for _, l := range labels {
		if len(l) < 1 || len(l) > maxLabelLen {
			return clientError("ValidationException", "1 validation error detected: Value '%s' at 'labels' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", l, maxLabelLen)
		}
	}
	return nil
}

// ownParamVersion is the caller's parameter name and its version n (nil:
// the newest), or ParameterNotFound / ParameterVersionNotFound.
func (r *request) ownParamVersion(name string, n *int64) (*ssmParameter, *ssmVersion, error) {
	if name == "" {
		return nil, nil, clientError("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := refuseARN(name); err != nil {
		return nil, nil, err
	}
	p := r.rs.params[r.account][name]
	if p == nil || p.current() == nil {
		return nil, nil, clientError("ParameterNotFound", "Parameter %s not found.", name)
	}
	if n == nil {
		return p, p.current(), nil
	}
	v := p.version(*n)
	if v == nil {
		return nil, nil, clientError("ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", *n, name)
	}
	return p, v, nil
}

type labelParameterVersionInput struct {
	Name             string
	ParameterVersion *int64
	Labels           []string
}

func labelParameterVersion(r *request) (any, error) {
	in, err := decodeJSON[labelParameterVersionInput](r)
	if err != nil {
		return nil, err
	}
	if err := checkLabelList(in.Labels); err != nil {
		return nil, err
	}
	p, v, err := r.ownParamVersion(in.Name, in.ParameterVersion)
	if err != nil {
		return nil, err
	}
	invalid, add := []string{}, []string{}
	for _, l := range in.Labels {
		switch {
		case !validLabel(l):
			invalid = append(invalid, l)
		case !slices.Contains(v.labels, l) && !slices.Contains(add, l):
			add = append(add, l)
		}
	}
	if len(v.labels)+len(add) > maxLabelsOnVersion {
		return nil, clientError("ParameterVersionLabelLimitExceeded", "A parameter version can have maximum %d labels. Move one or more labels to another version and try again.", maxLabelsOnVersion)
	}
	for _, l := range add {
		if old := p.labelled(l); old != nil {
			old.labels = slices.DeleteFunc(old.labels, func(x string) bool { return x == l })
		}
		v.labels = append(v.labels, l)
	}
	return map[string]any{"InvalidLabels": invalid, "ParameterVersion": v.number}, nil
}

type unlabelParameterVersionInput struct {
	Name             string
	ParameterVersion *int64
	Labels           []string
}

func unlabelParameterVersion(r *request) (any, error) {
	in, err := decodeJSON[unlabelParameterVersionInput](r)
	if err != nil {
		return nil, err
	}
	if in.ParameterVersion == nil {
		return nil, clientError("ValidationException", "1 validation error detected: Value null at 'parameterVersion' failed to satisfy constraint: Member must not be null")
	}
	if err := checkLabelList(in.Labels); err != nil {
		return nil, err
	}
	_, v, err := r.ownParamVersion(in.Name, in.ParameterVersion)
	if err != nil {
		return nil, err
	}
	removed, invalid := []string{}, []string{}
	for _, l := range in.Labels {
		if i := slices.Index(v.labels, l); i >= 0 {
			v.labels = slices.Delete(v.labels, i, i+1)
			removed = append(removed, l)
		} else if !slices.Contains(removed, l) {
			invalid = append(invalid, l)
		}
	}
	return map[string]any{"RemovedLabels": removed, "InvalidLabels": invalid}, nil
}

type getParameterHistoryInput struct {
	Name           string
	WithDecryption bool
	MaxResults     *int
	NextToken      string
}

// parameterHistoryJSON is a ParameterHistory as GetParameterHistory
// answers it.
type parameterHistoryJSON struct {
	Name             string
	Type             string
	Value            string
	Version          int64
	LastModifiedDate float64
	Description      string `json:",omitempty"`
	Labels           []string
	Tier             string
	Policies         []any
	DataType         string
}

func getParameterHistory(r *request) (any, error) {
	in, err := decodeJSON[getParameterHistoryInput](r)
	if err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, clientError("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	if err := refuseARN(in.Name); err != nil {
		return nil, err
	}
	limit := maxHistoryResults
	if in.MaxResults != nil {
		if limit = *in.MaxResults; limit < 1 || limit > maxHistoryResults {
			return nil, clientError("ValidationException", "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to %d", limit, maxHistoryResults)
		}
	}
	p := r.readableParam(in.Name)
	if p == nil || p.current() == nil {
		return nil, clientError("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	var keys []string // zero-padded version numbers, so that they sort as numbers
	byKey := map[string]*ssmVersion{}
	for _, v := range p.versions {
		if !v.pending {
			k := fmt.Sprintf("%020d", v.number)
			keys = append(keys, k)
			byKey[k] = v
		}
	}
	start, err := pageStart(keys, in.NextToken)
	if err != nil {
		return nil, err
	}
	page := []parameterHistoryJSON{}
	for _, k := range keys[start:min(start+limit, len(keys))] {
		v := byKey[k]
		page = append(page, parameterHistoryJSON{Name: p.name, Type: v.typ, Value: v.value, Version: v.number,
			LastModifiedDate: float64(v.modified.UnixMilli()) / 1000, Description: v.desc,
			Labels: append([]string{}, v.labels...), Tier: "Standard", Policies: []any{}, DataType: v.dataType})
	}
	out := map[string]any{"Parameters": page}
	if start+limit < len(keys) {
		out["NextToken"] = pageToken(keys[start+limit-1])
	}
	return out, nil
}

// ParameterLabels returns the labels of account's parameter name in region,
// by version number, as tests see them.
func (e *Emulator) ParameterLabels(account, region, name string) map[int64][]string {
	out := map[int64][]string{}
	e.inspect(region, func(rs *regionState) {
		if p := rs.params[account][name]; p != nil {
			for _, v := range p.versions {
				if len(v.labels) > 0 {
					out[v.number] = slices.Clone(v.labels)
				}
			}
		}
	})
	return out
}
