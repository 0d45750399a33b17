package packer

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Var is one -var name=value for packer.
type Var struct{ Name, Value string }

// BuildOptions says how to run `packer build`. Init and InitSupported take
// the same options for `packer init` and `packer version`: they use the
// binary, Template, Dir, Env, Progress (init only), Grace and Kill.
type BuildOptions struct {
	// Packer is the packer binary: a path, or a name looked up on the PATH
	// of Env. "" means "packer".
	Packer string
	// Template is the template path given to packer, relative to Dir or
	// absolute.
	Template string
	// Dir is packer's working directory; "" means the current one.
	// ami-bakery uses the template's directory, since packer resolves the
	// paths inside a template from its working directory.
	Dir string
	// Env is packer's whole environment; nil means os.Environ().
	Env []string
	// SetEnv are "NAME=value" entries that replace any entry of the same
	// name in Env (or os.Environ()): for example the build region in
	// AWS_REGION and AWS_DEFAULT_REGION, for a source that sets no region.
	SetEnv []string
	// Vars are passed as -var name=value, in order.
	Vars []Var
	// VarFiles are passed as -var-file=path, in order, before Vars.
	VarFiles []string
	// Only are build names for -only.
	Only []string
	// Except are build names for -except (packer 1.6.6 takes both -only
	// and -except at once: a build must match only and not except).
	Except []string
	// OnError is -on-error, one of OnErrorValues; "" leaves packer's
	// default, cleanup.
	OnError string
	// Debug adds -debug. Packer's standard input stays /dev/null even so:
	// its machine-readable UI cannot ask, so in 1.6.6 the "press enter"
	// pauses of -debug return at once, and a read from the terminal would
	// stop packer (SIGTTIN) since it runs in a background process group.
	Debug bool
	// Progress receives packer's output for people, one line at a time,
	// each prefixed with "packer: " (standard error with "packer stderr: ").
	// nil discards it.
	Progress io.Writer
	// Grace is how long packer may take to clean up after the interrupt
	// that cancelling the context sends, before its process group is killed.
	// 0 means DefaultGrace.
	Grace time.Duration
	// Kill, when closed, kills packer's process group at once: for a second
	// interrupt from an impatient user. nil never fires.
	Kill <-chan struct{}
}

// DefaultGrace is the grace period of BuildOptions.Grace: time for packer to
// terminate its builder instance and delete temporary key pairs and
// security groups.
const DefaultGrace = 2 * time.Minute

// OnErrorValues are the values of packer's -on-error flag (all in packer
// 1.6.6), for BuildOptions.OnError. Use CheckOnError rather than repeating
// them.
var OnErrorValues = []string{"cleanup", "abort", "ask", "run-cleanup-provisioner"}

// CheckOnError reports whether v may be BuildOptions.OnError: "" (packer's
// default) or one of OnErrorValues. Its error carries a hint that lists them.
func CheckOnError(v string) error {
	if v == "" || slices.Contains(OnErrorValues, v) {
		return nil
	}
	return usererr.WithHint(fmt.Errorf("invalid on-error value %q", v), "use one of %s", strings.Join(OnErrorValues, ", "))
}

// validate reports options that packer would reject, or misread, before
// packer is started.
func (o BuildOptions) validate() error {
	var errs []error
	if o.Template == "" {
		errs = append(errs, errors.New("no template given"))
	}
	for _, v := range o.Vars {
		if v.Name == "" || strings.ContainsAny(v.Name, "=\n") {
			errs = append(errs, fmt.Errorf("invalid packer variable name %q", v.Name))
		}
	}
	for _, f := range o.VarFiles {
		if f == "" {
			errs = append(errs, errors.New("empty -var-file path"))
		}
	}
	for _, sel := range []struct {
		flag  string
		names []string
	}{{"-only", o.Only}, {"-except", o.Except}} {
		for _, b := range sel.names {
			if b == "" || strings.Contains(b, ",") {
				errs = append(errs, fmt.Errorf("invalid build name %q for %s", b, sel.flag))
			}
		}
	}
	for _, kv := range o.SetEnv {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			errs = append(errs, fmt.Errorf("invalid environment entry %q, want NAME=value", kv))
		}
	}
	if err := CheckOnError(o.OnError); err != nil {
		errs = append(errs, err)
	}
	if o.Grace < 0 {
		errs = append(errs, fmt.Errorf("negative grace period %v", o.Grace))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("checking packer build options: %w", err)
	}
	return nil
}

// Args returns packer's arguments for o, without the program name:
//
//	build -machine-readable -color=false [-debug] [-on-error=X] [-only=a,b]
//	      [-except=c,d] [-var-file=f]... [-var name=value]... template
//
// A template path that starts with "-" is given as "./-..." so that packer
// does not take it for a flag. Args does not validate o; Build does.
func Args(o BuildOptions) []string {
	args := []string{"build", "-machine-readable", "-color=false"}
	if o.Debug {
		args = append(args, "-debug")
	}
	if o.OnError != "" {
		args = append(args, "-on-error="+o.OnError)
	}
	if len(o.Only) > 0 {
		args = append(args, "-only="+strings.Join(o.Only, ","))
	}
	if len(o.Except) > 0 {
		args = append(args, "-except="+strings.Join(o.Except, ","))
	}
	for _, f := range o.VarFiles {
		args = append(args, "-var-file="+f)
	}
	for _, v := range o.Vars {
		args = append(args, "-var", v.Name+"="+v.Value)
	}
	return append(args, templateArg(o.Template))
}

// templateArg makes a template path that starts with "-" "./-..." so that
// packer does not take it for a flag.
func templateArg(tmpl string) string {
	if strings.HasPrefix(tmpl, "-") {
		return "./" + tmpl
	}
	return tmpl
}
