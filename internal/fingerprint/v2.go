package fingerprint

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// computeV2 computes a V2 fingerprint; see Compute and manifest.go.
//
// The inputs are gathered in a fixed order (the template, -var-files,
// -vars, then the files and symlinks of the roots) and sorted before the
// manifest is hashed. Errors are reported in that order too, so a spec with
// several mistakes always names the same one first.
func computeV2(ctx context.Context, s Spec) (Result, error) {
	ignoreName, err := checkSpecV2(s)
	if err != nil {
		return Result{}, err
	}
	inputs, roots, base, err := rootsV2(ctx, s, ignoreName)
	if err != nil {
		return Result{}, err
	}
	args, err := argInputsV2(ctx, s)
	if err != nil {
		return Result{}, err
	}
	inputs = append(inputs, args...)
	extra, extraRoots, err := extraV2(ctx, s, base, ignoreName, roots)
	if err != nil {
		return Result{}, err
	}
	inputs = append(inputs, extra...)
	files, links, err := hashRootsV2(ctx, s, append(roots, extraRoots...), ignoreName)
	if err != nil {
		return Result{}, err
	}
	inputs = slices.Grow(inputs, len(files)+len(links))
	hexSums := hexAll(files, sha256.Size)
	for i, e := range files {
		kind, _ := e.root.kinds()
		inputs = append(inputs, Input{
			Kind:       kind,
			Root:       e.root.label,
			Path:       e.rel,
			Executable: e.exec,
			Size:       e.size,
			Hash:       hexSums[i*2*sha256.Size : (i+1)*2*sha256.Size],
			Pos:        e.root.pos,
		})
	}
	inputs = append(inputs, links...)
	inputs = append(inputs, selectionV2(s.Only, s.Except)...)
	sortInputs(inputs)
	if len(s.Extra) > 0 {
		inputs = dedupInputs(inputs)
	}
	return Result{Algorithm: V2, Sum: manifestSum(inputs), Inputs: inputs}, nil
}

// hexAll returns the first size bytes of each file's sum in hex, one after
// the other, in one string: one allocation for all the files instead of two
// for each, which on 20,000 small files was a quarter of all allocations.
func hexAll(files []*fileEntry, size int) string {
	var b strings.Builder
	b.Grow(len(files) * 2 * size)
	var digits [2 * len(fileEntry{}.sum)]byte
	for _, e := range files {
		hex.Encode(digits[:], e.sum[:size])
		b.Write(digits[:2*size])
	}
	return b.String()
}

// checkSpecV2 rejects a spec that names nothing to fingerprint or a bad
// ignore file name, and returns the ignore file name in force.
func checkSpecV2(s Spec) (string, error) {
	ignoreName := s.IgnoreFile
	if ignoreName == "" {
		ignoreName = DefaultIgnoreFile
	}
	if err := checkIgnoreFileName(ignoreName); err != nil {
		return "", err
	}
	if s.Template == "" && len(s.Dirs) == 0 {
		return "", usererr.WithHint(errors.New("nothing to fingerprint: no template and no definition directories"),
			"name the packer template and the directories it uses")
	}
	return ignoreName, nil
}

