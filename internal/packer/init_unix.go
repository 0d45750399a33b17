//go:build unix

package packer

import (
	"context"
	"fmt"
	"strings"
)

// InitSupported reports whether the packer in o has `packer init` (1.7.0
// and later), by asking it its version, which it also returns ("Packer
// v1.8.3").
func InitSupported(ctx context.Context, o BuildOptions) (bool, string, error) {
	v, err := Version(ctx, o)
	if err != nil {
		return false, "", err
	}
	return versionAtLeast(v, 1, 7), v, nil
}

// Version asks the packer in o its version and returns the first line it
// prints ("Packer v1.6.6"). `packer version` runs under the same
// supervision as Build; its output is not shown in o.Progress.
func Version(ctx context.Context, o BuildOptions) (string, error) {
	var lines []string
	out := &output{} // not shown: only the error carries it
	err := run(ctx, o, command{
		args:   []string{"version"},
		stdout: out.plain(func(line string) { lines = append(lines, line) }),
		out:    out,
		drain:  drainTimeout,
	})
	if err != nil {
		return "", fmt.Errorf("asking packer its version: %w", err)
	}
	if len(lines) == 0 {
		return "", nil
	}
	return strings.TrimSpace(lines[0]), nil
}

// Init runs `packer init` on o's template in o's directory, so that the
// plugins an HCL2 template requires (required_plugins) are installed before
// the build. It is supervised as Build is; its output goes to o.Progress,
// prefixed, and its tail into the error.
func Init(ctx context.Context, o BuildOptions) error {
	out := &output{w: o.Progress}
	return run(ctx, o, command{
		args:   []string{"init", templateArg(o.Template)},
		stdout: out.plain(nil),
		out:    out,
		drain:  drainTimeout,
	})
}
