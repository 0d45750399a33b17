package packer

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// resolve is the one place that decides how packer runs for o: the binary's
// absolute path, the whole environment (nil o.Env means os.Environ(), with
// o.SetEnv replacing entries of the same names) and the grace period (0
// means DefaultGrace).
func (o BuildOptions) resolve() (path string, env []string, grace time.Duration, err error) {
	env = o.Env
	if env == nil {
		env = os.Environ()
	}
	env = setEnv(env, o.SetEnv)
	path, err = lookPath(o.Packer, env)
	if err != nil {
		return "", nil, 0, err
	}
	grace = o.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	return path, env, grace, nil
}

// interrupted is the error of the packer subcommand sub when it was
// interrupted or killed: ErrInterrupted itself for build, an error that Is
// ErrInterrupted and names sub for the others.
func interrupted(sub string) error {
	if sub == "build" {
		return ErrInterrupted
	}
	return interruptedError(sub)
}

type interruptedError string

func (e interruptedError) Error() string        { return "packer " + string(e) + " interrupted" }
func (e interruptedError) Is(target error) bool { return target == ErrInterrupted }

// lookPath finds the packer binary: a name with a slash is a path (relative
// to the current directory, not to Dir), any other name is looked up on the
// PATH of env.
func lookPath(name string, env []string) (string, error) {
	if name == "" {
		name = "packer"
	}
	hint := func(err error) error {
		return usererr.WithHint(err, "install packer (1.6.6 or later), or give its path with --packer, or put it on PATH")
	}
	if strings.ContainsRune(name, filepath.Separator) {
		p, err := filepath.Abs(name)
		if err != nil {
			return "", fmt.Errorf("finding packer: %w", err)
		}
		if err := checkExecutable(p); err != nil {
			return "", hint(fmt.Errorf("finding packer: %w", err))
		}
		return p, nil
	}
	pathEnv := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			pathEnv = v // the last one wins, as for the child
		}
	}
	for _, dir := range filepath.SplitList(pathEnv) {
		// A relative entry would be relative to packer's directory, not
		// ours: skip it, like os/exec refuses "." entries.
		if !filepath.IsAbs(dir) {
			continue
		}
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", hint(fmt.Errorf("finding packer: %q is not on PATH (%s)", name, pathEnv))
}

func checkExecutable(p string) error {
	info, err := os.Stat(p)
	switch {
	case err != nil:
		return err
	case !info.Mode().IsRegular():
		return fmt.Errorf("%s is not a regular file", p)
	case info.Mode().Perm()&0o111 == 0:
		return fmt.Errorf("%s is not executable", p)
	}
	return nil
}

var versionRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`v?([0-9]+)\.([0-9]+)`) })

// versionAtLeast reports whether a "Packer v1.8.3"-style line is at least
// major.minor.
func versionAtLeast(line string, major, minor int) bool {
	m := versionRE().FindStringSubmatch(line)
	if m == nil {
		return false
	}
	ma, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return ma > major || ma == major && mi >= minor
}

// KnowsSkipCreateAMI reports whether the packer whose version line is
// version ("Packer v1.6.6", from Version) has amazon builders that know
// skip_create_ami; ok is false when version names no version.
//
// The setting came with packer 1.7.0 (CHANGELOG 1.7.0: "builder/amazon:
// Add skip_create_ami option", hashicorp/packer#10531); since then the
// amazon builders live in packer-plugin-amazon, which was split from 1.7's
// code and has it in every release. Before, the builders refuse the
// template (unknown configuration key: '"skip_create_ami"').
//
// The version is the test, rather than running `packer validate` and
// reading its error: one cheap call per run that cannot fail for any other
// reason, decided before anything is launched, where validate would cost a
// packer run per template, need every variable, and mix this refusal with
// the template's other errors in text that packer does not promise to keep.
func KnowsSkipCreateAMI(version string) (knows, ok bool) {
	if versionRE().FindStringSubmatch(version) == nil {
		return false, false
	}
	return versionAtLeast(version, 1, 7), true
}

// setEnv returns env with each "NAME=value" of set replacing every entry
// of that name, in a new slice; env itself is not changed.
func setEnv(env, set []string) []string {
	if len(set) == 0 {
		return env
	}
	names := map[string]bool{}
	for _, kv := range set {
		name, _, _ := strings.Cut(kv, "=")
		names[name] = true
	}
	out := make([]string, 0, len(env)+len(set))
	for _, kv := range env {
		if name, _, _ := strings.Cut(kv, "="); !names[name] {
			out = append(out, kv)
		}
	}
	return append(out, set...)
}
