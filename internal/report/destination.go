package report

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// How a destination is written. A file ami-bakery owns is replaced by a
// rename, so a reader never sees half of it and an old hard link keeps the
// old bytes; but a rename over something that is not a regular file
// (/dev/null, /dev/stdout, a fifo) would replace the device or pipe itself
// with a file, so those are written in place. A directory is refused.
type writeMode int

const (
	replace  writeMode = iota // a temporary file beside path, then a rename over it
	inPlace                   // open the existing non-regular file and write once
	appendTo                  // a shared file (GitHub's): create if need be, append once
)

// destination is where a sink's bytes go.
type destination struct {
	given string      // the path as named, for messages
	path  string      // what is written: given, or the regular file a symlink leads to
	mode  writeMode   //
	perm  fs.FileMode // for replace: the mode of the file replaced, or 0644
}

// resolve decides how to write the path given. A symlink to a regular file
// has its target replaced, so the link stays; a symlink through /proc
// (/dev/stdout, /dev/fd/N) is a descriptor of this process, written in
// place whatever it leads to, since replacing the file behind it would cut
// off whoever holds the descriptor.
func resolve(given string, shared bool) (destination, error) {
	d := destination{given: given, path: given, mode: replace, perm: 0o644}
	if shared {
		d.mode = appendTo
	}
	final, magic, err := followLinks(given)
	if err != nil {
		return d, fmt.Errorf("writing %s: %w", given, err)
	}
	fi, err := os.Stat(given)
	switch {
	case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && !magic:
		// a new file, or the target of a dangling symlink; a parent that is
		// not a directory is reported by check
		if !shared {
			d.path = final
		}
		return d, nil
	case err != nil:
		return d, fmt.Errorf("writing %s: %w", given, err)
	case fi.IsDir():
		return d, usererr.WithHint(fmt.Errorf("writing %s: is a directory", given), "name a file, not a directory")
	case shared:
		return d, nil
	case fi.Mode().IsRegular() && !magic:
		d.path, d.perm = final, fi.Mode().Perm()
		return d, nil
	}
	d.mode = inPlace
	return d, nil
}

// followLinks returns the path a chain of symlinks starting at p leads to,
// or, when the chain passes through /proc, where the links are descriptors
// rather than paths, the first such link and magic set.
func followLinks(p string) (final string, magic bool, err error) {
	for range 40 {
		abs, err := filepath.Abs(p)
		if err != nil {
			return "", false, err
		}
		if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
			abs = filepath.Join(dir, filepath.Base(abs))
		}
		if strings.HasPrefix(abs, "/proc/") {
			return abs, true, nil
		}
		fi, err := os.Lstat(abs)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return abs, false, nil
		}
		target, err := os.Readlink(abs)
		if err != nil {
			return "", false, err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(abs), target)
		}
		p = target
	}
	return "", false, syscall.ELOOP
}

// check validates d without changing anything: the directory of a file to
// create or replace exists and is writable, a file written in place or
// appended to is writable.
func (d destination) check() error {
	if d.mode == inPlace {
		if err := writable(d.path); err != nil {
			return usererr.WithHint(fmt.Errorf("writing %s: %w", d.given, err), "make it writable, or name another file")
		}
		return nil
	}
	if d.mode == appendTo {
		if _, err := os.Stat(d.path); err == nil {
			if err := writable(d.path); err != nil {
				return usererr.WithHint(fmt.Errorf("writing %s: %w", d.given, err), "make it writable")
			}
			return nil
		}
	}
	dir := filepath.Dir(d.path)
	fi, err := os.Stat(dir)
	if err != nil {
		return usererr.WithHint(fmt.Errorf("writing %s: %w", d.given, err), "create the directory %s first, or name another file", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("writing %s: %s is not a directory", d.given, dir)
	}
	if err := writable(dir); err != nil {
		return usererr.WithHint(fmt.Errorf("writing %s: directory %s: %w", d.given, dir, err),
			"a file is written by creating a temporary file beside it and renaming it: make %s writable", dir)
	}
	return nil
}

// stage makes the write of data ready without making it visible.
func (d destination) stage(data []byte) (Staged, error) {
	switch d.mode {
	case inPlace:
		f, err := os.OpenFile(d.path, os.O_WRONLY|os.O_APPEND|openNonblock, 0)
		if err != nil {
			err = fmt.Errorf("writing %s: %w", d.given, err)
			if errors.Is(err, syscall.ENXIO) {
				err = usererr.WithHint(err, "nothing is reading the named pipe; start its reader first")
			}
			return nil, err
		}
		return &writeOnce{d: d, f: f, data: data}, nil
	case appendTo:
		return &writeOnce{d: d, data: data}, nil
	}
	if d.holds(data) {
		return unchanged{}, nil
	}
	f, err := os.CreateTemp(filepath.Dir(d.path), "."+filepath.Base(d.path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", d.given, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(d.perm)
	}
	if err == nil {
		ownLikeDir(f, filepath.Dir(d.path))
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("writing %s: %w", d.given, err)
	}
	return &renameOnce{d: d, tmp: tmp}, nil
}

// holds reports whether the file to replace is a regular file with these
// very bytes already (its mode too): a rerun that would write the same
// result writes nothing, and skips the fsync a replacement needs.
func (d destination) holds(data []byte) bool {
	fi, err := os.Lstat(d.path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != int64(len(data)) || fi.Mode().Perm() != d.perm {
		return false
	}
	old, err := os.ReadFile(d.path)
	return err == nil && bytes.Equal(old, data)
}

// unchanged is a staged replacement of a file that holds the result
// already: nothing to do.
type unchanged struct{}

func (unchanged) late() bool                   { return false }
func (unchanged) Abort()                       {}
func (unchanged) Commit(context.Context) error { return nil }

// renameOnce is a staged atomic replacement: a complete temporary file.
type renameOnce struct {
	d   destination
	tmp string
}

func (s *renameOnce) late() bool { return false }
func (s *renameOnce) Abort()     { os.Remove(s.tmp) }
func (s *renameOnce) Commit(context.Context) error {
	if err := os.Rename(s.tmp, s.d.path); err != nil {
		os.Remove(s.tmp)
		return fmt.Errorf("writing %s: %w", s.d.given, err)
	}
	return nil
}

// writeOnce is a staged single write: to a file opened already (in
// place), or appended to a shared file opened at commit, so that a failed
// run does not even create it.
type writeOnce struct {
	d    destination
	f    *os.File
	data []byte
}

func (s *writeOnce) late() bool { return s.d.mode == appendTo }

func (s *writeOnce) Abort() {
	if s.f != nil {
		s.f.Close()
	}
}

func (s *writeOnce) Commit(context.Context) error {
	f := s.f
	if f == nil {
		var err error
		f, err = os.OpenFile(s.d.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|openNonblock, 0o644)
		if err != nil {
			return fmt.Errorf("writing %s: %w", s.d.given, err)
		}
	}
	n, err := f.Write(s.data)
	if err == nil && n < len(s.data) {
		err = errShortWrite
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.d.given, err)
	}
	return nil
}