// rootsV2 hashes the template, when it is a file, and returns the roots to
// walk: the template when it is a directory, then the definition
// directories, each labelled and with its ignore rules loaded; and the
// base directory of the labels.
//
// Roots are labelled by their path relative to a base directory: the
// template's directory (the directory itself when Template is one), or
// without a template the deepest directory that holds every root. The base
// moves with the checkout, so labels, and the sum, do not depend on where
// the tree is checked out, while moving a directory relative to the
// template (which changes what a relative path in the template means)
// changes the sum.
func rootsV2(ctx context.Context, s Spec, ignoreName string) ([]Input, []*root, string, error) {
	var (
		inputs []Input
		roots  []*root
		base   string
	)
	if s.Template != "" {
		abs, err := filepath.Abs(s.Template)
		if err != nil {
			return nil, nil, "", fmt.Errorf("reading packer template %q: %w", s.Template, err)
		}
		what := fmt.Sprintf("packer template %q", s.Template)
		if fi, err := os.Stat(s.Template); err == nil && fi.IsDir() {
			base = abs
			roots = addRoot(roots, s.Template, abs)
		} else {
			in, err := hashArg(ctx, what, s.Template, "check the template path; a relative path is taken from the current directory")
			if err != nil {
				return nil, nil, "", err
			}
			base = filepath.Dir(abs)
			in.Kind, in.Root, in.Path = KindTemplate, ".", filepath.Base(abs)
			inputs = append(inputs, in)
		}
	}

	for _, d := range s.Dirs {
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, nil, "", fmt.Errorf("reading definition directory %q: %w", d, err)
		}
		if err := checkDir(d); err != nil {
			return nil, nil, "", err
		}
		roots = addRoot(roots, d, abs)
	}

	if base == "" {
		abs := make([]string, len(roots))
		for i, r := range roots {
			abs[i] = r.abs
		}
		base = commonDir(abs)
	}
	for _, r := range roots {
		rel, err := filepath.Rel(base, r.abs)
		if err != nil {
			return nil, nil, "", usererr.WithHint(fmt.Errorf("labelling definition directory %q: %w", r.given, err),
				"keep the definition directories on the same volume as the template")
		}
		r.label = filepath.ToSlash(rel)
		if r.ignore, err = loadIgnore(r, ignoreName); err != nil {
			return nil, nil, "", err
		}
	}
	return inputs, roots, base, nil
}

// addRoot adds the directory abs (given as given) to roots, unless it is
// there already: the same directory named twice counts once.
func addRoot(roots []*root, given, abs string) []*root {
	for _, r := range roots {
		if r.abs == abs {
			return roots
		}
	}
	prefix := abs
	if !strings.HasSuffix(prefix, string(filepath.Separator)) {
		prefix += "/"
	}
	return append(roots, &root{given: given, abs: abs, prefix: prefix})
}

// argInputsV2 returns the inputs named on the command line besides the
// template: each -var-file, hashed, then the -vars.
func argInputsV2(ctx context.Context, s Spec) ([]Input, error) {
	var inputs []Input
	for _, vf := range s.VarFiles {
		in, err := hashArg(ctx, fmt.Sprintf("-var-file %q", vf), vf, "check the -var-file path; a relative path is taken from the current directory")
		if err != nil {
			return nil, err
		}
		in.Kind, in.Root, in.Path = KindVarFile, "", filepath.Base(vf)
		inputs = append(inputs, in)
	}
	vars, err := parseVars(s.Vars)
	if err != nil {
		return nil, err
	}
	return append(inputs, vars...), nil
}

