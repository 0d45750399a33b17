package fingerprint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// maxLinkHops bounds how many symlinks one resolution follows (Linux's
// own limit is 40); more means a loop.
const maxLinkHops = 40

// linkProblem says why a symlink cannot be part of a definition.
type linkProblem int

const (
	linkEscapes linkProblem = iota + 1
	linkAbsolute
	linkDangling
	linkLoop
)

// linkError is a symlink that cannot be part of a definition.
type linkError struct {
	problem linkProblem
	link    string // the link, as the user would name it
	target  string // its target text
	via     string // for linkAbsolute and linkEscapes: the target text of the last link followed
}

func (e *linkError) Error() string {
	switch e.problem {
	case linkEscapes:
		if e.via != "" && e.via != e.target {
			return fmt.Sprintf("symlink %q points to %q, which leads to %q, outside its definition directory", e.link, e.target, e.via)
		}
		return fmt.Sprintf("symlink %q points to %q, outside its definition directory", e.link, e.target)
	case linkAbsolute:
		if e.via != e.target {
			return fmt.Sprintf("symlink %q points to %q, which leads to the absolute path %q", e.link, e.target, e.via)
		}
		return fmt.Sprintf("symlink %q points to the absolute path %q", e.link, e.target)
	case linkDangling:
		return fmt.Sprintf("symlink %q points to %q, which does not exist", e.link, e.target)
	case linkLoop:
		return fmt.Sprintf("symlink %q points to %q: too many levels of symbolic links (a loop)", e.link, e.target)
	}
	return fmt.Sprintf("symlink %q points to %q", e.link, e.target)
}

// withHint adds the hint for the problem.
func (e *linkError) withHint() error {
	switch e.problem {
	case linkEscapes:
		return usererr.WithHint(e, "packer would read a file that is not part of the definition: copy it into the directory, or add its directory to the definition directories")
	case linkAbsolute:
		return usererr.WithHint(e, "make the link relative (ln -sr) so the definition means the same in every checkout")
	case linkDangling:
		return usererr.WithHint(e, "create the target, remove the link, or list the link in the ignore file")
	case linkLoop:
		return usererr.WithHint(e, "break the loop, or list the link in the ignore file")
	}
	return e
}

// resolveLink follows the symlink at rel (slash-separated, inside the root
// whose prefix is prefix) and any symlinks it leads to, looking only at
// paths inside the root: it fails as soon as a step would leave it, so it
// never follows a link outside the root. It returns the target's path
// relative to the root ("" for the root itself), whether it is a
// directory, and the link's own target text.
//
// Resolution is physical, as the kernel's: ".." after a symlinked directory
// goes to the parent of where the link points.
func resolveLink(prefix, rel, display string) (target string, isDir bool, text string, err error) {
	text, err = os.Readlink(prefix + rel)
	if err != nil {
		return "", false, "", fmt.Errorf("reading symlink %q: %w", display, err)
	}
	fail := func(p linkProblem, via string) (string, bool, string, error) {
		return "", false, text, (&linkError{problem: p, link: display, target: text, via: via}).withHint()
	}
	if isAbsLinkTarget(text) {
		return fail(linkAbsolute, text)
	}

	var cur []string // resolved components: real directories, never links
	if i := strings.LastIndexByte(rel, '/'); i >= 0 {
		cur = strings.Split(rel[:i], "/")
	}
	pending := strings.Split(text, "/")
	last := text // the target text of the last link followed
	isDir = true // the directory holding the link
	for hops := 1; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return fail(linkEscapes, last)
			}
			cur = cur[:len(cur)-1]
			isDir = true
			continue
		}
		if !isDir {
			return fail(linkDangling, "") // a path through a file
		}
		cand := strings.Join(append(cur, c), "/")
		fi, err := os.Lstat(prefix + cand)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
				return fail(linkDangling, "")
			}
			return "", false, text, fmt.Errorf("resolving symlink %q: %w", display, err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if hops++; hops > maxLinkHops {
				return fail(linkLoop, "")
			}
			next, err := os.Readlink(prefix + cand)
			if err != nil {
				return "", false, text, fmt.Errorf("resolving symlink %q: %w", display, err)
			}
			if isAbsLinkTarget(next) {
				return fail(linkAbsolute, next)
			}
			last = next
			pending = append(strings.Split(next, "/"), pending...)
			continue
		}
		cur = append(cur, c)
		isDir = fi.IsDir()
	}
	return strings.Join(cur, "/"), isDir, text, nil
}

// isAbsLinkTarget reports whether a link target is absolute on any system
// the definition might be checked out on.
func isAbsLinkTarget(t string) bool {
	if strings.HasPrefix(t, "/") || strings.HasPrefix(t, `\`) {
		return true
	}
	return len(t) >= 2 && t[1] == ':' // a Windows drive
}
