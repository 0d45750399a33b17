//go:build !unix

package report

import "os"

// ownLikeDir does nothing where files have no unix owner; see owner_unix.go.
func ownLikeDir(*os.File, string) {}
