package awsemu

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// params reads an EC2 Query request. EC2 flattens lists as Name.1, Name.2 and
// structures as Name.1.Field, always counting from 1.
type params struct{ v url.Values }

func (p params) has(name string) bool { _, ok := p.v[name]; return ok }

func (p params) str(name string) string { return p.v.Get(name) }

// required returns the parameter or MissingParameter.
func (p params) required(name string) (string, error) {
	s := p.v.Get(name)
	if s == "" {
		return "", missingParameter(name)
	}
	return s, nil
}

// indices lists, in order, every N for which a key prefix.N or prefix.N.* is
// present.
func (p params) indices(prefix string) []int {
	var out []int
	for k := range p.v {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 {
			continue
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// list returns the values of prefix.1, prefix.2, ... in index order.
func (p params) list(prefix string) []string {
	var out []string
	for _, n := range p.indices(prefix) {
		k := prefix + "." + strconv.Itoa(n)
		if p.has(k) {
			out = append(out, p.v.Get(k))
		}
	}
	return out
}

// boolean reads a true/false parameter; def is returned when it is absent.
func (p params) boolean(name string, def bool) (bool, error) {
	if !p.has(name) {
		return def, nil
	}
	switch strings.ToLower(p.v.Get(name)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidParameter("Invalid value '%s' for %s. Expected a boolean", p.v.Get(name), name)
}

// integer reads an integer parameter; def is returned when it is absent.
func (p params) integer(name string, def int) (int, error) {
	if !p.has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(p.v.Get(name))
	if err != nil {
		return 0, invalidParameter("Invalid value '%s' for %s. Expected an integer", p.v.Get(name), name)
	}
	return n, nil
}

// filter is one Filter.N: a name and the patterns any of which may match.
type filter struct {
	name   string
	values []string
}

// filters reads Filter.N.Name and Filter.N.Value.M.
func (p params) filters() ([]filter, error) {
	var out []filter
	for _, n := range p.indices("Filter") {
		pre := "Filter." + strconv.Itoa(n)
		name := p.str(pre + ".Name")
		if name == "" {
			return nil, missingParameter(pre + ".Name")
		}
		vals := p.list(pre + ".Value")
		if len(vals) == 0 {
			return nil, invalidParameter("The filter '%s' requires at least one value", name)
		}
		out = append(out, filter{name: name, values: vals})
	}
	return out, checkFilterLimits(out)
}

// tag is one key/value pair as sent or returned.
type tag struct {
	Key   string
	Value string
}

// tagList reads prefix.N.Key / prefix.N.Value.
func (p params) tagList(prefix string) ([]tag, error) {
	var out []tag
	for _, n := range p.indices(prefix) {
		pre := prefix + "." + strconv.Itoa(n)
		t := tag{Key: p.str(pre + ".Key"), Value: p.str(pre + ".Value")}
		if err := validateTag(t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// tagSpecs reads TagSpecification.N and returns the tags per resource type,
// refusing resource types the action cannot tag.
func (p params) tagSpecs(allowed ...string) (map[string][]tag, error) {
	out := map[string][]tag{}
	for _, n := range p.indices("TagSpecification") {
		pre := "TagSpecification." + strconv.Itoa(n)
		rt := p.str(pre + ".ResourceType")
		if rt == "" {
			return nil, missingParameter(pre + ".ResourceType")
		}
		if !slices.Contains(allowed, rt) {
			return nil, invalidParameter("'%s' is not a valid taggable resource type for this operation.", rt)
		}
		tags, err := p.tagList(pre + ".Tag")
		if err != nil {
			return nil, err
		}
		out[rt] = append(out[rt], tags...)
	}
	for rt, tags := range out {
		if len(tags) > maxTags {
			return nil, errorf("TagLimitExceeded", "The maximum number of tags for a %s is %d", rt, maxTags)
		}
	}
	return out, nil
}

const maxTags = 50

func validateTag(t tag) error {
	switch {
	case t.Key == "":
		return invalidParameter("Tag keys must be between 1 and 128 characters")
	case len(t.Key) > 128:
		return invalidParameter("Tag key exceeds the maximum length of 128 characters")
	case len(t.Value) > 256:
		return invalidParameter("Tag value exceeds the maximum length of 256 characters")
	case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
		return invalidParameter("Tag keys starting with 'aws:' are reserved for internal use")
	}
	return nil
}

// maxResults reads MaxResults (0 when absent) and enforces EC2's bounds. EC2
// refuses MaxResults together with an explicit id list.
func (p params) maxResults(lo, hi int, idParam string) (int, error) {
	if !p.has("MaxResults") {
		return 0, nil
	}
	n, err := p.integer("MaxResults", 0)
	if err != nil {
		return 0, err
	}
	if n < lo || n > hi {
		return 0, invalidParameter("Value ( %d ) for parameter maxResults is invalid. Expecting a value between %d and %d.", n, lo, hi)
	}
	if idParam != "" && len(p.list(idParam)) > 0 {
		return 0, errorf("InvalidParameterCombination", "The parameter %s cannot be used with the parameter maxResults", idParam)
	}
	return n, nil
}

var idPattern = regexp.MustCompile(`^[a-z]+-([0-9a-f]{8}|[0-9a-f]{17})$`)

// checkIDs validates the form of ids with the given prefix ("ami", "i", ...)
// and answers malformedCode for the first that does not look like one.
func checkIDs(ids []string, prefix, malformedCode string) error {
	for _, id := range ids {
		if !strings.HasPrefix(id, prefix+"-") || !idPattern.MatchString(id) {
			return errorf(malformedCode, "Invalid id: \"%s\" (expecting \"%s-...\")", id, prefix)
		}
	}
	return nil
}
