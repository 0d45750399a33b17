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

// InitSupported needs Build's platform support; unix only.
func InitSupported(ctx context.Context, o BuildOptions) (bool, string, error) {
	return false, "", errors.New("running packer: only supported on unix systems")
}

// Version needs Build's platform support; unix only.
func Version(ctx context.Context, o BuildOptions) (string, error) {
	return "", errors.New("running packer: only supported on unix systems")
}

// Init runs `packer init`; unix only.
func Init(ctx context.Context, o BuildOptions) error {
	return errors.New("running packer: only supported on unix systems")
}
