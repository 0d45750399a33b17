package awsemu

import (
	"encoding/base64"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// fields maps the filter names a Describe action supports to the values a
// resource has for them. A filter matches when any of its patterns matches
// any of the resource's values; all filters must match. tag:KEY, tag-key and
// tag-value are added for tagged resources. A filter name outside the map is
// refused, never ignored.
type fields[T any] map[string]func(T) []string

// applyFilters keeps the items matching every filter. tags gives an item's
// tags as the caller sees them, or is nil for untaggable resources.
func applyFilters[T any](fs []filter, spec fields[T], tags func(T) map[string]string, in []T) ([]T, error) {
	type compiled struct {
		get  func(T) []string
		pats []*regexp.Regexp
	}
	var cs []compiled
	for _, f := range fs {
		get, err := spec.lookup(f.name, tags)
		if err != nil {
			return nil, err
		}
		c := compiled{get: get}
		for _, v := range f.values {
			c.pats = append(c.pats, wildcard(v))
		}
		cs = append(cs, c)
	}
	var out []T
	for _, x := range in {
		ok := true
		for _, c := range cs {
			if !anyMatch(c.pats, c.get(x)) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, x)
		}
	}
	return out, nil
}

func (spec fields[T]) lookup(name string, tags func(T) map[string]string) (func(T) []string, error) {
	if get, ok := spec[name]; ok {
		return get, nil
	}
	if tags == nil {
		return nil, invalidFilter(name)
	}
	if key, ok := strings.CutPrefix(name, "tag:"); ok && key != "" {
		return func(x T) []string {
			if v, ok := tags(x)[key]; ok {
				return []string{v}
			}
			return nil
		}, nil
	}
	switch name {
	case "tag-key":
		return func(x T) []string {
			var out []string
			for k := range tags(x) {
				out = append(out, k)
			}
			return out
		}, nil
	case "tag-value":
		return func(x T) []string {
			var out []string
			for _, v := range tags(x) {
				out = append(out, v)
			}
			return out
		}, nil
	}
	return nil, invalidFilter(name)
}

func anyMatch(pats []*regexp.Regexp, vals []string) bool {
	for _, v := range vals {
		for _, p := range pats {
			if p.MatchString(v) {
				return true
			}
		}
	}
	return false
}

// wildcard compiles an EC2 filter value: * matches any run of characters, ?
// exactly one, and a backslash makes the next character literal. Matching is
// case-sensitive and anchored.
func wildcard(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	b.WriteString(`)$`)
	return regexp.MustCompile(b.String())
}

// one, boolStr and intStr make filter values.
func one(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func boolStr(b bool) []string { return []string{strconv.FormatBool(b)} }

func intStr(n int) []string { return []string{strconv.Itoa(n)} }

// tokenPrefix starts every NextToken (base64 of it and the last key). It
// keeps the package's old name: tokens are wire format.
const tokenPrefix = "ec2emu-v1:"

// paginate sorts items by key and returns the page after token (if any) of at
// most max items (all when max is 0), and the token for the next page. Tokens
// name the last key returned, so pages stay consistent while items come and
// go.
func paginate[T any](in []T, key func(T) string, max int, token string) ([]T, string, error) {
	slices.SortFunc(in, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	if token != "" {
		raw, err := base64.RawURLEncoding.DecodeString(token)
		after, ok := strings.CutPrefix(string(raw), tokenPrefix)
		if err != nil || !ok {
			return nil, "", errorf("InvalidPaginationToken", "Invalid pagination token: %s", token)
		}
		i := 0
		for i < len(in) && key(in[i]) <= after {
			i++
		}
		in = in[i:]
	}
	if max == 0 || len(in) <= max {
		return in, "", nil
	}
	page := in[:max]
	next := base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + key(page[max-1])))
	return page, next, nil
}
