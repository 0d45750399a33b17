package fingerprint

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
)

// Workers keep a directory open between files; every descriptor must be
// closed when Compute returns, whether it succeeded, failed or was
// cancelled.
func TestComputeClosesDescriptors(t *testing.T) {
	root := t.TempDir()
	tree := baseTree()
	for d := range 5 {
		for f := range 20 {
			tree[fmt.Sprintf("ami/many/d%d/f%02d", d, f)] = fmt.Sprint(d, f)
		}
	}
	writeTree(t, root, tree)
	openFDs := func() int {
		ents, err := os.ReadDir("/proc/self/fd")
		mustDo(t, err)
		return len(ents) - 1 // the one ReadDir opened
	}

	before := openFDs()
	compute(t, defaultSpec(root))
	if after := openFDs(); after != before {
		t.Errorf("after a fingerprint: %d open descriptors, want %d", after, before)
	}

	s := defaultSpec(root)
	s.beforeOpen = func(p string) {
		if strings.HasSuffix(p, "d3/f10") {
			os.Remove(p)
		}
	}
	if _, err := Compute(context.Background(), s); err == nil {
		t.Fatal("a file removed while hashing: no error")
	}
	if after := openFDs(); after != before {
		t.Errorf("after a failed fingerprint: %d open descriptors, want %d", after, before)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s = defaultSpec(root)
	s.beforeOpen = func(p string) {
		if strings.HasSuffix(p, "d2/f05") {
			cancel()
		}
	}
	if _, err := Compute(ctx, s); err == nil {
		t.Fatal("cancelled while hashing: no error")
	}
	if after := openFDs(); after != before {
		t.Errorf("after a cancelled fingerprint: %d open descriptors, want %d", after, before)
	}
}
