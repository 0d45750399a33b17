package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/explain"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const diffHelp = `

diff explains a rebuild: it fingerprints the definition and compares its
group hashes (template, each directory, variables, base, parent) with the
ami-bakery:inputs tag of the newest trusted AMI of the same image
(ami-bakery:image) with another fingerprint. It names the groups that
changed, a parent's old and new fingerprints and, when the AMI's recorded
git commit is in the local history, the files added, removed and changed
since, read from git objects (a shallow clone gets a hint to fetch that
commit). plan --explain prints the same for every image that needs a build.
In GitHub Actions the explanation is appended to the step summary.`

func newDiffCommand(e *env) *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "diff [IMAGE...]",
		Short: "Explain what changed since the newest earlier AMI of the image",
		Long:  "diff [IMAGE...] compares the definition with the newest earlier AMI." + diffHelp + exitHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			o.explain, o.diff = true, true
			return withProject(cmd, args, &o.proj.project, &o.def,
				func(path string) error { return runPlanProject(cmd.Context(), &o, path, args, e) },
				func() error { return runPlan(cmd.Context(), &o, e) })
		},
	}
	fs := cmd.Flags()
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	// What the fingerprint depends on must be settable as for plan, or
	// diff would explain another fingerprint.
	o.wire.AddFlags(fs)
	o.base.AddFlags(fs)
	o.out.AddFlags(fs, false)
	o.proj.project.AddFlags(fs)
	fs.SortFlags = false
	return cmd
}

// explainImage explains img's plan: why it needs a build (for diff: what
// changed since the newest earlier AMI, whatever the plan).
func explainImage(ctx context.Context, c explain.EC2, name string, img *bake.Image, plan *bake.Plan) (*explain.Explanation, error) {
	dir := img.Spec.Template
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("explaining image %s: %w", name, err)
	}
	req := explain.Request{
		Image: name, TagKey: img.TagKey, Owners: img.Owners, Region: img.Regions[0],
		Current: plan.Fingerprint, TemplateDir: abs,
	}
	if plan.Base != nil {
		req.BaseName = plan.Base.Name
	}
	return explain.Explain(ctx, c, req)
}

// printExplanations writes the explanations: for diff they are the answer
// (stdout; one JSON object with --json); for plan --explain they follow the
// plan's lines. In GitHub Actions they are appended to the step summary.
func printExplanations(w io.Writer, xs []*explain.Explanation, asJSON bool, e *env) error {
	if asJSON {
		if err := report.EncodeJSON(w, map[string]any{"explanations": xs}); err != nil {
			return err
		}
	} else {
		for _, x := range xs {
			for _, l := range x.Lines() {
				if _, err := fmt.Fprintln(w, l); err != nil {
					return err
				}
			}
		}
	}
	summary, _ := e.getenv("GITHUB_STEP_SUMMARY")
	if summary == "" || len(xs) == 0 {
		return nil
	}
	return report.WriteAll([]report.Sink{report.ExplainSummary(summary, explainLines(xs))}, report.Result{})
}

func explainLines(xs []*explain.Explanation) [][]string {
	out := make([][]string, len(xs))
	for i, x := range xs {
		out[i] = x.Lines()
	}
	return out
}

// explainClient is the EC2 client explaining img uses: its primary region's.
func explainClient(b *bake.Baker, img *bake.Image) explain.EC2 {
	if img.RoleARN != "" && b.RoleClients != nil {
		return b.RoleClients(img.RoleARN, img.Regions[0])
	}
	return b.Clients(img.Regions[0])
}

// planExplained is plan --explain and diff in the single-template mode.
func planExplained(ctx context.Context, o *planOptions, b *bake.Baker, img *bake.Image, plan *bake.Plan, e *env) error {
	var xs []*explain.Explanation
	if o.diff || needsBuild(plan) {
		x, err := explainImage(ctx, explainClient(b, img), img.Name, img, plan)
		if err != nil {
			return err
		}
		xs = append(xs, x)
	}
	if o.diff {
		return printExplanations(e.stdout, xs, o.out.JSON, e)
	}
	if err := report.PrintPlanPublishing(e.stdout, plan, report.PlanExtras{Explanations: xs}, o.out.JSON); err != nil {
		return err
	}
	w := e.stdout
	if o.out.JSON {
		w = io.Discard // in the JSON already; the step summary still gets them
	}
	if err := printExplanations(w, xs, false, e); err != nil {
		return err
	}
	if o.detailed && !plan.UpToDate() {
		return exitError{exitBuildNeeded}
	}
	return nil
}

// needsBuild reports whether plan builds in some region.
func needsBuild(plan *bake.Plan) bool {
	for _, d := range plan.Regions {
		if d.Action == bake.Build {
			return true
		}
	}
	return false
}

// explainProject explains the selected images of a project: for diff
// every one, for plan --explain those that need a build; nil without
// either.
func (o *planOptions) explainProject(ctx context.Context, b *bake.Baker, sel []*project.Image, imgs []*bake.Image, plans []*bake.Plan) ([]*explain.Explanation, error) {
	if !o.explain {
		return nil, nil
	}
	if !o.diff && (o.out.JSON || o.proj.matrix != "") {
		return nil, usererr.WithHint(usererr.Usagef("plan --explain prints lines after a project's plan"),
			"use ami-bakery diff --json for the explanations as JSON")
	}
	var xs []*explain.Explanation
	for i, img := range sel {
		if !o.diff && !needsBuild(plans[i]) {
			continue
		}
		x, err := explainImage(ctx, explainClient(b, imgs[i]), img.Name, imgs[i], plans[i])
		if err != nil {
			return nil, err
		}
		xs = append(xs, x)
	}
	return xs, nil
}
