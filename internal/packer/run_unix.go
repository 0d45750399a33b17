//go:build unix

package packer

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// drainTimeout bounds the wait for packer's output pipes to close once its
// process group is gone. Only a process that left the group (setsid) can
// hold them open longer.
const drainTimeout = 2 * time.Second

// command is one run of packer: what run starts and how it reads it.
type command struct {
	// args are packer's arguments; args[0] is the subcommand, which the
	// errors name.
	args []string
	// stdout reads packer's standard output to its end; its error is
	// reported once packer has exited cleanly. Standard error goes to out.
	stdout func(io.Reader) error
	// out receives packer's standard error and remembers the tail of both
	// outputs for the error.
	out *output
	// drain is drainTimeout, shorter in tests.
	drain time.Duration
}

// run runs packer as o says (binary, Dir, Env, Grace, Kill) with c's
// arguments, and is the one way this package starts packer: build, init and
// version alike.
//
// Packer runs without a shell in its own process group, so that a
// terminal's interrupt reaches ami-bakery alone and ami-bakery decides what
// packer gets. When ctx is cancelled run sends SIGINT to the whole group
// (packer re-executes itself and runs each plugin as a process; the first
// process ignores an interrupt sent to it alone), waits up to the grace
// period for packer to clean up, then sends SIGKILL to the group; closing
// o.Kill sends SIGKILL at once. When packer exits, whatever is left in its
// group is killed, so nothing packer started outlives run, and neither does
// any goroutine of run.
//
// Errors from a packer that ran are *BuildError, carrying the tail of its
// output: a non-zero exit, an interrupt (ErrInterrupted), or output that
// cannot be read.
func run(ctx context.Context, o BuildOptions, c command) error {
	if ctx.Err() != nil {
		return fmt.Errorf("not starting packer: %w", interrupted(c.name()))
	}
	path, env, grace, err := o.resolve()
	if err != nil {
		return err
	}
	// Not exec.CommandContext with cmd.Cancel and cmd.WaitDelay: after the
	// delay those kill packer's first process only, not its group, and
	// o.Kill must kill the group at any time. supervise does both.
	cmd := exec.Command(path, c.args...)
	cmd.Dir = o.Dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// cmd.Stdin stays nil, /dev/null: see BuildOptions.Debug.
	// Our own pipes rather than cmd.StdoutPipe: cmd.Wait must not close
	// them under the readers, and reading must be able to outlast Wait.
	outR, errR, err := startPiped(cmd)
	if err != nil {
		return fmt.Errorf("starting packer %s: %w", path, err)
	}
	defer outR.Close()
	defer errR.Close()
	pgid := cmd.Process.Pid // Setpgid made packer the leader of its group

	var (
		wg      sync.WaitGroup
		readErr error
	)
	wg.Go(func() { readErr = c.stdout(outR) })
	wg.Go(func() { c.out.stderr(errR) })
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	waitErr, stop := supervise(ctx, o.Kill, grace, pgid, waited)

	// Packer has exited. Its plugins exit with it; anything still in its
	// group was left behind and goes now, which also closes the pipes.
	// Linux keeps the group's id from being reused while any process is in
	// the group; once it is empty, kill fails with ESRCH unless pids wrapped
	// around in between, which is accepted.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	stuck := !waitTimeout(&wg, c.drain)
	if stuck {
		outR.Close()
		errR.Close()
		wg.Wait()
	}

	switch {
	case stop == stopInterrupted && waitErr == nil:
		// Packer finished as the interrupt came: it exits non-zero when
		// it is interrupted, so its output says what happened.
	case stop == stopInterrupted:
		return c.out.buildError(interrupted(c.name()))
	case stop == stopGraceOver:
		return c.out.buildError(fmt.Errorf("%w, then killed: it was still running after the grace period of %v", interrupted(c.name()), grace))
	case stop == stopKilled:
		return c.out.buildError(fmt.Errorf("%w, then killed at once", interrupted(c.name())))
	}
	if waitErr != nil {
		return c.out.buildError(fmt.Errorf("packer %s failed (%w)", c.name(), waitErr))
	}
	if stuck {
		return c.out.buildError(fmt.Errorf("reading packer %s output: packer exited but its output stayed open for %v (a process it started left its process group and still holds it)", c.name(), c.drain))
	}
	if readErr != nil {
		return c.out.buildError(fmt.Errorf("reading packer %s output: %w", c.name(), readErr))
	}
	return nil
}

func (c command) name() string { return c.args[0] }

// startPiped starts cmd with its standard output and standard error on new
// pipes, and returns their read ends.
func startPiped(cmd *exec.Cmd) (outR, errR *os.File, err error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	// The child has its own copies of the write ends; ours would keep the
	// readers from ever seeing EOF.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, nil, err
	}
	return outR, errR, nil
}

type stopReason int

const (
	stopExited      stopReason = iota // packer exited by itself
	stopInterrupted                   // packer exited after the interrupt
	stopGraceOver                     // killed when the grace period ran out
	stopKilled                        // killed because Kill was closed
)

// supervise waits for packer to exit, interrupting and killing its process
// group as ctx and kill say: an interrupt when ctx is done, SIGKILL when
// kill is closed or grace has passed since the interrupt.
func supervise(ctx context.Context, kill <-chan struct{}, grace time.Duration, pgid int, waited <-chan error) (error, stopReason) {
	done := ctx.Done()
	var graceOver <-chan time.Time // nil, never ready, until the interrupt
	for {
		select {
		case err := <-waited:
			if graceOver != nil {
				return err, stopInterrupted
			}
			return err, stopExited
		case <-kill:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return <-waited, stopKilled
		case <-graceOver:
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			return <-waited, stopGraceOver
		case <-done:
			done = nil // interrupt once
			_ = syscall.Kill(-pgid, syscall.SIGINT)
			timer := time.NewTimer(grace)
			defer timer.Stop()
			graceOver = timer.C
		}
	}
}

// waitTimeout waits for wg up to d and reports whether it finished. The
// goroutine it starts ends when wg does, which the caller must ensure.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
