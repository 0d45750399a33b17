package fingerprint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// InputOf says whether writing the file at path would change the
// fingerprint of s, and if so what it is: "the packer template", "-var-file
// NAME", "a file of definition directory DIR" (one the walk would hash:
// not under .git, not ignored; with V1, not a dot file), and with V2 "a
// file the template uses (at POS)" or "a file of DIR, which the template
// uses (at POS)" for the extra roots. It returns "" for a path that is no
// input, such as the files in s.Exclude.
//
// A path is compared both as named and with its symlinks resolved, since
// writing through a link writes its target; a template or -var-file is also
// recognised through another name for the same file. It reads nothing but
// the ignore files and file metadata.
func InputOf(s Spec, path string) (string, error) {
	names := physical(path)
	for _, x := range s.Exclude {
		for _, n := range names {
			for _, xn := range physical(x) {
				if n == xn {
					return "", nil
				}
			}
		}
	}
	if s.Template != "" && sameFile(path, s.Template) {
		return "the packer template", nil
	}
	for _, vf := range s.VarFiles {
		if sameFile(path, vf) {
			return fmt.Sprintf("-var-file %s", vf), nil
		}
	}
	dirs := s.Dirs
	if fi, err := os.Stat(s.Template); s.Template != "" && err == nil && fi.IsDir() {
		dirs = append([]string{s.Template}, dirs...)
	}
	for _, d := range dirs {
		in, err := inDir(s, d, names)
		if in || err != nil {
			return fmt.Sprintf("a file of definition directory %s", d), err
		}
	}
	if s.Algorithm == V1 {
		return "", nil // V1 ignores the extra roots
	}
	for _, x := range s.Extra {
		at := ""
		if x.Pos != "" {
			at = " at " + x.Pos
		}
		if sameFile(path, x.Path) {
			return "a file the template uses" + at, nil
		}
		if fi, err := os.Stat(x.Path); err == nil && fi.IsDir() {
			in, err := inDir(s, x.Path, names)
			if in || err != nil {
				return fmt.Sprintf("a file of %s, which the template uses%s", x.Path, at), err
			}
		}
	}
	return "", nil
}

// inDir reports whether one of names (absolute) is a file the walk of the
// definition directory d would hash.
func inDir(s Spec, d string, names []string) (bool, error) {
	for _, top := range physical(d) {
		for _, n := range names {
			rel, err := filepath.Rel(top, n)
			if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				continue
			}
			rel = filepath.ToSlash(rel)
			if s.Algorithm == V1 {
				if !strings.HasPrefix(baseName(rel), ".") {
					return true, nil
				}
				continue
			}
			ignoreName := s.IgnoreFile
			if ignoreName == "" {
				ignoreName = DefaultIgnoreFile
			}
			if rel == ignoreName {
				return true, nil // the ignore file always counts
			}
			m, err := loadIgnore(&root{given: d, abs: top, prefix: top + string(filepath.Separator)}, ignoreName)
			if err != nil {
				return false, err
			}
			if !m.excluded(rel, false) {
				return true, nil
			}
		}
	}
	return false, nil
}

// physical returns p made absolute, and also with its symlinks resolved
// (those of its directory when p does not exist) when that differs.
func physical(p string) []string {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil
	}
	out := []string{abs}
	real, err := filepath.EvalSymlinks(abs)
	if errors.Is(err, fs.ErrNotExist) {
		if dir, derr := filepath.EvalSymlinks(filepath.Dir(abs)); derr == nil {
			real, err = filepath.Join(dir, filepath.Base(abs)), nil
		}
	}
	if err == nil && real != abs {
		out = append(out, real)
	}
	return out
}

// sameFile reports whether a and b name the same file: the same path, or
// two names (links) of one existing file.
func sameFile(a, b string) bool {
	pa, pb := physical(a), physical(b)
	for _, x := range pa {
		for _, y := range pb {
			if x == y {
				return true
			}
		}
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}
