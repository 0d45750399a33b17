//go:build unix

package buildlock

import (
	"errors"
	"syscall"
)

// processGone reports whether no process has pid. EPERM means one exists
// that we may not signal.
func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
