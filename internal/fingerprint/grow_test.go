package fingerprint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// TestFileChangedWhileRead: a file that grows or shrinks between the fstat
// that gives its size and the end of its reads is an error naming it, with
// a hint, never a sum of whatever was read. The sizes include one that is a
// multiple of the read buffer, where the last read ends exactly at the old
// size with a full buffer (the bug: reading stopped there and missed the
// growth).
func TestFileChangedWhileRead(t *testing.T) {
	for _, tt := range []struct {
		name   string
		size   int
		change func(f *os.File)
		want   string
	}{
		{"small file grows", 10, func(f *os.File) { f.WriteString("more") }, "grew"},
		{"file of one buffer grows", bufSize, func(f *os.File) { f.WriteString("more") }, "grew"},
		{"file of two buffers grows", 2 * bufSize, func(f *os.File) { f.WriteString("more") }, "grew"},
		{"file shrinks", bufSize + 10, func(f *os.File) { f.Truncate(5) }, "shrank"},
		{"empty file grows", 0, func(f *os.File) { f.WriteString("more") }, "grew"},
	} {
		dir := t.TempDir()
		writeTree(t, dir, map[string]string{"t.json": "{}\n", "ami/log": strings.Repeat("x", tt.size)})
		target := filepath.Join(dir, "ami/log")
		afterFstat = func(p string) {
			if p != target {
				return
			}
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Error(err)
				return
			}
			tt.change(f)
			f.Close()
		}
		_, err := Compute(context.Background(), Spec{Template: filepath.Join(dir, "t.json"), Dirs: []string{filepath.Join(dir, "ami")}, Workers: 1})
		afterFstat = nil
		if err == nil || !strings.Contains(err.Error(), `"`+filepath.Join(dir, "ami")+`/log"`) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error naming the file, saying it %s", tt.name, err, tt.want)
			continue
		}
		if h := usererr.Hints(err); len(h) == 0 || !strings.Contains(h[0], "run again") {
			t.Errorf("%s: hints %q", tt.name, h)
		}
	}
}
