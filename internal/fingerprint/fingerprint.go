package fingerprint

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Algorithm names a fingerprint algorithm. The name is recorded with the
// sum (for example in an AMI tag) so that an AMI is only ever matched by a
// fingerprint computed the same way.
type Algorithm string

const (
	// V1 is the checksum of the original Python ami-bakery (2019,
	// mechtron/ami-bakery, checksum.py): the SHA-1 of the concatenated hex
	// SHA-1s of every file whose name does not start with "." under the
	// definition directories (hidden directories included), in byte order
	// of their paths as given. Template, VarFiles, Vars and IgnoreFile play
	// no part in it.
	V1 Algorithm = "v1"
	// V2 is a SHA-256 over a canonical manifest of everything that shapes
	// the AMI: template, files with their paths and executable bits,
	// symlinks, -var-file contents and -var values.
	V2 Algorithm = "v2"
	// Default is the algorithm used when none is named.
	Default = V2
)

// DefaultIgnoreFile is the ignore file looked for at each definition root.
const DefaultIgnoreFile = ".bakeryignore"

// Kinds of Input.
const (
	KindTemplate = "template"
	KindFile     = "file"
	KindSymlink  = "symlink"
	KindVarFile  = "var-file"
	KindVar      = "var"
)

// ParseAlgorithm returns the algorithm named s ("v1" or "v2").
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(s); a {
	case V1, V2:
		return a, nil
	}
	return "", usererr.WithHint(
		fmt.Errorf("unknown fingerprint algorithm %q (valid: %s, %s)", s, V1, V2),
		"use %s (the default) for new AMIs, or %s to find AMIs tagged by the original Python ami-bakery", V2, V1)
}

// Spec says what to fingerprint.
type Spec struct {
	// Algorithm is the algorithm to use; "" means Default.
	Algorithm Algorithm
	// Template is the path of the packer template (a JSON or HCL2 file, or
	// a directory of .pkr.hcl files, which is then fingerprinted like a
	// definition directory), or "". V1 ignores it, as the original did:
	// there it counts only if it lies inside one of Dirs.
	Template string
	// Dirs are the definition directories: everything packer uploads or
	// runs. Their order does not matter.
	Dirs []string
	// VarFiles are the -var-file paths given to packer, in order (a later
	// file overrides an earlier one, so their order counts). V1 ignores them.
	VarFiles []string
	// Vars are the -var values given to packer, each "name=value". When a
	// name is given twice the last value wins, as in packer; otherwise the
	// order does not matter. V1 ignores them.
	Vars []string
	// IgnoreFile is the name of the ignore file looked for at the top of
	// each definition directory; "" means DefaultIgnoreFile. V1 has none.
	IgnoreFile string
	// Workers is the number of files hashed at once; 0 or less means
	// GOMAXPROCS. The sum does not depend on it.
	Workers int
	// Exclude names files that are never part of the sum (V2): the files
	// ami-bakery itself writes, such as .ami_id.json beside the template,
	// which may lie inside a definition directory. Relative paths are
	// taken from the current directory.
	Exclude []string
	// Parent is the fingerprint of the image this one is built from, in a
	// project (bakery.hcl), or "". When set it enters the V2 manifest as
	// one more input (KindParent), so a change to the parent changes the
	// child; when empty the sum is what it always was. V1 refuses it.
	Parent string
	// Base is the identity of the vendor image a root image starts from
	// ("owner/name", or the image id where it has no name), or "". When
	// set it enters the V2 manifest as one more input (KindBase, base.go);
	// when empty the sum is what it always was. V1 refuses it.
	Base string
	// Extra are the files and directories the template uses outside the
	// definition directories (packer.Template.Inputs, less those Inside
	// says are covered): each is hashed as a root of its own (extra.go), a
	// directory walked with the same rules as a definition directory. In
	// V2 their inputs are KindInput and KindInputSymlink; without Extra the
	// sum is what it always was. V1 ignores them, as the original did.
	Extra []ExtraRoot
	// Only and Except are the build names of packer's -only and -except.
	// When either is non-empty, each name enters the V2 manifest (KindOnly,
	// KindExcept), sorted and unique; without them the sum is what it
	// always was. V1 ignores them.
	Only, Except []string

	// beforeOpen, if set, is called by a worker just before it opens a
	// file: a test seam to change the tree between the walk and the hashing.
	beforeOpen func(path string)
}

