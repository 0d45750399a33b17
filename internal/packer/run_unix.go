//go:build unix

package packer

import (
	"context"
	"fmt"
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

// Build runs `packer build` as o says and returns its artifacts.
//
// Packer runs in its own process group, so that a terminal's interrupt
// reaches ami-bakery alone and ami-bakery decides what packer gets. When ctx
// is cancelled Build sends SIGINT to the whole group (packer re-executes
// itself and runs each plugin as a process; the first process ignores an
// interrupt sent to it alone), waits up to o.Grace for packer to clean up, then
// sends SIGKILL to the group; closing o.Kill sends SIGKILL at once. When
// packer exits, whatever is left in its group is killed, so nothing packer
// started outlives Build, and neither does any goroutine of Build.
//
// Errors from a packer that ran are *BuildError, carrying packer's error
// lines and the tail of its output: a non-zero exit, an interrupt
// (ErrInterrupted), output that cannot be read, no artifacts
// (ErrNoArtifacts), or no AMI among them (ErrNoAMI, with the Result).
func Build(ctx context.Context, o BuildOptions) (*Result, error) {
	return build(ctx, o, drainTimeout)
}

func build(ctx context.Context, o BuildOptions, drain time.Duration) (*Result, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("not starting packer: %w", ErrInterrupted)
	}
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(o.Packer, env)
	if err != nil {
		return nil, err
	}
	grace := o.Grace
	if grace == 0 {
		grace = DefaultGrace
	}

	// Not exec.CommandContext with cmd.Cancel and cmd.WaitDelay: after the
	// delay those kill packer's first process only, not its group, and
	// o.Kill must kill the group at any time. supervise does both.
	cmd := exec.Command(path, Args(o)...)
	cmd.Dir = o.Dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// cmd.Stdin stays nil, /dev/null: see BuildOptions.Debug.
	// Our own pipes rather than cmd.StdoutPipe: cmd.Wait must not close
	// them under the readers, and reading must be able to outlast Wait.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting packer: %w", err)
	}
	defer outR.Close()
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return nil, fmt.Errorf("starting packer: %w", err)
	}
	defer errR.Close()
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		return nil, fmt.Errorf("starting packer %s: %w", path, err)
	}
	pgid := cmd.Process.Pid // Setpgid made packer the leader of its group

	out := &output{w: o.Progress}
	var (
		wg        sync.WaitGroup
		artifacts []Artifact
		parseErr  error
	)
	wg.Go(func() { artifacts, parseErr = ParseMachineReadable(outR, out.ui) })
	wg.Go(func() { out.stderr(errR) })
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	waitErr, stop := supervise(ctx, o.Kill, grace, pgid, waited)

	// Packer has exited. Its plugins exit with it; anything still in its
	// group was left behind and goes now, which also closes the pipes.
	// Linux keeps the group's id from being reused while any process is in
	// the group; once it is empty, kill fails with ESRCH unless pids wrapped
	// around in between, which is accepted.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	stuck := !waitTimeout(&wg, drain)
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
		return nil, out.buildError(ErrInterrupted)
	case stop == stopGraceOver:
		return nil, out.buildError(fmt.Errorf("%w, then killed: it was still running after the grace period of %v", ErrInterrupted, grace))
	case stop == stopKilled:
		return nil, out.buildError(fmt.Errorf("%w, then killed at once", ErrInterrupted))
	}
	if waitErr != nil {
		return nil, out.buildError(fmt.Errorf("packer build failed (%w)", waitErr))
	}
	if stuck {
		return nil, out.buildError(fmt.Errorf("reading packer build output: packer exited but its output stayed open for %v (a process it started left its process group and still holds it)", drain))
	}
	if parseErr != nil {
		return nil, out.buildError(fmt.Errorf("reading packer build output: %w", parseErr))
	}
	return finish(o, out, artifacts)
}

type stopReason int

const (
	stopExited      stopReason = iota // packer exited by itself
	stopInterrupted                   // packer exited after the interrupt
	stopGraceOver                     // killed when the grace period ran out
	stopKilled                        // killed because Kill was closed
)

// supervise waits for packer to exit, interrupting and killing its process
// group as ctx and kill say.
func supervise(ctx context.Context, kill <-chan struct{}, grace time.Duration, pgid int, waited <-chan error) (error, stopReason) {
	select {
	case err := <-waited:
		return err, stopExited
	case <-kill:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return <-waited, stopKilled
	case <-ctx.Done():
	}
	_ = syscall.Kill(-pgid, syscall.SIGINT)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case err := <-waited:
		return err, stopInterrupted
	case <-kill:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return <-waited, stopKilled
	case <-timer.C:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return <-waited, stopGraceOver
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
