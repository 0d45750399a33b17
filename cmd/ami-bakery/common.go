package main

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/logging"
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
