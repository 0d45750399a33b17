package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/logging"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Set at release time with -ldflags "-X main.version=... -X main.commit=... -X main.date=...".
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func versionString() string {
	c, d := commit, date
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && c == "":
				c = s.Value
			case s.Key == "vcs.time" && d == "":
				d = s.Value
			}
		}
	}
	out := version
	if c != "" {
		out += " (commit " + c
		if d != "" {
			out += ", built " + d
		}
		out += ")"
	}
	return out
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usererr.WithHint(usererr.Usagef("unexpected argument %q", args[0]),
			"see %s --help", cmd.CommandPath())
	}
	return nil
}

// applyEnv fills unset flags from the environment, then warns once when
// --algorithm v1 leaves given options out of the fingerprint.
func applyEnv(cmd *cobra.Command, e *env) error {
	fs := cmd.Flags()
	if err := options.ApplyEnv(fs, e.getenv); err != nil {
		return err
	}
	if ignored := options.V1Ignored(fs); len(ignored) > 0 {
		format, _ := fs.GetString("log-format")
		newLogger(e.stderr, format).Warn("--algorithm v1 reproduces the original tool's checksum, which leaves out " +
			strings.Join(ignored, ", ") + ": changing them does not change the fingerprint")
	}
	return nil
}

func newLogger(w io.Writer, format string) *slog.Logger { return logging.New(w, format) }

// spec turns the definition settings into a fingerprint spec. It depends
// on the definition alone, never on a run's output flags, so plan, bake and
// checksum always agree. Left out by design: .ami_id.json beside the
// template (the original wrote it there), the base lock file there, and the outputs of the template's
// manifest post-processors, resolved against packer's working directory
// (they change with every build); any other output path inside the
// definition is refused (checkOutputs), so it needs no exclusion. The
// exclusions are returned with why, for checksum --explain.
func spec(d *options.Definition) (fingerprint.Spec, []report.Exclusion, error) {
	alg, err := fingerprint.ParseAlgorithm(d.Algorithm)
	if err != nil {
		return fingerprint.Spec{}, nil, usererr.Usage(err)
	}
	excl := []report.Exclusion{{Path: filepath.Join(d.TemplateDir(), options.DefaultOutputFile), Why: "ami-bakery's result file"}}
	// The lock file's pin enters the fingerprint as the base's identity;
	// its bytes (the search it records) must not rebuild anything.
	for _, f := range []string{project.LockFileHCL, project.LockFileJSON} {
		excl = append(excl, report.Exclusion{Path: filepath.Join(d.TemplateDir(), f), Why: "ami-bakery's lock file (its pin is the base)"})
	}
	// A template that cannot be read has no manifest to leave out; plan
	// and bake refuse it anyway.
	if t, err := packer.LoadTemplate(d.Template); err == nil {
		vars := map[string]string{}
		for _, v := range d.Vars {
			vars[options.VarName(v)] = v[len(options.VarName(v))+1:]
		}
		paths, _ := t.ManifestPaths(d.WorkDir(), vars)
		for _, p := range paths {
			excl = append(excl, report.Exclusion{Path: p, Why: "packer's manifest output"})
		}
	}
	sp := fingerprint.Spec{
		Algorithm:  alg,
		Template:   d.Template,
		Dirs:       d.Dirs,
		VarFiles:   d.VarFiles,
		Vars:       d.Vars,
		IgnoreFile: d.IgnoreFile,
	}
	for _, x := range excl {
		sp.Exclude = append(sp.Exclude, x.Path)
	}
	return sp, excl, nil
}

// absAll makes paths absolute, since packer runs in the template's directory.
func absAll(paths []string) ([]string, error) {
	out := make([]string, len(paths))
	for i, p := range paths {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("resolving %s: %w", p, err)
		}
		out[i] = a
	}
	return out, nil
}

// gitCommit returns the commit checked out in dir's git work tree, or "".
// It is provenance only: any failure just means there is none to record.
func gitCommit(ctx context.Context, dir string) string {
	cmd := exec.CommandContext(ctx, "git", "rev-parse", "HEAD")
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
