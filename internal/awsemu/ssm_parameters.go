package awsemu

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parameters as Parameter Store keeps them, per account and region: each
// write is a new version (1, 2, ...), and a parameter keeps its 100 newest
// versions: the oldest is dropped to make room, unless it has a label, when
// PutParameter fails with ParameterMaxVersionLimitExceeded as in AWS
// (labels and history: ssm_labels.go). Only Standard
// String and StringList parameters are modelled: SecureString, the Advanced
// and Intelligent-Tiering tiers, KeyId, AllowedPattern, Policies and Tags are
// refused. Changing a parameter's Type is a HierarchyTypeMismatchException,
// changing its DataType to or from aws:ec2:image a ValidationException, as
// in AWS.
//
// DataType aws:ec2:image is validated asynchronously, as AWS does:
// PutParameter succeeds at once with the new version number, and the version
// stays invisible (GetParameter shows the previous one) until it is
// validated Options.SSMValidationDelay later; with Options.SSMNeverValidates
// never. Validation keeps the version if its value names an image the
// parameter's account sees in the region, and drops it otherwise (AWS: "the
// parameter will not be created or updated"); version numbers are not
// reused.

const (
	maxParamVersions  = 100
	maxParamNameLen   = 1011
	maxParamLevels    = 15
	maxParamValueLen  = 4096
	maxGetParameters  = 10
	dataTypeText      = "text"
	dataTypeImage     = "aws:ec2:image"
	publicParamPrefix = "/aws/service/"
)

type ssmParameter struct {
	name, account string // account is "" for a public parameter
	last          int64  // the highest version number handed out
	versions      []*ssmVersion
}

type ssmVersion struct {
	number                     int64
	value, typ, dataType, desc string
	modified                   time.Time
	// pending versions wait for validation at validAt (zero: never).
	pending bool
	validAt time.Time
	labels  []string // in the order they were attached
}

// current is the newest validated version, or nil.
func (p *ssmParameter) current() *ssmVersion {
	for i := len(p.versions) - 1; i >= 0; i-- {
		if !p.versions[i].pending {
			return p.versions[i]
		}
	}
	return nil
}

func (p *ssmParameter) version(n int64) *ssmVersion {
	for _, v := range p.versions {
		if v.number == n && !v.pending {
			return v
		}
	}
	return nil
}

// roomForVersion is nil when add may drop the oldest version: it fails as
// AWS does when the parameter holds its 100 versions and the oldest has a
// label.
func (p *ssmParameter) roomForVersion() error {
	if len(p.versions) < maxParamVersions || len(p.versions[0].labels) == 0 {
		return nil
	}
	return clientError("ParameterMaxVersionLimitExceeded", "You attempted to create a new version of %s by calling the PutParameter API with the overwrite flag. Version %d, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.", p.name, p.versions[0].number)
}

// add appends v as the next version, dropping the oldest beyond 100 (check
// roomForVersion first).
func (p *ssmParameter) add(v *ssmVersion) {
	p.last++
	v.number = p.last
	p.versions = append(p.versions, v)
	if len(p.versions) > maxParamVersions {
		p.versions = slices.Delete(p.versions, 0, len(p.versions)-maxParamVersions)
	}
}

// ownParams is account's parameters in the region, made on first use.
func (rs *regionState) ownParams(account string) map[string]*ssmParameter {
	m := rs.params[account]
	if m == nil {
		m = map[string]*ssmParameter{}
		rs.params[account] = m
	}
	return m
}

// validateParams settles every aws:ec2:image version due by now.
func (e *Emulator) validateParams(rs *regionState, now time.Time) {
	for account, ps := range rs.params {
		r := &request{e: e, account: account, rs: rs, now: now}
		for _, p := range ps {
			p.versions = slices.DeleteFunc(p.versions, func(v *ssmVersion) bool {
				if !v.pending || !due(v.validAt, now) {
					return false
				}
				im, ok := rs.images[v.value]
				v.pending = false
				return !ok || !r.sees(im)
			})
		}
	}
}

var paramNamePattern = regexp.MustCompile(`^[a-zA-Z0-9_.\-/]+$`)

