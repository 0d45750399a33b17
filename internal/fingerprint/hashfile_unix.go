//go:build linux || darwin || freebsd || netbsd || openbsd

package fingerprint

import (
	"hash"
	"io/fs"
	"syscall"
)

// hashFile streams the file of e through h into e.sum and records its
// executable bit and size.
//
// It works on the raw descriptor: an *os.File would cost an allocation, a
// finalizer and, on Linux, a failed poller registration per file, which is
// noticeable with many small files. The file is opened non-blocking so that
// a fifo swapped in after the walk cannot hang it (the fstat then refuses
// it), and without following a final symlink unless e.follow is set.
//
// With a dirCache (nil is allowed), the file is opened relative to its
// directory, which the cache keeps open for the next file.
func hashFile(done <-chan struct{}, e *fileEntry, h hash.Hash, buf []byte, dc *dirCache) error {
	flags := syscall.O_RDONLY | syscall.O_CLOEXEC | syscall.O_NONBLOCK
	if !e.follow {
		flags |= syscall.O_NOFOLLOW
	}
	fd, err := dc.open(e.path, flags)
	if err != nil {
		return &fs.PathError{Op: "open", Path: e.path, Err: err}
	}
	defer syscall.Close(fd)

	var st syscall.Stat_t
	if err := fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: e.path, Err: err}
	}
	if uint32(st.Mode)&syscall.S_IFMT != syscall.S_IFREG {
		return errNotRegular{mode: unixFileMode(uint32(st.Mode))}
	}
	e.exec = st.Mode&0o100 != 0
	e.size = st.Size

	if afterFstat != nil {
		afterFstat(e.path)
	}

	h.Reset()
	var n int64
	// Read until the size fstat gave, not to EOF: that saves a syscall per
	// file, a fifth of the cost of a small one. A regular file returns
	// fewer bytes than asked only at its end, so a short read that ends at
	// the size was EOF: a file that grew since the fstat shows as more
	// bytes than its size, one that shrank as fewer. Only a read that fills
	// the buffer exactly at the size proves nothing (the file may go on),
	// so then one more read must find EOF.
	for {
		select {
		case <-done:
			return errCanceled
		default:
		}
		m, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "read", Path: e.path, Err: err}
		}
		if m <= 0 {
			break // EOF
		}
		h.Write(buf[:m])
		n += int64(m)
		if n > e.size || n == e.size && m < len(buf) {
			break
		}
	}
	if n != e.size {
		return sizeChanged{size: e.size, read: n}
	}
	h.Sum(e.sum[:0])
	return nil
}

// retryEINTR calls f until it is not interrupted by a signal.
func retryEINTR(f func() (int, error)) (int, error) {
	for {
		fd, err := f()
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func fstat(fd int, st *syscall.Stat_t) error {
	for {
		err := syscall.Fstat(fd, st)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unixFileMode turns a st_mode file type into an fs.FileMode type.
func unixFileMode(m uint32) fs.FileMode {
	switch m & syscall.S_IFMT {
	case syscall.S_IFIFO:
		return fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		return fs.ModeSocket
	case syscall.S_IFCHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		return fs.ModeDevice
	case syscall.S_IFDIR:
		return fs.ModeDir
	case syscall.S_IFLNK:
		return fs.ModeSymlink
	}
	return fs.ModeIrregular
}
