package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
)

// TestFlagWinsOverEnvironment: for every flag of every command that an
// environment variable can set, a value given on the command line wins over
// each of its variables, and a variable alone sets it (issue 21: precedence
// is flag > environment everywhere).
func TestFlagWinsOverEnvironment(t *testing.T) {
	root := newRootCommand(&env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) (string, bool) { return "", false }})
	values := map[string][2]string{ // type: flag's value, environment's value
		"string": {"from-flag", "from-env"}, "bool": {"false", "true"}, "duration": {"3s", "7s"},
		"int": {"3", "7"}, "stringSlice": {"flag-a", "env-b"}, "stringArray": {"flag-a", "env-b"},
	}
	n := 0
	for _, cmd := range append(root.Commands(), root) {
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			for _, v := range options.EnvVars(f) {
				vals, ok := values[f.Value.Type()]
				if !ok {
					t.Errorf("%s --%s: no test values for type %s", cmd.Name(), f.Name, f.Value.Type())
					return
				}
				n++
				getenv := func(k string) (string, bool) { return vals[1], k == v }
				if got := parsed(t, cmd, f.Name, []string{"--" + f.Name + "=" + vals[0]}, getenv); !strings.Contains(got, vals[0]) || strings.Contains(got, vals[1]) {
					t.Errorf("%s --%s=%s with %s=%s: got %q, want the flag's value", cmd.Name(), f.Name, vals[0], v, vals[1], got)
				}
				if got := parsed(t, cmd, f.Name, nil, getenv); !strings.Contains(got, vals[1]) {
					t.Errorf("%s with only %s=%s: --%s is %q, want the variable's value", cmd.Name(), v, vals[1], f.Name, got)
				}
				if !strings.Contains(f.Usage, v) {
					t.Errorf("%s --%s: its help does not name %s", cmd.Name(), f.Name, v)
				}
			}
		})
	}
	if n < 40 {
		t.Fatalf("only %d flag variables checked: the walk missed commands", n)
	}
}

// parsed parses args into a fresh copy of cmd's flags, applies the
// environment and returns the flag's value.
func parsed(t *testing.T, cmd *cobra.Command, name string, args []string, getenv func(string) (string, bool)) string {
	t.Helper()
	fresh := newRootCommand(&env{stdout: io.Discard, stderr: io.Discard, getenv: getenv})
	c := fresh
	if cmd.HasParent() {
		c, _, _ = fresh.Find([]string{cmd.Name()})
	}
	fs := c.Flags()
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := options.ApplyEnv(fs, getenv); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return fs.Lookup(name).Value.String()
}
