package packer

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them: Build
// must not leave one behind, whatever packer does.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
