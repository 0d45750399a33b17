package fingerprint

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"slices"
	"strconv"
	"strings"
)

// The V2 manifest is the text whose SHA-256 is the V2 sum. It is
//
//	ami-bakery fingerprint v2\n
//
// followed by one line per Input, in the order of sortInputs:
//
//	<kind><root><path><mode><hash>\n
//
// where each field is written as a netstring, "<decimal length>:<bytes>,",
// so a field may hold any bytes (a newline, a comma, invalid UTF-8) and no
// two different input lists give the same manifest. mode is "x" for an
// owner-executable file and "-" otherwise; hash is lowercase hex.
// For example:
//
//	ami-bakery fingerprint v2
//	8:template,1:.,12:ami.pkr.hcl,1:-,64:5e0f…,
//	3:var,0:,6:region,1:-,64:a1b2…,
//	4:file,10:../scripts,8:setup.sh,1:x,64:9c1d…,
const manifestHeader = "ami-bakery fingerprint v2\n"

// kindRank orders the kinds in the manifest: the template, the var files,
// the vars, then the files and symlinks of the roots (with the parent and
// the base), then the inputs of extra roots, then the build selection
// (-only, then -except). Ranks 4 to 6 are new kinds, after all the others,
// so that a manifest without them is what it always was.
func kindRank(kind string) int {
	switch kind {
	case KindTemplate:
		return 0
	case KindVarFile:
		return 1
	case KindVar:
		return 2
	case KindInput, KindInputSymlink:
		return 4
	case KindOnly:
		return 5
	case KindExcept:
		return 6
	}
	return 3
}

// sortInputs puts inputs in canonical order: by kind rank, then by root
// label and path compared as bytes. Var files keep their command-line order
// (a later one overrides an earlier one), which the stable sort preserves.
//
// The walk emits each root's files in this order already (walkOrder), so
// usually the inputs are sorted and checking costs one comparison each; a
// stable sort of sorted inputs would leave them as they are anyway.
func sortInputs(inputs []Input) {
	if !slices.IsSortedFunc(inputs, compareInputs) {
		slices.SortStableFunc(inputs, compareInputs)
	}
}

func compareInputs(a, b Input) int {
	ra, rb := kindRank(a.Kind), kindRank(b.Kind)
	if ra != rb || ra == 1 {
		return cmp.Compare(ra, rb)
	}
	if c := strings.Compare(a.Root, b.Root); c != 0 {
		return c
	}
	if c := strings.Compare(a.Path, b.Path); c != 0 || ra < 4 {
		return c
	}
	// A file an extra root names and a symlink inside another extra root
	// may have one path.
	return strings.Compare(a.Kind, b.Kind)
}

// writeManifest writes the V2 manifest of inputs, which must be sorted.
func writeManifest(w io.Writer, inputs []Input) error {
	buf := make([]byte, 0, 64<<10)
	buf = append(buf, manifestHeader...)
	for _, in := range inputs {
		buf = appendNetstring(buf, in.Kind)
		buf = appendNetstring(buf, in.Root)
		buf = appendNetstring(buf, in.Path)
		mode := "-"
		if in.Executable {
			mode = "x"
		}
		buf = appendNetstring(buf, mode)
		buf = appendNetstring(buf, in.Hash)
		buf = append(buf, '\n')
		if len(buf) >= 60<<10 {
			if _, err := w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := w.Write(buf)
	return err
}

func appendNetstring(b []byte, s string) []byte {
	b = strconv.AppendInt(b, int64(len(s)), 10)
	b = append(b, ':')
	b = append(b, s...)
	return append(b, ',')
}

// manifestSum is the V2 sum of inputs, which must be sorted.
func manifestSum(inputs []Input) string {
	h := sha256.New()
	_ = writeManifest(h, inputs) // a hash.Hash never fails to write
	return hex.EncodeToString(h.Sum(nil))
}
