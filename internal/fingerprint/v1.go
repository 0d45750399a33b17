package fingerprint

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// computeV1 reproduces the checksum of the original Python ami-bakery
// (GumGum's "AMI Bakery", public edition by Corey Gale, 2019; repository
// mechtron/ami-bakery, file ami-bakery/checksum.py), so that AMIs tagged
// with its ami_config_checksum can still be found. That tool:
//
//  1. for each directory, as given in AMI_DEFINITION_DIRS, ran os.walk(dir)
//     and kept os.path.join(dirpath, name) for every file whose name does
//     not start with "."; hidden directories were walked all the same (only
//     file names were checked), so files under a ".git" directory count;
//  2. sorted all those paths together;
//  3. took the SHA-1 of each file's content, in that order;
//  4. returned the SHA-1 of the concatenated lowercase hex digests.
//
// So the template, -var-files and -vars are not part of it (a template
// inside a directory counts as a file); the directories count as given, not
// deduplicated (a directory named twice counts twice); os.walk does not
// enter a symlink to a directory, but reads any other symlink's target,
// even outside the directory; and a file's path only decides the order, so
// a rename that keeps the order keeps the sum. Paths are joined as
// os.path.join does: dir + "/" + relative path, without a second "/" when
// dir already ends with one.
//
// Python sorts str by code point, Go strings sort by byte. These agree for
// all names that are valid UTF-8. The original ran in an ubuntu:16.04
// image under Python 3.5 without a locale, where file names decode as
// ASCII with surrogate escapes (byte b >= 0x80 becomes U+DC00+b), which
// also sorts exactly by byte; so byte order is what it computed. (Only
// under a UTF-8 locale would a name with an undecodable byte sort
// differently against one with a character at or above U+E000 in the same
// place.)
//
// Where the original would hang (a fifo), fail with a traceback, or
// silently skip (os.walk ignores a missing or unreadable directory) this
// returns an error instead, as it does when no file is found at all (the
// original would return the SHA-1 of nothing).
func computeV1(ctx context.Context, s Spec) (Result, error) {
	if len(s.Dirs) == 0 {
		return Result{}, usererr.WithHint(errors.New("nothing to fingerprint: no definition directories"),
			"%s fingerprints only definition directories (the template counts when it lies inside one); name them", V1)
	}
	roots := make([]*root, 0, len(s.Dirs))
	for _, d := range s.Dirs {
		if err := checkDir(d); err != nil {
			return Result{}, err
		}
		prefix := d
		if !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		roots = append(roots, &root{given: d, prefix: prefix, label: d})
	}

	files, err := hashFiles(ctx, s.Workers, sha1.New, s.beforeOpen, func(ctx context.Context, emit func(*fileEntry) error) error {
		for _, r := range roots {
			if err := walkV1(ctx, r, "", emit); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if len(files) == 0 {
		return Result{}, usererr.WithHint(errors.New("no files to fingerprint in the definition directories"),
			"%s leaves out files whose names start with \".\"; check the directories", V1)
	}

	slices.SortStableFunc(files, func(a, b *fileEntry) int { return strings.Compare(a.path, b.path) })
	h := sha1.New()
	inputs := make([]Input, len(files))
	var digest [2 * sha1.Size]byte
	for i, e := range files {
		hex.Encode(digest[:], e.sum[:sha1.Size])
		h.Write(digest[:])
		inputs[i] = Input{
			Kind:       KindFile,
			Root:       e.root.label,
			Path:       e.rel,
			Executable: e.exec,
			Size:       e.size,
			Hash:       string(digest[:]),
		}
	}
	return Result{Algorithm: V1, Sum: hex.EncodeToString(h.Sum(nil)), Inputs: inputs}, nil
}

// walkV1 walks the directory rel ("" for the top) of r as os.walk did.
func walkV1(ctx context.Context, r *root, rel string, emit func(*fileEntry) error) error {
	dirPrefix, ents, err := readDir(ctx, r, rel)
	if err != nil {
		return err
	}
	for _, de := range ents {
		name := de.Name()
		full := dirPrefix + name
		p := full[len(r.prefix):]
		t := de.Type()
		switch {
		case t.IsDir():
			if err := walkV1(ctx, r, p, emit); err != nil {
				return err
			}
		case name[0] == '.':
			continue
		case t&fs.ModeSymlink != 0:
			fi, err := os.Stat(full)
			if err != nil {
				return usererr.WithHint(fmt.Errorf("following symlink %q: %w", full, err),
					"the original tool failed here too: create the link's target or remove the link")
			}
			if fi.IsDir() {
				continue // os.walk lists it as a directory and does not enter it
			}
			if !fi.Mode().IsRegular() {
				return specialFileError(fmt.Sprintf("%q", full), fi.Mode())
			}
			if err := emit(&fileEntry{path: full, rel: p, root: r, follow: true}); err != nil {
				return err
			}
		case t.IsRegular():
			if err := emit(&fileEntry{path: full, rel: p, root: r}); err != nil {
				return err
			}
		default:
			return specialFileError(fmt.Sprintf("%q", full), t)
		}
	}
	return nil
}
