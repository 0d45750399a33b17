// Package testenv decides what a test does when the machine lacks
// something it needs (packer, the AWS CLI, bash, go, PyYAML): on a
// developer's machine the test is skipped, saying what is missing; under CI
// (CI set, as .ci/run does) it fails, because there everything is installed
// and a skip would hide a test that never ran.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Missing skips t, or fails it under CI, with the message what.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	what := fmt.Sprintf(format, args...)
	if os.Getenv("CI") != "" {
		t.Fatalf("%s, and CI is set: CI must provide it (.ci/run, scripts/ensure-deps.sh)", what)
		return
	}
	t.Skip(what)
}

// Command returns the path of the named program on PATH, or calls Missing.
func Command(t testing.TB, name, hint string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, "%s is not on PATH (%s)", name, hint)
	}
	return p
}

// InCI reports whether the tests run under CI.
func InCI() bool { return os.Getenv("CI") != "" }
