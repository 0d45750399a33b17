package project

import (
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/hcl/v2"
)

// Flags are command-line settings that stand for settings of the project
// file, keyed by the file's attribute name ("role_arn"). Each fills the
// setting in every image where the file leaves it unset. A flag given on
// the command line (Explicit) where the file sets the same setting is an
// error naming both: never silently dropped, never silently winning. A
// value that came from the environment is ambient: the file's own setting
// wins over it (AWS_REGION for a project that lists its regions).
type Flags map[string]Flag

// Flag is one command-line setting.
type Flag struct {
	Name     string // the flag, as the user writes it: "--role-arn"
	Explicit bool   // given on the command line, not by the environment
	// Value is a string, a []string or, for vars, a map[string]string.
	Value any
}

// fill sets v (a *string, *[]string or *map[string]string) from the flag
// of setting name, when there is one. It reports whether it did.
func (r *resolver) fill(name string, v any) bool {
	f, ok := r.flags[name]
	if !ok {
		return false
	}
	switch to := v.(type) {
	case *string:
		s, ok := f.Value.(string)
		if ok {
			*to = s
		}
		return ok
	case *[]string:
		l, ok := f.Value.([]string)
		if ok {
			*to = slices.Clone(l)
		}
		return ok
	case *map[string]string:
		m, ok := f.Value.(map[string]string)
		if ok {
			*to = maps.Clone(m)
		}
		return ok
	}
	return false
}

// conflict records a flag given on the command line for a setting the file
// sets at rng.
func (r *resolver) conflict(name string, rng hcl.Range) {
	f, ok := r.flags[name]
	if !ok || !f.Explicit || name == "vars" { // vars merge by name (mergeVars)
		return
	}
	r.conflicts = append(r.conflicts, errorAt(rng, "%s is set here and by %s on the command line; give one of them (the flag is a default for images that do not set %s)", name, f.Name, name))
}

// mergeVars adds the --var values to the image's vars: a variable both
// set is an error naming both, when the flag was given on the command line;
// otherwise the file's value wins.
func (r *resolver) mergeVars(img *Image) {
	f, ok := r.flags["vars"]
	if !ok {
		return
	}
	vars, _ := f.Value.(map[string]string)
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if _, set := img.Vars[name]; set {
			if f.Explicit {
				r.conflicts = append(r.conflicts, errorAt(img.rangeOf("vars"), "vars sets %s here and %s sets it on the command line; give one of them", name, fmt.Sprintf("%s %s=...", f.Name, name)))
			}
			continue
		}
		if img.Vars == nil {
			img.Vars = map[string]string{}
		}
		img.Vars[name] = vars[name]
	}
}
