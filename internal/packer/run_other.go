//go:build !unix

package packer

import (
	"context"
	"errors"
)

// Build runs `packer build`; it needs process groups, so unix only.
func Build(ctx context.Context, o BuildOptions) (*Result, error) {
	return nil, errors.New("running packer: only supported on unix systems")
}