func validateParamName(name string) error {
	switch {
	case name == "":
		return clientError("ValidationException", "Parameter name must not be empty")
	case len(name) > maxParamNameLen:
		return clientError("ValidationException", "Parameter name exceeds the maximum length of %d characters", maxParamNameLen)
	case !paramNamePattern.MatchString(name):
		return clientError("ValidationException", "Parameter name must only contain letters, numbers and _.-/ (got %q)", name)
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return clientError("ValidationException", "Parameter name must be a fully qualified name.")
	case strings.Count(name, "/") > maxParamLevels:
		return clientError("HierarchyLevelLimitExceededException", "A hierarchy can have a maximum of %d levels.", maxParamLevels)
	}
	first := strings.ToLower(strings.TrimPrefix(name, "/"))
	if strings.HasPrefix(first, "aws") || strings.HasPrefix(first, "ssm") {
		return clientError("ValidationException", "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).")
	}
	return nil
}

type putParameterInput struct {
	Name, Value, Type, DataType, Description, Tier string
	Overwrite                                      bool
}

func putParameter(r *request) (any, error) {
	in, err := decodeJSON[putParameterInput](r)
	if err != nil {
		return nil, err
	}
	if err := validateParamName(in.Name); err != nil {
		return nil, err
	}
	if err := checkPut(&in); err != nil {
		return nil, err
	}
	p := r.rs.ownParams(r.account)[in.Name]
	switch {
	case p != nil && len(p.versions) > 0: // (none left: every version failed validation)
		if err := checkOverwrite(p, &in); err != nil {
			return nil, err
		}
		if err := p.roomForVersion(); err != nil {
			return nil, err
		}
	case in.Type == "":
		return nil, clientError("ValidationException", "A parameter type is required when you create a parameter.")
	case p == nil:
		p = &ssmParameter{name: in.Name, account: r.account}
	}
	v := &ssmVersion{value: in.Value, typ: in.Type, dataType: in.DataType, desc: in.Description, modified: r.now}
	if v.dataType == dataTypeImage {
		v.pending = true
		if !r.e.opts.SSMNeverValidates {
			v.validAt = r.now.Add(r.e.opts.SSMValidationDelay)
		}
	}
	p.add(v)
	r.rs.ownParams(r.account)[in.Name] = p
	return map[string]any{"Version": v.number, "Tier": "Standard"}, nil
}

// checkPut checks what PutParameter asks for without looking at the state.
func checkPut(in *putParameterInput) error {
	if in.Value == "" || len(in.Value) > maxParamValueLen {
		return clientError("ValidationException", "Parameter value must be between 1 and %d characters", maxParamValueLen)
	}
	switch in.Type {
	case "", "String", "StringList":
	case "SecureString":
		return clientError("ValidationException", "SecureString parameters are not modelled by this emulator")
	default:
		return clientError("ValidationException", "1 validation error detected: Value '%s' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]", in.Type)
	}
	if in.Tier != "" && in.Tier != "Standard" {
		return clientError("ValidationException", "only the Standard tier is modelled by this emulator, not %s", in.Tier)
	}
	switch in.DataType {
	case "":
		in.DataType = dataTypeText
	case dataTypeText, dataTypeImage:
	default:
		return clientError("ValidationException", "The following data type is not supported: %s (Data type names are all lowercase.)", in.DataType)
	}
	if in.DataType == dataTypeImage && in.Type == "StringList" {
		return clientError("ValidationException", "The data type aws:ec2:image is only supported for String parameters")
	}
	return nil
}

// checkOverwrite checks a write over an existing parameter, and fills in
// the Type it keeps.
func checkOverwrite(p *ssmParameter, in *putParameterInput) error {
	if !in.Overwrite {
		return clientError("ParameterAlreadyExists", "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")
	}
	last := p.versions[len(p.versions)-1]
	if in.Type == "" {
		in.Type = last.typ
	}
	if in.Type != last.typ {
		return clientError("HierarchyTypeMismatchException", "The parameter type can't be changed from %s to %s. You must create a new, unique parameter.", last.typ, in.Type)
	}
	if in.DataType != last.dataType && (in.DataType == dataTypeImage || last.dataType == dataTypeImage) {
		return clientError("ValidationException", "The data type of parameter %s can't be changed from %s to %s.", p.name, last.dataType, in.DataType)
	}
	return nil
}

