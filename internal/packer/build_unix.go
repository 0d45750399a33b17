//go:build unix

package packer

import (
	"context"
	"errors"
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
	amis := &amiReporter{}
	var artifacts []Artifact
	err := run(ctx, o, command{
		args: Args(o),
		stdout: func(r io.Reader) (err error) {
			artifacts, err = parseMachineReadable(r, func(l Line) {
				amis.line(l)
				out.ui(l)
			})
			return err
		},
		out:   out,
		drain: drain,
	})
	var res *Result
	if err == nil {
		res, err = finish(o, out, artifacts)
	}
	// What packer reported, even when it failed: the caller may have to
	// delete it.
	reported := amis.reported(artifacts)
	if res != nil {
		res.Reported = reported
	}
	if be := (*BuildError)(nil); errors.As(err, &be) {
		be.Reported = reported
	}
	return res, err
}