// Input is one thing that went into the sum, as shown by
// `ami-bakery checksum --explain`.
type Input struct {
	Kind string // KindTemplate, KindFile, KindSymlink, KindVarFile, KindVar, KindParent, KindBase, KindInput, KindInputSymlink, KindOnly or KindExcept
	// Root labels the definition root the input belongs to without naming
	// where it is checked out. V2: the root's path relative to the
	// template's directory (or, without a template, to the deepest directory
	// holding all roots), slash-separated; "." for the template; "" for
	// var files and vars. V1: the directory exactly as given.
	Root       string
	Path       string // slash-separated, relative to Root; a var's name; a var file's base name
	Executable bool   // owner-executable (files only)
	Size       int64  // bytes of content, link target or var value
	Hash       string // lowercase hex: SHA-256 (v2) or SHA-1 (v1) of the content, link target or var value
	// Pos is where the template uses an extra root (ExtraRoot.Pos), for
	// KindInput and KindInputSymlink; it is shown, never hashed.
	Pos string
}

// Result is a computed fingerprint.
type Result struct {
	Algorithm Algorithm
	Sum       string  // lowercase hex: SHA-256 (v2, 64 digits) or SHA-1 (v1, 40 digits)
	Inputs    []Input // in the order they were hashed
}

// Compute fingerprints the definition that s describes.
//
// With V2 the sum covers, for each definition directory, every file's path
// relative to the directory, its owner-executable bit and its content; every
// symlink's path and target text; the template, -var-file contents in order
// and the -var values that packer would see; the files and directories the
// template uses outside the definition directories (Extra) and the build
// selection (Only, Except), when given. It leaves out any ".git"
// directory or file and what the ignore file excludes, but includes the
// ignore file itself. It never follows a symlink out of its directory and
// refuses special files, so it cannot hang on a fifo.
//
// An empty, missing or unreadable directory, a file that cannot be read or
// vanishes during the walk, a symlink that dangles, loops or escapes, and a
// malformed -var are errors; errors the user can fix carry a usererr hint.
// Cancelling ctx stops the walk and the hashing promptly.
func Compute(ctx context.Context, s Spec) (Result, error) {
	alg := s.Algorithm
	if alg == "" {
		alg = Default
	}
	if _, err := ParseAlgorithm(string(alg)); err != nil {
		return Result{}, fmt.Errorf("computing fingerprint: %w", err)
	}
	if s.Workers <= 0 {
		s.Workers = runtime.GOMAXPROCS(0)
	}
	var (
		res Result
		err error
	)
	switch {
	case alg == V1 && (s.Parent != "" || s.Base != ""):
		err = errParentV1
	case alg == V1:
		res, err = computeV1(ctx, s)
	default:
		if res, err = computeV2(ctx, s); err == nil {
			res, err = withParent(res, s.Parent)
			res = withBase(res, s.Base)
		}
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = cerr // a walk cut short by cancellation reports that, not a side effect
		}
		return Result{}, fmt.Errorf("computing %s fingerprint: %w", alg, err)
	}
	return res, nil
}

// checkIgnoreFileName refuses names that are not a plain file name.
func checkIgnoreFileName(name string) error {
	if name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, 0) {
		return usererr.WithHint(fmt.Errorf("invalid ignore file name %q", name),
			"name a file such as %s; it is looked for at the top of each definition directory", DefaultIgnoreFile)
	}
	return nil
}
