package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"hash"
	"io/fs"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// bufSize is the read size of each worker: large enough that a big file
// costs few syscalls, small enough that many workers stay cheap.
const bufSize = 256 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// queueLen is how many files the walk may be ahead of the workers. Listing
// a directory is much faster than opening and reading its files, so with a
// short queue the walk blocks, and is woken, for nearly every file: that
// made 20,000 small files a quarter slower (bench/run.sh). An entry is a
// few hundred bytes, so a long queue costs nothing to speak of. (An
// unbounded queue, with which the walk never waits, was measured no faster.)
const queueLen = 256

// batchLen is how many files the walk hands the workers at a time. A
// channel operation for each file, and the walk woken for nearly each one
// once the queue was full, cost about 3 ms of 72 on 20,000 small files
// (perf stat, BENCHMARKS.md).
const batchLen = 64

// A batch is files that the workers share: each takes the next file that
// no one has taken yet, so all of them can work on one batch, and a few
// large files found together are still hashed on all workers at once.
type batch struct {
	files []*fileEntry
	next  atomic.Int64
}

// take returns the next file of b that no worker has taken, or nil.
func (b *batch) take() *fileEntry {
	i := b.next.Add(1) - 1
	if i >= int64(len(b.files)) {
		return nil
	}
	return b.files[i]
}

// A fileEntry is one regular file (or, for v1, a symlink to one) to hash.
// The walker fills path, rel and root; one worker fills the rest.
type fileEntry struct {
	path   string // the path to open: root prefix + rel
	rel    string // slash-separated, relative to the root (a suffix of path)
	root   *root
	follow bool // open through a final symlink (v1 only)

	exec bool
	size int64
	sum  [32]byte // the first hash.Size() bytes are used
}

// display is the file's path as the user would name it.
func (e *fileEntry) display() string { return e.root.display(e.rel) }

// A root is one definition directory.
type root struct {
	given  string // as in the Spec, for messages
	abs    string // absolute and clean
	prefix string // what a slash-separated rel is appended to
	label  string // Input.Root
	ignore *ignoreMatcher
	count  int // files and symlinks found, not counting the ignore file
	// extra marks a root of Spec.Extra, whose inputs are KindInput and
	// KindInputSymlink, used by the template at pos.
	extra bool
	pos   string
}

// kinds returns the kinds of the root's files and symlinks.
func (r *root) kinds() (file, link string) {
	if r.extra {
		return KindInput, KindInputSymlink
	}
	return KindFile, KindSymlink
}

func (r *root) display(rel string) string {
	if r.given == "" || r.given == "." {
		return rel
	}
	if r.given[len(r.given)-1] == '/' {
		return r.given + rel
	}
	return r.given + "/" + rel
}

