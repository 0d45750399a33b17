package options

import (
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
)

// V1Ignored lists the options given (on the command line or through the
// environment) that --algorithm v1 leaves out of the fingerprint, in flag
// order: v1 reproduces the original tool's checksum, which covers only the
// files in the definition directories. It returns nil when the algorithm is
// not v1 or nothing is ignored. fs holds the definition flags after
// ApplyEnv.
func V1Ignored(fs *pflag.FlagSet) []string {
	if f := fs.Lookup("algorithm"); f == nil || f.Value.String() != "v1" {
		return nil
	}
	var out []string
	for _, name := range []string{"var", "var-file", "ignore-file"} {
		if f := fs.Lookup(name); f != nil && f.Changed {
			out = append(out, "--"+name)
		}
	}
	tmpl, _ := fs.GetString("template")
	dirs, _ := fs.GetStringSlice("dir")
	if tmpl != "" && len(dirs) > 0 && !inAny(tmpl, dirs) {
		out = append(out, "the template (outside the --dir directories)")
	}
	return out
}

// inAny reports whether path lies inside one of dirs.
func inAny(path string, dirs []string) bool {
	p, err := filepath.Abs(path)
	if err != nil {
		return true // no warning rather than a wrong one
	}
	for _, d := range dirs {
		a, err := filepath.Abs(strings.TrimSpace(d))
		if err != nil || strings.HasPrefix(p, strings.TrimSuffix(a, string(filepath.Separator))+string(filepath.Separator)) {
			return true
		}
	}
	return false
}
