package main

import (
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/explain"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const planProjectHelp = `

With a project file of many images (bakery.hcl or bakery.json in the working
directory, or --config), plan takes the images named as arguments and their
ancestors (all by default) and prints one table: image, fingerprint (first 12
digits), parent, level and per region the action, followed by an
"IMAGE publish ..." line per publication. --json prints {"images": [...]}.
--matrix github prints {"include": [{"image", "level"}]} for the images that
need work, --matrix gitlab a child pipeline; --level N keeps one dependency
level.`

type planOptions struct {
	imageFlags
	out      options.Output
	detailed bool
	matrix   string
	level    int
	// explain: plan --explain; diff: the diff command (diff.go), whose
	// answer is the explanations alone. Both render the one plan.
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
with and how it will be encrypted. A publication's line follows:
"publish KIND NAME REGION ACTION [AMI]".

With --detailed-exitcode, as Terraform's: 0 up to date, 2 something to do
(a build, copy, wait or publication), 1 error.` + planProjectHelp + exitHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runPlan(cmd.Context(), cmd, &o, args, e)
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
	o.proj.AddFlags(fs)
	fs.StringVar(&o.matrix, "matrix", "", "with a project: print a CI matrix of the images that need work: github or gitlab")
	fs.IntVar(&o.level, "level", -1, "with a project: only the images of this dependency level (0: images without a parent)")
	fs.SortFlags = false
	return cmd
}

func (o *planOptions) validate() error {
	switch {
	case o.matrix != "" && o.matrix != report.MatrixGitHub && o.matrix != report.MatrixGitLab:
		return usererr.WithHint(usererr.Usagef("invalid --matrix %q", o.matrix), "use github or gitlab")
	case o.matrix != "" && o.out.JSON:
		return usererr.WithHint(usererr.Usagef("--matrix and --json both choose the output"), "give one of them")
	}
	return o.out.Validate()
}

// runPlan plans the selected images, as bake would, and renders the one
// plan: a single template's lines, a project's table or matrix, the
// explanations (plan --explain, diff).
func runPlan(ctx context.Context, cmd *cobra.Command, o *planOptions, names []string, e *env) error {
	if err := o.validate(); err != nil {
		return err
	}
	ws, err := o.load(cmd.Flags(), names)
	if err != nil {
		return err
	}
	single := ws.project.Single()
	switch {
	case single && (o.matrix != "" || o.level >= 0):
		return usererr.WithHint(usererr.Usagef("--matrix and --level need a project file"),
			"put a bakery.hcl in the working directory or name one with --config")
	case !single && o.explain && !o.diff && (o.out.JSON || o.matrix != ""):
		return usererr.WithHint(usererr.Usagef("plan --explain prints lines after a project's plan"),
			"use ami-bakery diff --json for the explanations as JSON")
	}
	s, err := openSession(ctx, o.target.Endpoint, newLogger(e.stderr, o.out.LogFormat), ws)
	if err != nil {
		return err
	}
	pubs := s.publishers(ws, 0, o.pub.Timeout)
	if err := report.CheckAll(pubs.sinks(ws)); err != nil {
		return err
	}
	b := s.baker()
	if id := ws.project.Identity(ctx); id != "" {
		b.Log.Info("project " + id + ": its AMIs carry it as ami-bakery:project")
	}
	plans, err := b.PlanAll(ctx, ws.imgs)
	if err != nil {
		return err
	}
	publications, err := pubs.plan(ctx, ws, plans)
	if err != nil {
		return err
	}
	xs, err := o.explanations(ctx, b, ws, plans)
	if err != nil {
		return err
	}
	if o.diff {
		return printExplanations(e.stdout, xs, o.out.JSON, e)
	}
	var channels map[string][]report.ChannelState
	if o.matrix == "" {
		if channels, err = channelStates(ctx, ws, s, plans); err != nil {
			return err
		}
	}
	work, err := o.print(ws, plans, publications, xs, channels, b, e)
	if err != nil {
		return err
	}
	if o.detailed && work {
		return exitError{exitBuildNeeded}
	}
	return nil
}

// print renders the plan on stdout and reports whether there is work: a
// build, copy or wait, or a publication pending.
func (o *planOptions) print(ws *workset, plans []*bake.Plan, pubs []report.Publication, xs []*explain.Explanation, channels map[string][]report.ChannelState, b *bake.Baker, e *env) (bool, error) {
	work := slices.ContainsFunc(pubs, func(p report.Publication) bool { return p.Action == report.Pending })
	w := e.stdout
	if ws.project.Single() && len(plans) == 1 {
		work = work || !plans[0].UpToDate()
		extras := report.PlanExtras{Publications: pubs}
		if xs != nil {
			extras.Explanations = xs
		}
		if err := report.PrintPlanPublishing(w, plans[0], extras, o.out.JSON); err != nil {
			return false, err
		}
	} else {
		var rows []report.ImagePlan
		for i, img := range ws.sel {
			if o.level >= 0 && img.Level != o.level {
				continue
			}
			rows = append(rows, report.ImagePlan{Name: ws.name(i), Parent: img.ParentName, Level: img.Level, Plan: plans[i], Channels: channels[ws.name(i)]})
			work = work || !plans[i].UpToDate()
		}
		if o.matrix != "" {
			n, err := report.PrintMatrix(w, rows, o.matrix)
			if err != nil {
				return false, err
			}
			if n == 0 {
				b.Log.Info("nothing to bake: the matrix is empty; guard the matrix job with if: fromJSON(...).include[0] != null")
			}
			return work, nil
		}
		if err := report.PrintProjectPlan(w, rows, pubs, o.out.JSON); err != nil {
			return false, err
		}
	}
	if o.out.JSON {
		w = io.Discard // in the JSON already; the step summary still gets them
	}
	return work, printExplanations(w, xs, false, e)
}

// explanations explains the images: for diff every one, for plan
// --explain those that need a build; nil without either.
func (o *planOptions) explanations(ctx context.Context, b *bake.Baker, ws *workset, plans []*bake.Plan) ([]*explain.Explanation, error) {
	if !o.explain {
		return nil, nil
	}
	var xs []*explain.Explanation
	for i, img := range ws.imgs {
		if !o.diff && !plans[i].NeedsBuild() {
			continue
		}
		x, err := explainImage(ctx, b.Clients(img.RoleARN, img.Regions[0]), img, plans[i])
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, nil
}

// explainImage explains img's plan: why it needs a build (for diff: what
// changed since the newest earlier AMI, whatever the plan).
func explainImage(ctx context.Context, c explain.EC2, img *bake.Image, plan *bake.Plan) (*explain.Explanation, error) {
	abs, err := absDir(img.Spec.Template)
	if err != nil {
		return nil, fmt.Errorf("explaining image %s: %w", img.Name, err)
	}
	req := explain.Request{
		Image: img.Name, TagKey: img.TagKey, Owners: img.Owners, Region: img.Regions[0],
		Current: plan.Fingerprint, TemplateDir: abs,
	}
	if plan.Base != nil {
		req.BaseName = plan.Base.Name
	}
	return explain.Explain(ctx, c, req)
}