// parameterJSON is a Parameter as GetParameter and friends answer it.
type parameterJSON struct {
	Name             string
	Type             string
	Value            string
	Version          int64
	Selector         string `json:",omitempty"`
	LastModifiedDate float64
	ARN              string
	DataType         string
}

func (r *request) parameterJSON(p *ssmParameter, v *ssmVersion, selector string) parameterJSON {
	arn := "arn:aws:ssm:" + r.region + ":" + p.account + ":parameter/" + strings.TrimPrefix(p.name, "/")
	return parameterJSON{Name: p.name, Type: v.typ, Value: v.value, Version: v.number, Selector: selector,
		LastModifiedDate: float64(v.modified.UnixMilli()) / 1000, ARN: arn, DataType: v.dataType}
}

// lookupParam finds a parameter the caller may read (its own, or a public
// one) by a name with an optional selector: ":VERSION" or ":LABEL", as AWS
// reads them. A version that does not exist is ParameterVersionNotFound; a
// label no version carries is ParameterNotFound (a guess: AWS documents
// neither, and these are the only two "not found" codes GetParameter has).
func (r *request) lookupParam(ref string) (parameterJSON, error) {
	if err := refuseARN(ref); err != nil {
		return parameterJSON{}, err
	}
	name, sel, hasSel := strings.Cut(ref, ":")
	p := r.readableParam(name)
	var v *ssmVersion
	if p != nil {
		v = p.current()
	}
	if v == nil {
		return parameterJSON{}, clientError("ParameterNotFound", "Parameter %s not found.", name)
	}
	if !hasSel {
		return r.parameterJSON(p, v, ""), nil
	}
	if n, err := strconv.ParseInt(sel, 10, 64); err == nil {
		if v = p.version(n); v == nil {
			return parameterJSON{}, clientError("ParameterVersionNotFound", "Systems Manager could not find version %d of %s. Verify the version and try again.", n, name)
		}
	} else if v = p.labelled(sel); v == nil {
		return parameterJSON{}, clientError("ParameterNotFound", "Parameter %s not found.", ref)
	}
	return r.parameterJSON(p, v, ":"+sel), nil
}

// readableParam is the parameter name the caller may read: its own, or a
// public one; nil if there is none.
func (r *request) readableParam(name string) *ssmParameter {
	if strings.HasPrefix(name, publicParamPrefix) {
		return r.rs.public[name]
	}
	return r.rs.params[r.account][name]
}

type getParameterInput struct {
	Name           string
	WithDecryption bool
}

func getParameter(r *request) (any, error) {
	in, err := decodeJSON[getParameterInput](r)
	if err != nil {
		return nil, err
	}
	if in.Name == "" {
		return nil, clientError("ValidationException", "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null")
	}
	out, err := r.lookupParam(in.Name)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Parameter": out}, nil
}

type getParametersInput struct {
	Names          []string
	WithDecryption bool
}

func getParameters(r *request) (any, error) {
	in, err := decodeJSON[getParametersInput](r)
	if err != nil {
		return nil, err
	}
	if len(in.Names) == 0 || len(in.Names) > maxGetParameters {
		return nil, clientError("ValidationException", "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length less than or equal to %d and greater than or equal to 1", maxGetParameters)
	}
	found, invalid := []parameterJSON{}, []string{}
	for _, name := range in.Names {
		p, err := r.lookupParam(name)
		if ae, ok := err.(*apiError); ok && (ae.Code == "ParameterNotFound" || ae.Code == "ParameterVersionNotFound") {
			invalid = append(invalid, name)
			continue
		}
		if err != nil {
			return nil, err
		}
		found = append(found, p)
	}
	return map[string]any{"Parameters": found, "InvalidParameters": invalid}, nil
}

type deleteParameterInput struct{ Name string }

func deleteParameter(r *request) (any, error) {
	in, err := decodeJSON[deleteParameterInput](r)
	if err != nil {
		return nil, err
	}
	own := r.rs.params[r.account]
	if _, ok := own[in.Name]; !ok {
		return nil, clientError("ParameterNotFound", "Parameter %s not found.", in.Name)
	}
	delete(own, in.Name)
	return map[string]any{}, nil
}
