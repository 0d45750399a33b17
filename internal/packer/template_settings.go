package packer

import (
	"path"
	"path/filepath"
	"slices"
)

// This file holds what LoadTemplate reads of a source's settings and of its
// manifest post-processors, and how --only selects sources.

// SettingNames are the source settings LoadTemplate reads into
// Source.Settings: those ami-bakery wires to its own flags, and the name
// that the fingerprint check looks at.
var SettingNames = []string{"region", "subnet_id", "vpc_id", "custom_endpoint_ec2", "ami_regions", "ami_name"}

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
// each source used by a build (every JSON builder is) whose build name
// matches one of only's glob patterns, or every such source when only is
// empty.
func (t *Template) Selected(only []string) []Source {
	var out []Source
	for _, s := range t.AmazonSources() {
		if s.selected(only) {
			out = append(out, s)
		}
	}
	return out
}

func (s Source) selected(only []string) bool {
	if len(only) == 0 {
		return len(s.Builds) > 0
	}
	return slices.ContainsFunc(s.Builds, func(b string) bool {
		return slices.ContainsFunc(only, func(pat string) bool {
			ok, err := path.Match(pat, b)
			return pat == b || (err == nil && ok)
		})
	})
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
