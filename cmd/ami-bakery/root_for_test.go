package main

import (
	"io"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The tree made for one subcommand (newRootCommandFor) runs the same
// command as the whole tree: same use line, same flags with the same
// defaults; and anything that is not a subcommand gets the whole tree.
func TestRootCommandForOneSubcommand(t *testing.T) {
	e := &env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) (string, bool) { return "", false }}
	describe := func(c *cobra.Command) string {
		var b strings.Builder
		b.WriteString(c.CommandPath() + " | " + c.Use + "\n")
		c.Flags().VisitAll(func(f *pflag.Flag) { b.WriteString(f.Name + "=" + f.DefValue + " " + f.Usage + "\n") })
		return b.String()
	}
	for _, sub := range subcommands {
		if got := sub.make(e).Name(); got != sub.name {
			t.Errorf("subcommands: %q makes %q", sub.name, got)
		}
	}
	full := newRootCommand(e)
	for _, sub := range full.Commands() {
		name := sub.Name()
		if name == "help" || name == "completion" {
			continue
		}
		one := newRootCommandFor(e, []string{name, "--help"})
		if n := len(one.Commands()); n != 1 {
			t.Errorf("%s: %d subcommands, want 1", name, n)
			continue
		}
		got, _, err := one.Find([]string{name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if g, w := describe(got), describe(sub); g != w {
			t.Errorf("%s alone:\n%s\nin the whole tree:\n%s", name, g, w)
		}
	}
	for _, args := range [][]string{nil, {"--help"}, {"help", "bake"}, {"bkae"}, {"__complete", "b"}} {
		if n, want := len(newRootCommandFor(e, args).Commands()), len(full.Commands()); n != want {
			t.Errorf("%q: %d subcommands, want the whole tree's %d", args, n, want)
		}
	}
}
