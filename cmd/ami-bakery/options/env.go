// Package options turns flags and environment variables into validated
// settings.
//
// Environment variables supply flag defaults: a flag given on the command
// line always wins, then the first of its variables that is set. Every
// flag's variables are named in its --help text, and an invalid value names
// the variable it came from. The original tool's variables (PACKER_JSON_PATH,
// AMI_DEFINITION_DIRS, AWS_DEFAULT_REGION, AWS_SUBNET_ID) keep working.
package options

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const envAnnotation = "ami-bakery/env"

// BindEnv makes the environment variables envs (first set wins) supply the
// default of the flag name, and names them in the flag's help.
func BindEnv(fs *pflag.FlagSet, name string, envs ...string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("options: BindEnv of unknown flag " + name)
	}
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[envAnnotation] = envs
	f.Usage += " (env " + strings.Join(envs, ", ") + ")"
}

// ApplyEnv sets every flag that was not given on the command line from its
// environment variables. getenv is os.LookupEnv in production.
func ApplyEnv(fs *pflag.FlagSet, getenv func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		for _, env := range f.Annotations[envAnnotation] {
			v, ok := getenv(env)
			if !ok || v == "" {
				continue
			}
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usererr.Usage(usererr.WithHint(
					fmt.Errorf("invalid value %q in %s (the default of --%s): %w", v, env, f.Name, serr),
					"fix or unset %s", env))
			}
			return
		}
	})
	return err
}
