package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/report"
)

type checksumOptions struct {
	imageFlags
	explain bool
	json    bool
}

func newChecksumCommand(e *env) *cobra.Command {
	var o checksumOptions
	cmd := &cobra.Command{
		Use:   "checksum",
		Short: "Print the definition's fingerprint, with no AWS access",
		Long: `checksum prints the fingerprint that bake would look for. It reads only
local files: no AWS credentials or network are needed.

With --explain it first lists every input that went into the fingerprint,
one per line: kind, root, path, mode (x = executable), size and hash; the
fingerprint is the last line. Compare two listings to see why it changed.
A name with a space, tab, newline, control character or invalid UTF-8 is
printed quoted, as a Go string. A --var shows only its name and "set":
never its value, length or hash, since it may be a secret.` + exitHelp,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runChecksum(cmd.Context(), cmd, &o, e)
		},
	}
	fs := cmd.Flags()
	o.def.AddFlags(fs)
	o.wire.AddSelectionFlags(fs)
	fs.BoolVar(&o.explain, "explain", false, "list every input that went into the fingerprint")
	fs.BoolVar(&o.json, "json", false, "print one JSON object with the fingerprint and its inputs")
	fs.SortFlags = false
	return cmd
}

func runChecksum(ctx context.Context, cmd *cobra.Command, o *checksumOptions, e *env) error {
	if err := o.def.Validate(); err != nil {
		return err
	}
	// The same refusals as bake and plan (a fifo, a device, a huge or
	// binary file), before the fingerprint reads the template.
	if err := packer.CheckTemplate(o.def.Template); err != nil {
		return err
	}
	o.offline = true
	ws, err := o.load(cmd.Flags(), nil)
	if err != nil {
		return err
	}
	if len(ws.imgs) > 1 {
		return printBuildSums(ctx, ws, e, o.json)
	}
	img := ws.imgs[0]
	res, err := fingerprint.Compute(ctx, img.Spec)
	if err != nil {
		return err
	}
	var excluded []report.Exclusion
	if res.Algorithm == fingerprint.V2 { // v1 hashes what the original hashed
		for _, x := range ws.project.Exclusions(ws.sel[0]) {
			if inAny(x.Path, img.Spec.Dirs) {
				excluded = append(excluded, report.Exclusion{Path: x.Path, Why: x.Why})
			}
		}
	}
	return report.PrintChecksum(e.stdout, res, excluded, o.explain, o.json)
}

// printBuildSums prints the fingerprint of each build of a template whose
// selection builds several AMIs: each is its own image (project.SplitBuilds),
// "BUILD SUM" a line, or {"builds": {BUILD: SUM}}.
func printBuildSums(ctx context.Context, ws *workset, e *env, asJSON bool) error {
	sums := map[string]string{}
	var lines []string
	for i, img := range ws.imgs {
		res, err := fingerprint.Compute(ctx, img.Spec)
		if err != nil {
			return err
		}
		sums[ws.name(i)] = res.Sum
		lines = append(lines, ws.name(i)+" "+res.Sum)
	}
	if asJSON {
		return report.EncodeJSON(e.stdout, map[string]any{"builds": sums})
	}
	_, err := fmt.Fprintln(e.stdout, strings.Join(lines, "\n"))
	return err
}

// inAny reports whether path lies in one of dirs: an exclusion elsewhere
// would not be hashed anyway.
func inAny(path string, dirs []string) bool {
	ax, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for _, d := range dirs {
		ad, err := filepath.Abs(d)
		if err != nil {
			continue
		}
		if rel, err := filepath.Rel(ad, ax); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
			return true
		}
	}
	return false
}
