//go:build !unix

package report

const openNonblock = 0

// writable cannot be checked here without changing anything; the write
// itself reports a destination that cannot be written.
func writable(string) error { return nil }
