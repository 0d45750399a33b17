package report

import (
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

// checksumInput is one input of checksum --json; its fields mirror
// fingerprint.Input one to one, so a conversion keeps them in step.
type checksumInput struct {
	Kind       string `json:"kind"`
	Root       string `json:"root"`
	Path       string `json:"path"`
	Executable bool   `json:"executable"`
	Size       int64  `json:"size"`
	Hash       string `json:"hash"`
	Pos        string `json:"pos,omitempty"`
}

// checksumJSON is the answer of checksum --json.
type checksumJSON struct {
	Fingerprint string          `json:"fingerprint"`
	Algorithm   string          `json:"algorithm"`
	Inputs      []checksumInput `json:"inputs"`
	Excluded    []Exclusion     `json:"excluded,omitempty"`
}

// Exclusion is a file left out of the fingerprint by design, and why: an
// output of ami-bakery or packer that lies in the definition.
type Exclusion struct {
	Path string `json:"path"`
	Why  string `json:"why"`
}

// varHidden stands for the hash of a --var value in checksum's listings.
// A --var often carries a secret, and a hash of a short secret is as good
// as the secret (try every candidate); a hash salted with the fingerprint
// would not help either, since the fingerprint is public (an AMI tag) and
// changes with the value, so two listings could never be compared by it.
// The listing shows that the variable is set, by name, and nothing of its
// value, not even its length.
const varHidden = "set"

// PrintChecksum writes the answer of checksum: the fingerprint on one line;
// with explain, first one tab-aligned line per input (kind, root, path,
// mode, size, hash, and for an input outside the definition directories
// where the template uses it), then one "excluded" line per file left out by design
// (path and why); with asJSON, which wins over explain, one JSON object.
// A --var's value is never shown, hashed or not (varHidden).
func PrintChecksum(w io.Writer, res fingerprint.Result, excluded []Exclusion, explain, asJSON bool) error {
	if asJSON {
		ins := make([]checksumInput, len(res.Inputs))
		for i, in := range res.Inputs {
			ins[i] = checksumInput(in)
			if in.Kind == fingerprint.KindVar {
				ins[i].Size, ins[i].Hash = 0, varHidden
			}
		}
		return encodeJSON(w, checksumJSON{res.Sum, string(res.Algorithm), ins, excluded})
	}
	if explain {
		if err := printInputs(w, res.Inputs); err != nil {
			return err
		}
		for _, x := range excluded {
			if _, err := fmt.Fprintf(w, "excluded  %s  (%s)\n", field(x.Path), x.Why); err != nil {
				return err
			}
		}
	}
	_, err := fmt.Fprintln(w, res.Sum)
	return err
}

// printInputs lists the inputs, one line each, an input of an extra root
// with a seventh column, where the template uses it; "-" stands for an empty root,
// for a mode that is not executable ("x") and for a var's size. Names that
// could break the line or its columns are quoted (field).
func printInputs(w io.Writer, inputs []fingerprint.Input) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, in := range inputs {
		mode := "-"
		if in.Executable {
			mode = "x"
		}
		root := field(in.Root)
		if in.Root == "" {
			root = "-"
		}
		size, hash := strconv.FormatInt(in.Size, 10), in.Hash
		if in.Kind == fingerprint.KindVar {
			size, hash = "-", varHidden
		}
		if in.Pos != "" {
			hash += "\t" + field(in.Pos)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Kind, root, field(in.Path), mode, size, hash)
	}
	return tw.Flush()
}

// field returns s as a column of the listing: as it is when it is plain
// printable UTF-8, quoted as a Go string (strconv.Quote) when it holds a
// newline, tab, space, control character or invalid UTF-8, starts with a
// quote, or is "-" or empty, so that every input is one line and every
// line splits into the same columns.
func field(s string) string {
	if s == "" || s == "-" || s[0] == '"' || !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if r == ' ' || !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}
