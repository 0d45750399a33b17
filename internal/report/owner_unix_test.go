//go:build unix

package report

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/testenv"
)

// TestWriteFileOwnerAsRoot: run as root (the container image's default), a
// result file gets its directory's owner, so a CI user's checkout holds no
// root-owned .ami_id.json (issue 16).
func TestWriteFileOwnerAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		// CI runs as root, so there it always runs.
		testenv.Missing(t, "giving a file away needs root")
	}
	dir := t.TempDir()
	if err := os.Chown(dir, 1000, 1001); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, ".ami_id.json")
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 1000 || st.Gid != 1001 || fi.Mode().Perm() != 0o644 {
		t.Errorf("owner %d:%d mode %v, want 1000:1001 -rw-r--r--", st.Uid, st.Gid, fi.Mode().Perm())
	}
}
