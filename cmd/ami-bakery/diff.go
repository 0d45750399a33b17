package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/internal/explain"
	"github.com/ami-bakery/ami-bakery/internal/report"
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
			o.explain, o.diff, o.level = true, true, -1
			return runPlan(cmd.Context(), cmd, &o, args, e)
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
	o.proj.AddFlags(fs)
	fs.SortFlags = false
	return cmd
}

// absDir is the absolute directory of a template: itself when it is a
// directory of .pkr.hcl files.
func absDir(template string) (string, error) {
	dir := template
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		dir = filepath.Dir(dir)
	}
	return filepath.Abs(dir)
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
	lines := make([][]string, len(xs))
	for i, x := range xs {
		lines[i] = x.Lines()
	}
	return report.Publish(context.Background(), []report.Sink{report.ExplainSummary(summary, lines)}, &report.Result{})
}
