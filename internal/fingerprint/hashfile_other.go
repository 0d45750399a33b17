//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package fingerprint

import (
	"errors"
	"hash"
	"io"
	"os"
)

// hashFile streams the file of e through h into e.sum and records its
// executable bit and size. This portable version checks the type after
// opening, so unlike the unix one it cannot refuse a fifo swapped in after
// the walk before opening it.
func hashFile(done <-chan struct{}, e *fileEntry, h hash.Hash, buf []byte, _ *dirCache) error {
	var (
		f   *os.File
		err error
	)
	if e.follow {
		f, err = os.Open(e.path)
	} else {
		var fi os.FileInfo
		if fi, err = os.Lstat(e.path); err == nil && !fi.Mode().IsRegular() {
			return errNotRegular{mode: fi.Mode()}
		}
		if err == nil {
			f, err = os.Open(e.path)
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errNotRegular{mode: fi.Mode()}
	}
	e.exec = fi.Mode()&0o100 != 0
	e.size = fi.Size()
	if afterFstat != nil {
		afterFstat(e.path)
	}

	h.Reset()
	var n int64
	for {
		select {
		case <-done:
			return errCanceled
		default:
		}
		m, err := f.Read(buf)
		h.Write(buf[:m])
		n += int64(m)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return err
		}
	}
	if n != e.size {
		return sizeChanged{size: e.size, read: n}
	}
	h.Sum(e.sum[:0])
	return nil
}

// A dirCache does nothing here: files are opened by their whole path.
type dirCache struct{}

func (*dirCache) close() {}
