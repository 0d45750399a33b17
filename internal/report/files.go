package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

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
