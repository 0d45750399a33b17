package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Exit statuses, documented in --help.
const (
	exitOK          = 0
	exitFailure     = 1
	exitUsage       = 64 // EX_USAGE: never mistaken for "changes pending"
	exitBuildNeeded = 2  // plan --detailed-exitcode only
	exitGate        = 3  // a test failed, a promotion gate does not hold, the AMI was revoked
	exitInterrupted = 130
)

const exitHelp = `

Exit status:
  0    success (plan --detailed-exitcode: the AMI is up to date)
  1    failure; nothing was written to stdout or to the output files
  2    plan --detailed-exitcode only: a build, copy or wait is needed
  3    held back on purpose: a test failed (test), a gate does not hold
       (promote, rollback, revoke), the definition's AMI was revoked (bake)
  64   usage error: a bad flag, argument or environment value, a bad project file
  130  interrupted by SIGINT or SIGTERM; packer was stopped and cleaned up
  134  crashed (a bug: please report it with the stack trace printed)
`

// env gives the commands access to the environment, so tests can set it.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) (string, bool)
	// kill is closed on a second interrupt: stop packer at once.
	kill <-chan struct{}
}

// exitError carries an exit status other than 1 without being a failure
// message (plan --detailed-exitcode).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// forceExitAfter is how long Main may still run after a second signal
// before the process exits anyway: a second signal always ends it, even
// when something is stuck (a hung AWS call, a lock release that cannot
// finish). A lock left behind then expires with its lease.
const forceExitAfter = 3 * time.Second

// Main runs the command line and returns the exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) (string, bool)) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Catching signals starts two threads (os/signal's, and the runtime's
	// template thread), 0.6 ms on the no-op's path (BENCHMARKS.md): they
	// start while the command tree is built, and before it runs.
	sigs := make(chan os.Signal, 2)
	catching := make(chan struct{})
	go func() { signal.Notify(sigs, os.Interrupt, syscall.SIGTERM); close(catching) }()
	defer signal.Stop(sigs)
	h := &signals{
		stderr: stderr, cancel: cancel, exit: os.Exit, forceAfter: forceExitAfter,
		interrupted: make(chan struct{}), kill: make(chan struct{}), done: make(chan struct{}),
	}
	defer close(h.done)
	go h.watch(sigs)
	interrupted, kill := h.interrupted, h.kill

	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv, kill: kill}
	root := newRootCommandFor(e, args)
	root.SetArgs(args)
	<-catching
	cmd, err := root.ExecuteContextC(ctx)
	if cmd != nil {
		err = options.NameEnv(cmd.Flags(), err)
	}
	select {
	case <-interrupted:
		if err != nil {
			fmt.Fprintf(stderr, "ami-bakery: interrupted: %v\n", err)
		}
		return exitInterrupted
	default:
	}
	return exitStatus(stderr, err)
}

// signals turns SIGINT and SIGTERM into the interrupt sequence: the first
// cancels the context (packer is interrupted and cleans up within --grace),
// the second closes kill (packer is killed at once) and, if Main has not
// returned forceAfter later, ends the process with exit status 130.
type signals struct {
	stderr      io.Writer
	cancel      func()
	exit        func(int)
	forceAfter  time.Duration
	interrupted chan struct{} // closed on the first signal
	kill        chan struct{} // closed on the second
	done        chan struct{} // closed when Main returns
}

func (h *signals) watch(sigs <-chan os.Signal) {
	select {
	case s := <-sigs:
		close(h.interrupted)
		fmt.Fprintf(h.stderr, "ami-bakery: %s: stopping; packer is cleaning up (signal again to kill it now)\n", s)
		h.cancel()
	case <-h.done:
		return
	}
	select {
	case <-sigs:
		fmt.Fprintln(h.stderr, "ami-bakery: second signal: killing packer")
		close(h.kill)
	case <-h.done:
		return
	}
	t := time.NewTimer(h.forceAfter)
	defer t.Stop()
	select {
	case <-t.C:
	case <-sigs:
	case <-h.done:
		return
	}
	fmt.Fprintf(h.stderr, "ami-bakery: still running %s after the second signal: exiting now, without cleaning up\n", h.forceAfter)
	h.exit(exitInterrupted)
}

