package fingerprint

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file adds to a V2 fingerprint what the template uses outside the
// definition directories (Spec.Extra) and the build selection (Spec.Only,
// Spec.Except). Both are new manifest lines of new kinds, so a spec
// without them keeps its sum.

// Kinds of the inputs this file adds.
const (
	// KindInput is a file of an extra root: the root's own file, or a file
	// inside an extra directory. Its Root is the label of the directory
	// that holds it (for a file root) or of the root, relative to the
	// template's directory as a definition root's is; its Path is relative
	// to that.
	KindInput = "input"
	// KindInputSymlink is a symlink inside an extra directory.
	KindInputSymlink = "input-symlink"
	// KindOnly and KindExcept are one build name of -only or -except:
	// Path is the name, Hash its SHA-256.
	KindOnly   = "only"
	KindExcept = "except"
)

// ExtraRoot is a file or directory outside the definition directories that
// the template uses.
type ExtraRoot struct {
	// Path is where it is: absolute, or relative to the current directory.
	// Its label in the manifest is its path relative to the template's
	// directory (as a definition directory's), so that two checkouts agree.
	Path string
	// Pos is where the template uses it ("file:line"), for the listing
	// only: it is not hashed (the template's own hash covers it).
	Pos string
}

// extraV2 hashes the extra roots that are files and returns their inputs,
// and labels the extra roots that are directories and returns them, to be
// walked with the definition roots. base is the directory labels are
// relative to. An extra directory that is a definition root already is
// left out (it is hashed once, as a definition root).
func extraV2(ctx context.Context, s Spec, base, ignoreName string, roots []*root) ([]Input, []*root, error) {
	var (
		inputs []Input
		dirs   []*root
	)
	for _, x := range s.Extra {
		abs, err := filepath.Abs(x.Path)
		if err != nil {
			return nil, nil, fmt.Errorf("reading %q: %w", x.Path, err)
		}
		if slices.ContainsFunc(s.Exclude, func(e string) bool { return sameFile(e, abs) }) {
			continue
		}
		what := fmt.Sprintf("%q, which the template uses", x.Path)
		if x.Pos != "" {
			what = fmt.Sprintf("%q, which the template uses at %s", x.Path, x.Pos)
		}
		fi, err := os.Stat(abs)
		if err != nil {
			err = fmt.Errorf("reading %s: %w", what, err)
			if errors.Is(err, fs.ErrNotExist) {
				err = usererr.WithHint(err, "packer would fail on it too: create it, or fix the path in the template")
			}
			return nil, nil, err
		}
		rel, err := filepath.Rel(base, abs)
		if err != nil {
			return nil, nil, usererr.WithHint(fmt.Errorf("labelling %s: %w", what, err),
				"keep the files the template uses on the same volume as the template")
		}
		rel = filepath.ToSlash(rel)
		if fi.IsDir() {
			if slices.ContainsFunc(roots, func(r *root) bool { return r.abs == abs }) ||
				slices.ContainsFunc(dirs, func(r *root) bool { return r.abs == abs }) {
				continue
			}
			r := addRoot(nil, x.Path, abs)[0]
			r.label, r.extra, r.pos = rel, true, x.Pos
			if r.ignore, err = loadIgnore(r, ignoreName); err != nil {
				return nil, nil, err
			}
			dirs = append(dirs, r)
			continue
		}
		in, err := hashArg(ctx, what, x.Path, "packer would fail on it too: create it, or fix the path in the template")
		if err != nil {
			return nil, nil, err
		}
		dir, name := filepath.ToSlash(filepath.Dir(filepath.FromSlash(rel))), filepath.Base(abs)
		in.Kind, in.Root, in.Path, in.Pos = KindInput, dir, name, x.Pos
		in.Executable = fi.Mode()&0o100 != 0
		inputs = append(inputs, in)
	}
	return inputs, dirs, nil
}

// dedupInputs drops an input of an extra root whose kind, root and path an
// earlier one has (a file used both as itself and inside a used directory):
// inputs must be sorted, so that duplicates are next to each other.
func dedupInputs(inputs []Input) []Input {
	return slices.CompactFunc(inputs, func(a, b Input) bool {
		return (a.Kind == KindInput || a.Kind == KindInputSymlink) && a.Kind == b.Kind && a.Root == b.Root && a.Path == b.Path
	})
}

// selectionV2 returns the inputs of -only and -except: one per name,
// sorted and unique.
func selectionV2(only, except []string) []Input {
	var out []Input
	for _, sel := range []struct {
		kind  string
		names []string
	}{{KindOnly, only}, {KindExcept, except}} {
		names := slices.Clone(sel.names)
		slices.Sort(names)
		for _, n := range slices.Compact(names) {
			h := sha256.Sum256([]byte(n))
			out = append(out, Input{Kind: sel.kind, Path: n, Size: int64(len(n)), Hash: hex.EncodeToString(h[:])})
		}
	}
	return out
}

// Inside reports whether the file or directory at path is covered by the
// fingerprint of s without being an extra root: the template, a -var-file,
// a file the walk of a definition directory (or of a directory template)
// hashes, or a directory inside one that the walk enters (not ignored, not
// under .git). A path that is not inside is what Spec.Extra is for. It
// reads nothing but the ignore files and file metadata (InputOf).
func Inside(s Spec, path string) (bool, error) {
	fi, err := os.Stat(path)
	if err != nil || !fi.IsDir() {
		what, err := InputOf(s, path)
		return what != "", err
	}
	names := physical(path)
	dirs := s.Dirs
	if tfi, err := os.Stat(s.Template); s.Template != "" && err == nil && tfi.IsDir() {
		dirs = append([]string{s.Template}, dirs...)
	}
	ignoreName := s.IgnoreFile
	if ignoreName == "" {
		ignoreName = DefaultIgnoreFile
	}
	for _, d := range dirs {
		for _, top := range physical(d) {
			for _, n := range names {
				if n == top {
					return true, nil
				}
				rel, err := filepath.Rel(top, n)
				if err != nil || !filepath.IsLocal(rel) {
					continue
				}
				if s.Algorithm == V1 {
					return true, nil // V1 hashes every file of hidden directories too
				}
				m, err := loadIgnore(&root{given: d, abs: top, prefix: top + string(filepath.Separator)}, ignoreName)
				if err != nil {
					return false, err
				}
				if !m.excluded(filepath.ToSlash(rel), true) {
					return true, nil
				}
			}
		}
	}
	return false, nil
}
