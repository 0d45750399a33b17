package fingerprint

import (
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestWalkOrder checks that the v2 walk meets files in the byte order of
// their paths, so that sorting the inputs has nothing to do. Names around
// "/" (0x2f) are the tricky ones: "a.txt" and "a-b" sort before what is in
// directory "a", "a0" and "a~" after it.
func TestWalkOrder(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"a.txt": "1", "a-b": "2", "a!": "3", "a0": "4", "a~": "5", "ab": "6", "A": "7", "\u00e9": "8",
		"a/x": "9", "a/b/c": "10", "a/b.c": "11", "a/b0": "12",
		"a.d/y": "13", "a0d/z": "14", "b.txt": "15", "b!/q": "16", "b/q": "17",
	})
	var (
		mu   sync.Mutex
		seen []string
	)
	s := Spec{Dirs: []string{dir}, Workers: 1, beforeOpen: func(p string) {
		mu.Lock()
		defer mu.Unlock()
		rel, err := filepath.Rel(dir, p)
		mustDo(t, err)
		seen = append(seen, filepath.ToSlash(rel))
	}}
	res := compute(t, s)
	if len(seen) != 17 {
		t.Fatalf("walk opened %d files, want 17: %q", len(seen), seen)
	}
	if !slices.IsSorted(seen) {
		t.Errorf("walk order is not byte order:\n%s", strings.Join(seen, "\n"))
	}
	if !slices.IsSortedFunc(res.Inputs, compareInputs) {
		t.Errorf("inputs not sorted:\n%s", dumpInputs(res.Inputs))
	}
}
