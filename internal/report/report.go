// Package report writes a bake's answer: the lines or JSON on stdout, the
// original tool's .ami_id.json, and a Terraform variables file.
//
// Files are written atomically (a temporary file in the same directory,
// then a rename), so a reader never sees half a file and a failed run leaves
// the previous file as it was.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// Result is the answer of a bake, as printed with --json.
type Result struct {
	AMIID       string            `json:"ami_id"`
	AMIs        map[string]string `json:"amis"`
	Fingerprint string            `json:"fingerprint"`
	Algorithm   string            `json:"algorithm"`
	Action      bake.Action       `json:"action"`
	Regions     []bake.Decision   `json:"regions"`
}

// FromOutcome makes the answer of a bake.
func FromOutcome(out *bake.Outcome) Result {
	return Result{
		AMIID:       out.Primary(),
		AMIs:        out.AMIs(),
		Fingerprint: out.Fingerprint.Sum,
		Algorithm:   string(out.Fingerprint.Algorithm),
		Action:      out.Action,
		Regions:     out.Regions,
	}
}

// Print writes the answer to stdout: the AMI id on one line for a single
// region, one region=ami line per region for several, or one JSON object.
func Print(w io.Writer, r Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if len(r.Regions) == 1 {
		_, err := fmt.Fprintln(w, r.AMIID)
		return err
	}
	for _, d := range r.Regions {
		if _, err := fmt.Fprintf(w, "%s=%s\n", d.Region, d.AMI); err != nil {
			return err
		}
	}
	return nil
}

// AMIFile is the content of .ami_id.json: the original's {"ami_id": ...}
// plus the per-region map and the fingerprint.
func AMIFile(r Result) ([]byte, error) {
	return marshal(struct {
		AMIID       string            `json:"ami_id"`
		AMIs        map[string]string `json:"amis"`
		Fingerprint string            `json:"fingerprint"`
	}{r.AMIID, r.AMIs, r.Fingerprint})
}

// TFVars is the content of a Terraform *.auto.tfvars.json file.
func TFVars(r Result) ([]byte, error) {
	return marshal(struct {
		AMIID  string            `json:"ami_id"`
		AMIIDs map[string]string `json:"ami_ids"`
	}{r.AMIID, r.AMIs})
}

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}

// WriteFile writes data to path atomically, with mode 0644.
func WriteFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
