package fingerprint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree creates files under dir. Keys are slash-separated paths: a
// trailing "/" makes an (empty) directory and a trailing "*" an executable
// file; a value starting with "->" makes a symlink to the rest. Other files
// get mode 0644 whatever the umask.
func writeTree(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		if strings.HasSuffix(p, "/") {
			mustDo(t, os.MkdirAll(filepath.Join(dir, p), 0o755))
			continue
		}
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, filepath.FromSlash(p))
		mustDo(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if target, ok := strings.CutPrefix(body, "->"); ok {
			mustDo(t, os.Symlink(target, full))
			continue
		}
		mustDo(t, os.WriteFile(full, []byte(body), mode))
		mustDo(t, os.Chmod(full, mode))
	}
}

func mustDo(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// compute runs Compute and fails the test on error.
func compute(t testing.TB, s Spec) Result {
	t.Helper()
	res, err := Compute(context.Background(), s)
	if err != nil {
		t.Fatalf("Compute(%+v): %v", s, err)
	}
	return res
}

// dumpInputs formats inputs for failure messages.
func dumpInputs(in []Input) string {
	var b strings.Builder
	for _, i := range in {
		x := "-"
		if i.Executable {
			x = "x"
		}
		b.WriteString("  " + i.Kind + " " + i.Root + " " + i.Path + " " + x + " " + i.Hash + "\n")
	}
	return b.String()
}
