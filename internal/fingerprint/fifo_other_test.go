//go:build !unix

package fingerprint

import "errors"

func mkfifo(string) error { return errors.ErrUnsupported }
