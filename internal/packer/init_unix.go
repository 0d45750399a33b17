//go:build unix

package packer

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// InitSupported reports whether the packer in o has `packer init` (1.7.0
// and later), by asking it its version.
func InitSupported(ctx context.Context, o BuildOptions) (bool, string, error) {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(o.Packer, env)
	if err != nil {
		return false, "", err
	}
	cmd := exec.CommandContext(ctx, path, "version")
	cmd.Env = env
	out, err := cmd.Output()
	if err != nil {
		return false, "", fmt.Errorf("asking packer its version: %w", err)
	}
	v := strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	return versionAtLeast(v, 1, 7), v, nil
}

var versionRE = regexp.MustCompile(`v?([0-9]+)\.([0-9]+)`)

// versionAtLeast reports whether a "Packer v1.8.3"-style line is at least
// major.minor.
func versionAtLeast(line string, major, minor int) bool {
	m := versionRE.FindStringSubmatch(line)
	if m == nil {
		return false
	}
	ma, _ := strconv.Atoi(m[1])
	mi, _ := strconv.Atoi(m[2])
	return ma > major || ma == major && mi >= minor
}

// Init runs `packer init` on o's template in o's directory, so that the
// plugins an HCL2 template requires (required_plugins) are installed before
// the build. Its output goes to o.Progress, prefixed; on cancel packer's
// process group is interrupted and, after o.Grace, killed.
func Init(ctx context.Context, o BuildOptions) error {
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	path, err := lookPath(o.Packer, env)
	if err != nil {
		return err
	}
	grace := o.Grace
	if grace == 0 {
		grace = DefaultGrace
	}
	cmd := exec.CommandContext(ctx, path, "init", templateArg(o.Template))
	cmd.Dir, cmd.Env = o.Dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = grace
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("running packer init: %w", err)
	}
	var tail []string
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		line := sc.Text()
		if o.Progress != nil {
			fmt.Fprintf(o.Progress, "%s%s\n", prefixOut, line)
		}
		tail = append(tail, line)
		if len(tail) > tailLines {
			tail = tail[1:]
		}
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("packer init: %w", ErrInterrupted)
		}
		return fmt.Errorf("packer init failed (%v):\n  %s", err, strings.Join(tail, "\n  "))
	}
	return nil
}
