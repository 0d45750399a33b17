package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

type graphOptions struct {
	imageFlags
	mermaid   bool
	json      bool
	plan      bool
	logFormat string
}

func newGraphCommand(e *env) *cobra.Command {
	var o graphOptions
	cmd := &cobra.Command{
		Use:   "graph [IMAGE...]",
		Short: "Print a project's images and their parents as a graph",
		Long: `graph prints the images of a project file (bakery.hcl or bakery.json in the
working directory, or --config) named as arguments and their ancestors (all
by default), with an edge from each parent to its children: a Graphviz DOT
digraph by default, a Mermaid flowchart with --mermaid, or with --json
{"images": [{"name", "parent", "level", "action"}]}.

Without --plan it reads files only. With --plan it also plans every image, as
plan does, and labels and colours each with its action: build, wait, copy or
reuse.` + exitHelp,
		Example: `  ami-bakery graph | dot -Tsvg > graph.svg
  ami-bakery graph --plan --mermaid`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runGraph(cmd.Context(), cmd, &o, args, e)
		},
	}
	fs := cmd.Flags()
	o.proj.AddFlags(fs)
	o.target.AddFlags(fs)
	fs.BoolVar(&o.mermaid, "mermaid", false, "print a Mermaid flowchart instead of DOT")
	fs.BoolVar(&o.json, "json", false, "print one JSON object instead of DOT")
	fs.BoolVar(&o.plan, "plan", false, "plan every image (AWS lookups) and show its action")
	fs.StringVar(&o.logFormat, "log-format", "text", "stderr log format: text or json")
	options.BindEnv(fs, "log-format", "AMI_BAKERY_LOG_FORMAT")
	fs.SortFlags = false
	return cmd
}

func (o *graphOptions) format() (string, error) {
	switch {
	case o.mermaid && o.json:
		return "", usererr.WithHint(usererr.Usagef("--mermaid and --json both choose the output"), "give one of them")
	case o.mermaid:
		return report.GraphMermaid, nil
	case o.json:
		return report.GraphJSON, nil
	}
	return report.GraphDOT, nil
}

func runGraph(ctx context.Context, cmd *cobra.Command, o *graphOptions, names []string, e *env) error {
	format, err := o.format()
	if err != nil {
		return err
	}
	if err := (&options.Output{LogFormat: o.logFormat}).Validate(); err != nil {
		return err
	}
	path, err := o.proj.Path(cmd.Flags(), &o.def)
	if err != nil {
		return err
	}
	if path == "" {
		return usererr.WithHint(usererr.Usagef("no project file: graph needs %s or %s in the working directory, or --config", project.FileHCL, project.FileJSON),
			"name one with --config (AMI_BAKERY_CONFIG)")
	}
	ws, err := o.load(cmd.Flags(), names)
	if err != nil {
		return err
	}
	nodes := make([]report.GraphNode, len(ws.sel))
	for i, img := range ws.sel {
		nodes[i] = report.GraphNode{Name: img.Name, Parent: img.ParentName, Level: img.Level}
	}
	if o.plan {
		s, err := openSession(ctx, o.target.Endpoint, newLogger(e.stderr, o.logFormat), ws)
		if err != nil {
			return err
		}
		plans, err := s.baker().PlanAll(ctx, ws.imgs)
		if err != nil {
			return err
		}
		for i, pl := range plans {
			nodes[i].Action = string(report.PlanAction(pl))
		}
	}
	return report.PrintGraph(e.stdout, nodes, format)
}