// exitStatus prints err for people and decides the exit status: the one place
// that does.
func exitStatus(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	err = awsclient.Explain(err)
	fmt.Fprintf(stderr, "ami-bakery: error: %v\n", err)
	for _, h := range usererr.Hints(err) {
		fmt.Fprintf(stderr, "ami-bakery: hint: %s\n", h)
	}
	switch {
	case errors.Is(err, packer.ErrInterrupted):
		return exitInterrupted
	case usererr.IsUsage(err):
		return exitUsage
	case usererr.IsGate(err):
		return exitGate
	}
	return exitFailure
}

// subcommands make the subcommands, in the order --help lists them.
var subcommands = []struct {
	name string
	make func(*env) *cobra.Command
}{
	{"bake", newBakeCommand}, {"plan", newPlanCommand}, {"diff", newDiffCommand}, {"graph", newGraphCommand},
	{"lock", newLockCommand}, {"checksum", newChecksumCommand}, {"prune", newPruneCommand}, {"test", newTestCommand},
	{"promote", newPromoteCommand}, {"rollback", newRollbackCommand}, {"revoke", newRevokeCommand},
	{"version", newVersionCommand},
}

// newRootCommandFor is the command tree that runs args: when args name a
// subcommand, the root with that subcommand alone, since making all of
// them, with every flag, was 6.5% of a no-op's CPU (BENCHMARKS.md, issue
// 25); anything else (help, completion, flags of the root, an unknown
// command) gets the whole tree.
func newRootCommandFor(e *env, args []string) *cobra.Command {
	if len(args) > 0 {
		for _, sub := range subcommands {
			if sub.name == args[0] {
				return newRoot(e, sub.make(e))
			}
		}
	}
	return newRootCommand(e)
}

// newRootCommand is the whole command tree.
func newRootCommand(e *env) *cobra.Command {
	subs := make([]*cobra.Command, len(subcommands))
	for i, sub := range subcommands {
		subs[i] = sub.make(e)
	}
	return newRoot(e, subs...)
}

func newRoot(e *env, subs ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:   "ami-bakery",
		Short: "Idempotent Packer AMI builds: return the AMI for this definition, building it only when it changed",
		Long: `ami-bakery fingerprints a Packer AMI definition (the template and the
directories it uses), looks in EC2 for an AMI tagged with that fingerprint
among trusted owners, and prints its id. Only when none exists does it run
packer build, passing the fingerprint so the new AMI carries the tag.

Run without a subcommand and with PACKER_JSON_PATH set, it bakes, as the
original ami-bakery did.` + exitHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usererr.WithHint(usererr.Usagef("unknown command %q", args[0]), "the commands are bake, plan, graph, lock, prune, checksum and version; see ami-bakery --help")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if v, _ := cmd.Flags().GetBool("version"); v {
				_, err := fmt.Fprintln(e.stdout, versionString())
				return err
			}
			if v, ok := e.getenv("PACKER_JSON_PATH"); ok && v != "" {
				bake := newBakeCommand(e)
				bake.SetContext(cmd.Context())
				return options.NameEnv(bake.Flags(), bake.RunE(bake, nil))
			}
			cmd.SetOut(e.stderr)
			cmd.Help()
			return usererr.WithHint(usererr.Usagef("no command given"), "run ami-bakery bake --help, or set PACKER_JSON_PATH as with the original tool")
		},
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usererr.WithHint(usererr.Usage(err), "see %s --help", cmd.CommandPath())
	})
	// --version prints the version line alone. It is not cobra's Version
	// flag: cobra prints that through SetVersionTemplate, and a template
	// links text/template, whose method lookup by name makes the linker
	// keep every exported method of every type in an interface: all of
	// EC2's, SSM's and Auto Scaling's operations. That was a 55 MB binary
	// instead of 16 MB, and 4 to 7 MB more resident memory on every run
	// (TestBinaryDropsUnusedMethods).
	root.Flags().BoolP("version", "v", false, "version for ami-bakery")
	root.AddCommand(subs...)
	options.RegisterCompletions(root)
	return root
}
