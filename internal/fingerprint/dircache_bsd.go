//go:build darwin || freebsd || netbsd || openbsd

package fingerprint

import "syscall"

// A dirCache does nothing here: files are opened by their whole path.
type dirCache struct{}

func (*dirCache) open(path string, flags int) (int, error) {
	return retryEINTR(func() (int, error) { return syscall.Open(path, flags, 0) })
}

func (*dirCache) close() {}