// hashFiles runs walk, which emits the files it finds, and hashes them on
// workers goroutines as they come. It returns the files in the order they
// were emitted, or the first error of the walk or of any file, and stops
// everything as soon as there is one or ctx ends. The walk must stop when
// emit returns an error.
func hashFiles(ctx context.Context, workers int, newHash func() hash.Hash, beforeOpen func(string), walk func(ctx context.Context, emit func(*fileEntry) error) error) ([]*fileEntry, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	var (
		mu    sync.Mutex
		first error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancel(err)
		}
	}

	var files []*fileEntry // every entry emitted, in order; only the walk appends
	// Each batch is sent once for each worker that can help with it.
	jobs := make(chan *batch, max(queueLen/batchLen, 4)*workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			h := newHash()
			bp := bufPool.Get().(*[]byte)
			defer bufPool.Put(bp)
			var dc dirCache
			defer dc.close()
			done := ctx.Done()
			for b := range jobs {
				for e := b.take(); e != nil; e = b.take() {
					select {
					case <-done:
						continue // drain so the walk is never blocked
					default:
					}
					if err := hashEntry(ctx, e, h, *bp, &dc, beforeOpen); err != nil {
						fail(err)
					}
				}
			}
		})
	}
	sent := 0 // files[:sent] are in batches
	send := func() error {
		if sent == len(files) {
			return nil
		}
		b := &batch{files: files[sent:len(files):len(files)]}
		sent = len(files)
		for range min(workers, len(b.files)) {
			select {
			case jobs <- b:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		return nil
	}
	emit := func(e *fileEntry) error {
		files = append(files, e)
		if len(files)-sent < batchLen {
			return nil
		}
		return send()
	}
	err := walk(ctx, emit)
	if err == nil {
		err = send()
	}
	close(jobs)
	wg.Wait()
	if err != nil {
		fail(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if first != nil {
		return nil, first
	}
	return files, nil
}

// hashEntry hashes the file of e, and explains why it could not.
func hashEntry(ctx context.Context, e *fileEntry, h hash.Hash, buf []byte, dc *dirCache, beforeOpen func(string)) error {
	if beforeOpen != nil {
		beforeOpen(e.path)
	}
	err := hashFile(ctx.Done(), e, h, buf, dc)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errCanceled):
		return context.Cause(ctx)
	}
	return fileError(fmt.Sprintf("%q", e.display()), e.follow, err)
}

// errCanceled is what hashFile returns when done closes.
var errCanceled = errors.New("canceled")

// errNotRegular means the opened file is not a regular file.
type errNotRegular struct{ mode fs.FileMode }

func (e errNotRegular) Error() string { return "not a regular file (" + describeMode(e.mode) + ")" }

// errChanged means the file's size changed while it was read.
var errChanged = errors.New("file changed while it was read")

// sizeChanged is errChanged with the sizes: fstat said size, the reads
// until EOF (or past size) gave read bytes.
type sizeChanged struct{ size, read int64 }

func (e sizeChanged) Error() string {
	if e.read > e.size {
		return fmt.Sprintf("file grew while it was read (it had %d bytes when opened)", e.size)
	}
	return fmt.Sprintf("file shrank while it was read (it had %d bytes when opened, %d were read)", e.size, e.read)
}

func (e sizeChanged) Is(target error) bool { return target == errChanged }

// afterFstat, if set, is called by hashFile between the fstat that gives
// a file's size and the first read: a test seam to change the file then.
var afterFstat func(path string)

// fileError explains why hashing a file failed; what names the file, for
// example `"ami/setup.sh"` or `-var-file "prod.pkrvars.hcl"`.
func fileError(what string, follow bool, err error) error {
	var nr errNotRegular
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usererr.WithHint(fmt.Errorf("reading %s: %w", what, err),
			"the file vanished while the tree was being fingerprinted; run again when nothing is changing it")
	case errors.Is(err, fs.ErrPermission):
		return usererr.WithHint(fmt.Errorf("reading %s: %w", what, err),
			"make it readable, or list it in the ignore file if it does not shape the AMI")
	case errors.As(err, &nr):
		return usererr.WithHint(fmt.Errorf("reading %s: %w", what, err),
			"only regular files, directories and symlinks can be fingerprinted: remove it, or list it in the ignore file")
	case errors.Is(err, errChanged), !follow && errors.Is(err, syscall.ELOOP):
		// ELOOP with O_NOFOLLOW: the file became a symlink after the walk saw it.
		msg := "file changed while it was fingerprinted"
		var sc sizeChanged
		if errors.As(err, &sc) {
			msg = sc.Error()
		}
		return usererr.WithHint(fmt.Errorf("reading %s: %s", what, msg),
			"run again when nothing is changing the tree (a log or build output being written? list it in the ignore file)")
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// describeMode names a file type for messages.
func describeMode(m fs.FileMode) string {
	switch t := m.Type(); {
	case t&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0:
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a device"
	case t&fs.ModeSymlink != 0:
		return "a symlink"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t == 0:
		return "a regular file"
	}
	return "an irregular file"
}

// specialFileError is the error for a special file; what names it.
func specialFileError(what string, mode fs.FileMode) error {
	return usererr.WithHint(fmt.Errorf("fingerprinting %s: it is %s", what, describeMode(mode)),
		"only regular files, directories and symlinks can be fingerprinted: remove it, or list it in the ignore file")
}
