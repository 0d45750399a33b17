package report

import (
	"fmt"
	"io"
	"text/tabwriter"

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
}

// checksumJSON is the answer of checksum --json.
type checksumJSON struct {
	Fingerprint string          `json:"fingerprint"`
	Algorithm   string          `json:"algorithm"`
	Inputs      []checksumInput `json:"inputs"`
}

// PrintChecksum writes the answer of checksum: the fingerprint on one line;
// with explain, first one tab-aligned line per input (kind, root, path,
// mode, size, hash); with asJSON, which wins over explain, one JSON object.
func PrintChecksum(w io.Writer, res fingerprint.Result, explain, asJSON bool) error {
	if asJSON {
		ins := make([]checksumInput, len(res.Inputs))
		for i, in := range res.Inputs {
			ins[i] = checksumInput(in)
		}
		return encodeJSON(w, checksumJSON{res.Sum, string(res.Algorithm), ins})
	}
	if explain {
		if err := printInputs(w, res.Inputs); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintln(w, res.Sum)
	return err
}

// printInputs lists the inputs; "-" stands for an empty root and for a
// mode that is not executable ("x").
func printInputs(w io.Writer, inputs []fingerprint.Input) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, in := range inputs {
		mode := "-"
		if in.Executable {
			mode = "x"
		}
		root := in.Root
		if root == "" {
			root = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", in.Kind, root, in.Path, mode, in.Size, in.Hash)
	}
	return tw.Flush()
}