// hashRootsV2 walks the roots and hashes their files on s.Workers workers.
// It returns the hashed files in walk order and the symlinks found, and
// fails if a root holds nothing to fingerprint.
func hashRootsV2(ctx context.Context, s Spec, roots []*root, ignoreName string) ([]*fileEntry, []Input, error) {
	w := &walkV2{ignoreName: ignoreName, exclude: map[string]bool{}}
	for _, x := range s.Exclude {
		if abs, err := filepath.Abs(x); err == nil {
			w.exclude[abs] = true
		}
	}
	files, err := hashFiles(ctx, s.Workers, sha256.New, s.beforeOpen, func(ctx context.Context, emit func(*fileEntry) error) error {
		w.emit = emit
		for _, r := range roots {
			if err := w.walk(ctx, r, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for _, r := range roots {
		if r.count == 0 && !r.extra { // an empty directory the template uses adds nothing
			hint := "add the files packer uses to it, or leave it out of the definition directories"
			if r.ignore != nil {
				hint = fmt.Sprintf("check that its %s does not leave out everything", ignoreName)
			}
			return nil, nil, usererr.WithHint(fmt.Errorf("definition directory %q has no files to fingerprint", r.given), "%s", hint)
		}
	}
	return files, w.links, nil
}

// checkDir reports a definition directory that is missing or not a directory.
func checkDir(d string) error {
	fi, err := os.Stat(d)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usererr.WithHint(fmt.Errorf("reading definition directory %q: %w", d, err),
			"check the directory path; a relative path is taken from the current directory")
	case err != nil:
		return fmt.Errorf("reading definition directory %q: %w", d, err)
	case !fi.IsDir():
		return usererr.WithHint(fmt.Errorf("definition directory %q is not a directory", d),
			"name the directory that holds the files packer uses, not a file in it")
	}
	return nil
}

// hashArg hashes a file named on the command line (a template or a
// -var-file), following symlinks as packer would. what names it in errors;
// hint is for a path that does not exist.
func hashArg(ctx context.Context, what, path, hint string) (Input, error) {
	fi, err := os.Stat(path)
	if err != nil {
		err = fmt.Errorf("reading %s: %w", what, err)
		if errors.Is(err, fs.ErrNotExist) {
			err = usererr.WithHint(err, "%s", hint)
		}
		return Input{}, err
	}
	if !fi.Mode().IsRegular() {
		return Input{}, specialFileError(what, fi.Mode())
	}
	e := &fileEntry{path: path, follow: true}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	if err := hashFile(ctx.Done(), e, sha256.New(), *bp, nil); err != nil {
		if errors.Is(err, errCanceled) {
			return Input{}, ctx.Err()
		}
		return Input{}, fileError(what, true, err)
	}
	return Input{Size: e.size, Hash: hex.EncodeToString(e.sum[:sha256.Size])}, nil
}

// loadIgnore reads the root's ignore file, if it has one.
func loadIgnore(r *root, name string) (*ignoreMatcher, error) {
	p := r.prefix + name
	fi, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ignore file %q: %w", r.display(name), err)
	}
	if !fi.Mode().IsRegular() {
		return nil, usererr.WithHint(fmt.Errorf("reading ignore file %q: it is %s", r.display(name), describeMode(fi.Mode())),
			"make it a regular file")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading ignore file %q: %w", r.display(name), err)
	}
	return parseIgnore(string(data)), nil
}

// parseVars turns -var values into inputs, one per name, the last value of
// a name winning, sorted by name.
func parseVars(vars []string) ([]Input, error) {
	last := make(map[string]string, len(vars))
	for _, v := range vars {
		name, value, ok := strings.Cut(v, "=")
		if !ok || name == "" {
			return nil, usererr.WithHint(fmt.Errorf("reading -var %q: want name=value", v),
				"write each variable as -var 'name=value'")
		}
		last[name] = value
	}
	out := make([]Input, 0, len(last))
	for name, value := range last {
		sum := sha256.Sum256([]byte(value))
		out = append(out, Input{Kind: KindVar, Path: name, Size: int64(len(value)), Hash: hex.EncodeToString(sum[:])})
	}
	slices.SortFunc(out, func(a, b Input) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// commonDir returns the deepest directory that holds all of paths
// (absolute and clean).
func commonDir(paths []string) string {
	c := paths[0]
	for _, p := range paths[1:] {
		for !within(c, p) {
			parent := filepath.Dir(c)
			if parent == c {
				break
			}
			c = parent
		}
	}
	return c
}

func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// walkV2 walks definition roots for V2.
type walkV2 struct {
	ignoreName string
	exclude    map[string]bool // absolute paths of files left out
	emit       func(*fileEntry) error
	links      []Input
}

// walk walks the directory rel ("" for the root) of r. It reads each
// directory once and takes file types from the directory entries, so it
// stats nothing; the worker's fstat of the open file gives the size and
// executable bit. ".git" and ignored entries are skipped, and an ignored
// directory is not entered.
func (w *walkV2) walk(ctx context.Context, r *root, rel string) error {
	dirPrefix, ents, err := readDir(ctx, r, rel)
	if err != nil {
		return err
	}
	slices.SortFunc(ents, walkOrder)
	for _, de := range ents {
		name := de.Name()
		if name == ".git" {
			continue // a repository, or a worktree's or submodule's pointer file
		}
		full := dirPrefix + name
		p := full[len(r.prefix):]
		t := de.Type()
		ignoreFile := rel == "" && name == w.ignoreName
		if !ignoreFile && r.ignore.match(p, t.IsDir()) {
			continue
		}
		switch {
		case t.IsDir():
			if err := w.walk(ctx, r, p); err != nil {
				return err
			}
		case t&fs.ModeSymlink != 0:
			if err := w.link(r, p); err != nil {
				return err
			}
		case t.IsRegular():
			if w.exclude[full] {
				continue
			}
			if !ignoreFile {
				r.count++
			}
			e := &fileEntry{path: full, rel: p, root: r}
			if err := w.emit(e); err != nil {
				return err
			}
		default:
			return specialFileError(fmt.Sprintf("%q", r.display(p)), t)
		}
	}
	return nil
}

// walkOrder orders the entries of a directory so that the walk meets files
// in the byte order of their paths, which is the manifest's order: a
// directory sorts as its name followed by "/", the first byte of every path
// inside it. ("a.txt" < "a/b" < "a0", since '.' < '/' < '0'.) Names cannot
// contain "/", so two entries' keys differ within the shorter one, or the
// shorter is a file whose name is a prefix of the other.
func walkOrder(a, b fs.DirEntry) int {
	an, bn := a.Name(), b.Name()
	n := min(len(an), len(bn))
	if c := strings.Compare(an[:n], bn[:n]); c != 0 {
		return c
	}
	return cmp.Compare(keyByte(an, n, a.IsDir()), keyByte(bn, n, b.IsDir()))
}

// keyByte is byte i of an entry's walk key (its name, followed by "/" for a
// directory), or -1 past its end.
func keyByte(name string, i int, dir bool) int {
	switch {
	case i < len(name):
		return int(name[i])
	case i == len(name) && dir:
		return '/'
	}
	return -1
}

// link records the symlink at p. The link's content is covered because its
// target, inside the root, is hashed where it lies; a link to a directory is
// recorded, not entered, so links cannot make the walk loop.
func (w *walkV2) link(r *root, p string) error {
	display := r.display(p)
	target, isDir, text, err := resolveLink(r.prefix, p, display)
	if err != nil {
		return err
	}
	if target != "" && target != w.ignoreName && r.ignore.excluded(target, isDir) {
		return usererr.WithHint(fmt.Errorf("symlink %q points to %q, which is left out of the fingerprint", display, text),
			"packer would read it, so it shapes the AMI: stop ignoring the target, or ignore the link too")
	}
	sum := sha256.Sum256([]byte(text))
	_, kind := r.kinds()
	w.links = append(w.links, Input{Kind: kind, Root: r.label, Path: p, Size: int64(len(text)), Hash: hex.EncodeToString(sum[:]), Pos: r.pos})
	r.count++
	return nil
}

// readDir lists the directory rel ("" for the top) of r, and returns its
// path with a trailing slash, to which entry names are appended.
func readDir(ctx context.Context, r *root, rel string) (string, []os.DirEntry, error) {
	if ctx.Err() != nil {
		return "", nil, context.Cause(ctx)
	}
	dirPrefix := r.prefix
	if rel != "" {
		dirPrefix += rel + "/"
	}
	// os.ReadDir, unlike os.Open and ReadDir, opens the directory without
	// trying to register it with the network poller: that saved five
	// system calls (fcntl, a failing epoll_ctl) per directory. Its entries
	// come sorted by name, which walkOrder then sorts in nearly no time.
	ents, err := os.ReadDir(dirPrefix)
	if err != nil {
		return "", nil, dirError(r, rel, err)
	}
	return dirPrefix, ents, nil
}

func dirError(r *root, rel string, err error) error {
	name := r.given
	if rel != "" {
		name = r.display(rel)
	}
	err = fmt.Errorf("reading directory %q: %w", name, err)
	if errors.Is(err, fs.ErrPermission) {
		return usererr.WithHint(err, "make it readable, or list it in the ignore file if it does not shape the AMI")
	}
	if errors.Is(err, fs.ErrNotExist) {
		return usererr.WithHint(err, "the directory vanished while the tree was being fingerprinted; run again when nothing is changing it")
	}
	return err
}
