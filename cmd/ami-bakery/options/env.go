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
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const (
	// envAnnotation lists a flag's variables, first set wins.
	envAnnotation = "ami-bakery/env"
	// envSetAnnotation records, after ApplyEnv, the variable that set the
	// flag and its value, so that a later validation error can name it.
	envSetAnnotation = "ami-bakery/env-set"
)

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
				err = envError(env, v, f.Name, serr)
				return
			}
			f.Annotations[envSetAnnotation] = []string{env, v}
			return
		}
	})
	return err
}

func envError(env, value, flag string, err error) error {
	return usererr.Usage(usererr.WithHint(
		fmt.Errorf("invalid value %q in %s (the default of --%s): %w", value, env, flag, err),
		"fix or unset %s", env))
}

// FlagError is a validation error about the value of one flag. NameEnv
// turns it into an error naming the environment variable, when one set the
// flag.
type FlagError struct {
	Flag string
	Err  error
}

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// FlagErr marks err as being about the value of --flag.
func FlagErr(flag string, err error) error { return &FlagError{Flag: flag, Err: err} }

func flagErr(flag string, err error) error { return FlagErr(flag, err) }

// NameEnv returns err naming the environment variable that set its flag,
// when err is a FlagError about a flag of fs that ApplyEnv set; otherwise
// err as it is. A value can parse and still be invalid
// (AMI_BAKERY_LOCK_LEASE=1s is out of range): the user must still learn
// which variable to fix.
func NameEnv(fs *pflag.FlagSet, err error) error {
	var fe *FlagError
	if !errors.As(err, &fe) {
		return err
	}
	f := fs.Lookup(fe.Flag)
	if f == nil || len(f.Annotations[envSetAnnotation]) != 2 {
		return err
	}
	set := f.Annotations[envSetAnnotation]
	return envError(set[0], set[1], f.Name, err)
}

// EnvVars returns the environment variables that supply the default of
// the flag, first set wins, or nil.
func EnvVars(f *pflag.Flag) []string { return f.Annotations[envAnnotation] }
