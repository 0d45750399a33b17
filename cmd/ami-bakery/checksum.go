package main

import (
	"context"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/report"
)

type checksumOptions struct {
	def     options.Definition
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
			return runChecksum(cmd.Context(), &o, e)
		},
	}
	fs := cmd.Flags()
	o.def.AddFlags(fs)
	fs.BoolVar(&o.explain, "explain", false, "list every input that went into the fingerprint")
	fs.BoolVar(&o.json, "json", false, "print one JSON object with the fingerprint and its inputs")
	fs.SortFlags = false
	return cmd
}

func runChecksum(ctx context.Context, o *checksumOptions, e *env) error {
	if err := o.def.Validate(); err != nil {
		return err
	}
	// The same refusals as bake and plan (a fifo, a device, a huge or
	// binary file), before the fingerprint reads the template.
	if err := packer.CheckTemplate(o.def.Template); err != nil {
		return err
	}
	sp, excluded, err := spec(&o.def)
	if err != nil {
		return err
	}
	res, err := fingerprint.Compute(ctx, sp)
	if err != nil {
		return err
	}
	if res.Algorithm != fingerprint.V2 {
		excluded = nil // v1 hashes what the original hashed
	}
	return report.PrintChecksum(e.stdout, res, inDefinition(sp, excluded), o.explain, o.json)
}

// inDefinition keeps the exclusions that lie in a definition directory:
// the others would not be hashed anyway.
func inDefinition(sp fingerprint.Spec, excluded []report.Exclusion) []report.Exclusion {
	var out []report.Exclusion
	for _, x := range excluded {
		for _, d := range sp.Dirs {
			ad, err1 := filepath.Abs(d)
			ax, err2 := filepath.Abs(x.Path)
			if err1 != nil || err2 != nil {
				continue
			}
			if rel, err := filepath.Rel(ad, ax); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				out = append(out, x)
				break
			}
		}
	}
	return out
}
