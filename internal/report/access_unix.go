//go:build unix

package report

import (
	"fmt"
	"syscall"
)

// openNonblock keeps opening a fifo from blocking until a reader comes:
// with no reader the open fails (ENXIO) instead of hanging the bake.
const openNonblock = syscall.O_NONBLOCK

// writable reports whether this process may write path, without opening it
// (opening and closing a fifo for writing would send its reader an EOF).
func writable(path string) error {
	for {
		err := syscall.Access(path, 2) // W_OK
		if err != syscall.EINTR {
			if err != nil {
				return fmt.Errorf("not writable: %w", err)
			}
			return nil
		}
	}
}
