package packer

import (
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// This file holds what LoadTemplate reads of a source's settings and of its
// manifest post-processors, and how --only selects sources.

// SettingNames are the source settings LoadTemplate reads into
// Source.Settings: those ami-bakery wires to its own flags, the name that
// the fingerprint check looks at, and skip_create_ami (a source that sets
// it makes no AMI).
var SettingNames = []string{"region", "subnet_id", "vpc_id", "custom_endpoint_ec2", "ami_regions", "ami_name", "skip_create_ami"}

// DefaultManifest is the output of a manifest post-processor that names
// none, relative to packer's working directory.
const DefaultManifest = "packer-manifest.json"

// Setting is one setting of a source, or a manifest's output, as written.
// Nothing is evaluated at load time; Eval evaluates it on demand.
type Setting struct {
	// Pos is where it is written, "file:line".
	Pos string
	// Text is the expression as written, for messages.
	Text string
	// Var is the variable the setting is, when it is exactly one variable
	// reference ({{user `x`}}, var.x, or a local that is one), else "".
	Var string
	// Vars are the variables it depends on, through locals, sorted.
	Vars []string
	// eval returns the value given the variables' values (a variable
	// not in vars has its default); ok is false when the value is
	// unknown: a variable without a value, timestamp(), an unknown
	// function, an error. A list is joined with commas.
	eval func(vars map[string]string) (value string, ok bool)
}

// Eval returns the setting's value given the values of variables; a
// variable missing from vars has its declared default. ok is false when the
// value cannot be known before packer runs.
func (s Setting) Eval(vars map[string]string) (string, bool) {
	if s.eval == nil {
		return "", false
	}
	return s.eval(vars)
}

// Literal returns the setting's value when it depends on no variable and
// is known: a literal as written, or built from literals.
func (s Setting) Literal() (string, bool) {
	if len(s.Vars) > 0 {
		return "", false
	}
	return s.Eval(nil)
}

// Selected returns the amazon sources packer would build with -only only:
// Select(only, nil).
func (t *Template) Selected(only []string) []Source { return t.Select(only, nil) }

// Select returns the amazon sources packer would build with -only only and
// -except except: each source used by a build (every JSON builder is) of
// which at least one build name matches one of only's patterns (or only is
// empty) and none of except's. A pattern matches as packer 1.6.6 matches
// it: exactly in a JSON template, as a glob ("*.amazon-ebs.al2") in HCL2.
func (t *Template) Select(only, except []string) []Source {
	var out []Source
	for _, s := range t.AmazonSources() {
		if len(t.selectedBuilds(s, only, except)) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// SelectedBuilds returns the build names of the amazon sources that -only
// only and -except except select, in source order: the canonical form of a
// selection (two patterns that select the same builds give the same
// names), e.g. for the fingerprint. It is every amazon build when the
// selection leaves none out.
func (t *Template) SelectedBuilds(only, except []string) []string {
	var out []string
	for _, s := range t.AmazonSources() {
		out = append(out, t.selectedBuilds(s, only, except)...)
	}
	return out
}

// selectedBuilds returns the build names of s that -only only and -except
// except select.
func (t *Template) selectedBuilds(s Source, only, except []string) []string {
	var out []string
	for _, b := range s.Builds {
		if (len(only) == 0 || t.matchesAny(only, b)) && !t.matchesAny(except, b) {
			out = append(out, b)
		}
	}
	return out
}

// matchesAny reports whether the build name b matches one of pats as
// packer 1.6.6 matches -only and -except: exactly for a JSON template
// (it compares names), as a glob for HCL2 (its gobwas globs, whose "*"
// also matches a dot, as path.Match's does in a name without "/").
func (t *Template) matchesAny(pats []string, b string) bool {
	return slices.ContainsFunc(pats, func(pat string) bool {
		if pat == b {
			return true
		}
		ok, err := path.Match(pat, b)
		return t.Syntax != "json" && err == nil && ok
	})
}

// BuildNames returns every build name of the template, of every builder
// type, in the order of its sources: the names -only and -except take, for
// a message about a selection that matches nothing.
func (t *Template) BuildNames() []string {
	var out []string
	for _, s := range t.Sources {
		for _, b := range s.Builds {
			if !slices.Contains(out, b) {
				out = append(out, b)
			}
		}
	}
	return out
}

// UnmatchedPatterns returns the patterns of only and except, in order, that
// match no build of the template at all (of any builder type): a name
// mistyped in a list packer would otherwise take silently.
func (t *Template) UnmatchedPatterns(only, except []string) []string {
	names := t.BuildNames()
	var out []string
	for _, pat := range slices.Concat(only, except) {
		if !slices.ContainsFunc(names, func(b string) bool { return t.matchesAny([]string{pat}, b) }) {
			out = append(out, pat)
		}
	}
	return out
}

// SkippingAMI returns the sources among sources whose skip_create_ami is
// true given the values of variables (a variable missing from vars has its
// default), and those whose skip_create_ami cannot be known before packer
// runs. Packer builds such a source without creating an AMI, so there would
// be nothing to tag or find. A value is read as packer reads a boolean
// (strconv.ParseBool: "true", "1", "T", ...).
func SkippingAMI(sources []Source, vars map[string]string) (skip, unknown []Source) {
	for _, s := range sources {
		st, ok := s.Settings["skip_create_ami"]
		if !ok {
			continue
		}
		v, known := st.Eval(vars)
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		switch {
		case !known || (err != nil && v != ""):
			unknown = append(unknown, s)
		case b:
			skip = append(skip, s)
		}
	}
	return skip, unknown
}

// SetsRegion reports whether the source sets region to anything but an
// empty literal. A source that does not (amazon-chroot may leave it out)
// takes the region from packer's environment, AWS_REGION or
// AWS_DEFAULT_REGION, or else from instance metadata.
func (s Source) SetsRegion() bool {
	st, ok := s.Settings["region"]
	if !ok {
		return false
	}
	v, known := st.Literal()
	return !known || v != ""
}

// WithoutRegion returns the sources among sources that set no region
// (Source.SetsRegion), which need the build region in packer's
// environment.
func WithoutRegion(sources []Source) []Source {
	var out []Source
	for _, s := range sources {
		if !s.SetsRegion() {
			out = append(out, s)
		}
	}
	return out
}

// SettingVars returns the variables that the selected sources' setting
// name is (each a plain variable reference), sorted, and the sources whose
// setting is something else (a literal, an expression) or absent.
func SettingVars(sources []Source, name string) (vars []string, others []Source) {
	for _, s := range sources {
		if st, ok := s.Settings[name]; ok && st.Var != "" {
			vars = append(vars, st.Var)
		} else {
			others = append(others, s)
		}
	}
	slices.Sort(vars)
	return slices.Compact(vars), others
}

// ManifestPaths returns the files the template's manifest post-processors
// write, resolved against packer's working directory dir, given the values
// of variables (the rest have their defaults). An output that cannot be
// known before the build (a variable without a value, a function) is
// returned in unknown instead.
func (t *Template) ManifestPaths(dir string, vars map[string]string) (paths []string, unknown []Setting) {
	for _, m := range t.Manifests {
		out, ok := m.Eval(vars)
		if !ok || out == "" {
			unknown = append(unknown, m)
			continue
		}
		if !filepath.IsAbs(out) {
			out = filepath.Join(dir, out)
		}
		paths = append(paths, out)
	}
	return paths, unknown
}
