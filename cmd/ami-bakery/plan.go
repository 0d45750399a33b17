package main

import (
	"context"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/report"
)

type planOptions struct {
	imageFlags
	out      options.Output
	pub      options.Publish
	detailed bool
	proj     planProjectOptions
	// explain: plan --explain; diff: the diff command (diff.go), whose
	// answer is the explanations alone.
	explain, diff bool
}

func newPlanCommand(e *env) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan [IMAGE...]",
		Short: "Say whether the AMI exists or a build is needed, without building",
		Long: `plan makes bake's decision without acting on it. It prints the fingerprint,
then one line per region: "REGION reuse AMI", "REGION wait AMI" (a pending
AMI exists), "REGION copy from REGION" or "REGION build". A copy's line is
followed by an indented "  carries: ..." line: what the copy will be shared
with and how it will be encrypted.

With --detailed-exitcode, as Terraform's: 0 up to date, 2 something to do
(a build, copy or wait), 1 error.` + planProjectHelp + exitHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return withProject(cmd, args, &o.proj.project, &o.def,
				func(path string) error { return runPlanProject(cmd.Context(), &o, path, args, e) },
				func() error {
					if err := o.proj.checkSingle(); err != nil {
						return err
					}
					return runPlan(cmd.Context(), &o, e)
				})
		},
	}
	fs := cmd.Flags()
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	o.wire.AddFlags(fs)
	o.copies.AddFlags(fs)
	o.out.AddFlags(fs, false)
	o.pub.AddFlags(fs)
	fs.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 0 when up to date, 2 when there is something to do, 1 on error")
	o.base.AddFlags(fs)
	fs.BoolVar(&o.explain, "explain", false, "for each image that needs a build, say what changed since its newest earlier AMI (see ami-bakery diff)")
	o.proj.addFlags(fs)
	fs.SortFlags = false
	return cmd
}

func runPlan(ctx context.Context, o *planOptions, e *env) error {
	if err := o.imageFlags.validate(); err != nil {
		return err
	}
	if err := o.out.Validate(""); err != nil {
		return err
	}
	if err := o.pub.Validate(); err != nil {
		return err
	}
	var clients *awsclient.Factory
	sinks := publishSinks(ctx, &o.pub, &clients, 0)
	if err := report.CheckAll(sinks); err != nil {
		return err
	}
	b, img, clients, err := o.prepare(ctx, e, o.out.LogFormat)
	if err != nil {
		return err
	}
	if img.Name, err = (&bakeProjectOptions{}).imageName(o.def.Template); err != nil {
		return err
	}
	plan, err := b.Plan(ctx, img)
	if err != nil {
		return err
	}
	if o.explain {
		return planExplained(ctx, o, b, img, plan, e)
	}
	pubs, err := planPublications(plan, sinks)
	if err != nil {
		return err
	}
	if err := report.PrintPlanPublishing(e.stdout, plan, report.PlanExtras{Publications: pubs}, o.out.JSON); err != nil {
		return err
	}
	if o.detailed && (!plan.UpToDate() || slices.ContainsFunc(pubs, func(p report.Publication) bool { return p.Action == report.Pending })) {
		return exitError{exitBuildNeeded}
	}
	return nil
}
