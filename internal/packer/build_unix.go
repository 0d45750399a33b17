//go:build unix

package packer

import (
	"context"
	"io"
	"time"
)

// Build runs `packer build` as o says and returns its artifacts.
//
// Packer is supervised as run says: its own process group, an interrupt to
// the group when ctx is cancelled, o.Grace to clean up, then SIGKILL (at
// once when o.Kill is closed); nothing it started outlives Build.
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
	out := &output{w: o.Progress}
	var artifacts []Artifact
	err := run(ctx, o, command{
		args: Args(o),
		stdout: func(r io.Reader) (err error) {
			artifacts, err = ParseMachineReadable(r, out.ui)
			return err
		},
		out:   out,
		drain: drain,
	})
	if err != nil {
		return nil, err
	}
	return finish(o, out, artifacts)
}
