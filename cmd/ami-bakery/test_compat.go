package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Compatibility mode: a packer whose amazon builders do not know
// skip_create_ami (before 1.7.0; Debian's is 1.6.6) refuses every test
// template, since each must set it. In this mode packer runs a temporary
// copy of the template without the setting (packer.CopyWithoutSkipCreateAMI),
// so it makes an AMI after provisioning, as a build does, and ami-bakery
// deletes every AMI that this packer run reported (packer.ReportedAMIs),
// with its snapshots, in every region, whether packer succeeded, failed or
// was interrupted. The test's result is packer's success or failure, and
// its fingerprint is the original template's, as in the normal mode.

const (
	// compatPoll and compatWait say how to wait for a pending AMI before
	// deleting it: its snapshots cannot be deleted before they complete.
	compatPoll = 2 * time.Second
	compatWait = 30 * time.Minute
	// compatCleanupTimeout bounds the whole clean-up of one test.
	compatCleanupTimeout = 40 * time.Minute
)

// decideCompat decides, once a run, whether template tests run in
// compatibility mode, by asking packer its version (packer.KnowsSkipCreateAMI
// says why the version), and says so on stderr when they do.
func (o *testOptions) decideCompat(ctx context.Context, s *session, env []string, e *env) error {
	if o.compatDecided {
		return nil
	}
	v, err := packer.Version(ctx, packer.BuildOptions{Packer: o.packer, Env: env, Grace: o.grace, Kill: e.kill})
	if err != nil {
		return fmt.Errorf("finding out whether packer knows skip_create_ami: %w", err)
	}
	o.compatDecided = true
	knows, ok := packer.KnowsSkipCreateAMI(v)
	switch {
	case !ok:
		s.log.Warn(fmt.Sprintf("packer's version %q names no version: template tests run as written, which needs skip_create_ami (packer 1.7.0 and later)", v))
	case !knows:
		o.compat = true
		s.log.Info(fmt.Sprintf("compatibility mode for template tests: %s does not know skip_create_ami (packer 1.7.0 added it), so packer runs a copy of each test template without it, and the AMI it makes is deleted", v))
	}
	return nil
}

// runCompat runs the template test r with packer as bo says, in
// compatibility mode. testErr is packer's failure; err is the failure to
// remove the copy or to delete an AMI packer reported.
func (o *testOptions) runCompat(ctx context.Context, s *session, r *testRun, bo packer.BuildOptions) (testErr, err error) {
	copyPath, remove, err := packer.CopyWithoutSkipCreateAMI(r.test.Template)
	if err != nil {
		return nil, fmt.Errorf("image %s: test %s: compatibility mode: %w", r.Image, r.Test, err)
	}
	bo.Template = copyPath
	res, berr := packer.Build(ctx, bo)
	// Packer has exited: the copy goes first, before anything that may
	// take long, so that even a second signal leaves it behind rarely.
	rmErr := remove()
	delErr := o.deleteReported(ctx, s, r, bo, packer.ReportedAMIs(res, berr))
	if err := errors.Join(rmErr, delErr); err != nil {
		return testResult(berr), fmt.Errorf("image %s: test %s: compatibility mode: %w", r.Image, r.Test, err)
	}
	return testResult(berr), nil
}

// deleteReported deletes the AMIs that packer reported making for r, with
// their snapshots, each in its region: the region of its artifact, or,
// for an AMI packer only announced, the region its build's source set
// given the variables packer had (the test's region when that is not
// known). It runs even when ctx is cancelled (an interrupt: packer has
// exited by then), until the second signal or compatCleanupTimeout.
// Nothing but what packer reported is deleted, and never the AMI under
// test.
func (o *testOptions) deleteReported(ctx context.Context, s *session, r *testRun, bo packer.BuildOptions, reported []packer.ReportedAMI) error {
	if len(reported) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), compatCleanupTimeout)
	defer cancel()
	if bo.Kill != nil {
		go func() {
			select {
			case <-bo.Kill:
				cancel()
			case <-cctx.Done():
			}
		}()
	}
	vars := map[string]string{}
	for _, v := range bo.Vars {
		vars[v.Name] = v.Value
	}
	wait := images.Waiter{Poll: compatPoll, Timeout: compatWait, ReportEvery: 30 * time.Second,
		Progress: func(format string, args ...any) { s.log.Info(fmt.Sprintf(format, args...), "image", r.Image) }}
	var errs []error
	var left []string
	for _, a := range reported {
		region := a.Region
		if region == "" {
			region = buildRegion(r.template.AmazonSources(), a.Build, vars, r.Region)
		}
		if a.ID == r.AMI {
			// Packer reports what it makes; the AMI under test it only
			// launched. Never delete it, whatever the output said.
			errs = append(errs, fmt.Errorf("packer's output names the AMI under test, %s, as one it made: not deleting it", a.ID))
			continue
		}
		gone, err := images.Delete(cctx, s.aws.For(r.img.RoleARN).EC2(region), a.ID, wait)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s in %s: %w", a.ID, region, err))
			left = append(left, a.ID+" in "+region)
			continue
		}
		if gone {
			s.log.Info("deleted "+a.ID+" and its snapshots, made by packer for the test", "image", r.Image, "test", r.Test, "region", region)
		}
	}
	if err := errors.Join(errs...); err != nil {
		if len(left) > 0 {
			return usererr.WithHint(fmt.Errorf("deleting the AMIs packer made: %w", err),
				"deregister them and delete their snapshots (aws ec2 deregister-image --delete-associated-snapshots --image-id ID --region REGION): %s", strings.Join(left, ", "))
		}
		return err
	}
	return nil
}

// buildRegion is the region of the build named build (as packer's output
// names it) among sources, its region setting given vars, or fallback
// when that cannot be known.
func buildRegion(sources []packer.Source, build string, vars map[string]string, fallback string) string {
	for _, src := range sources {
		if !slices.Contains(src.Builds, build) && src.Name != build {
			continue
		}
		if st, ok := src.Settings["region"]; ok {
			if v, known := st.Eval(vars); known && v != "" {
				return v
			}
		}
	}
	return fallback
}
