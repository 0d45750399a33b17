package packer

import (
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

func TestCheckOnError(t *testing.T) {
	for _, v := range append([]string{""}, OnErrorValues...) {
		if err := CheckOnError(v); err != nil {
			t.Errorf("CheckOnError(%q) = %v", v, err)
		}
	}
	for _, v := range []string{"retry", "Abort", " cleanup"} {
		err := CheckOnError(v)
		if err == nil {
			t.Errorf("CheckOnError(%q) accepted it", v)
			continue
		}
		if h := usererr.Hints(err); len(h) != 1 || h[0] != "use one of cleanup, abort, ask, run-cleanup-provisioner" {
			t.Errorf("CheckOnError(%q) hints = %q", v, h)
		}
		if !strings.Contains(err.Error(), "invalid on-error value") {
			t.Errorf("CheckOnError(%q) = %v", v, err)
		}
	}
}
