package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Sink is one destination of a bake's Result besides stdout. The package
// comment states the contract; a new destination (an SSM parameter, a
// launch template version) is one more implementation and one more field
// of SinkOptions.
type Sink interface {
	// Name says which sink it is, for diagnostics: ".ami_id.json",
	// "tfvars", "GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY".
	Name() string
	// Check validates the destination without changing it. It catches
	// the mistakes a person makes (a missing directory, a directory
	// where a file belongs); it cannot promise that Write will succeed.
	Check() error
	// Write puts the whole result at the destination, or nothing.
	Write(Result) error
}

// SinkOptions names the destinations; an empty field means none.
type SinkOptions struct {
	OutputFile    string // .ami_id.json (--output-file)
	TFVarsFile    string // Terraform *.auto.tfvars.json (--tfvars-file)
	GitHubOutput  string // the file GITHUB_OUTPUT names
	GitHubSummary string // the file GITHUB_STEP_SUMMARY names
}

// Sinks returns the sinks o names, in the order they are written.
func Sinks(o SinkOptions) []Sink {
	var sinks []Sink
	for _, s := range []fileSink{
		{".ami_id.json", o.OutputFile, amiFile, writeFile},
		{"tfvars", o.TFVarsFile, tfVars, writeFile},
		{"GITHUB_OUTPUT", o.GitHubOutput, gitHubOutputs, appendFile},
		{"GITHUB_STEP_SUMMARY", o.GitHubSummary, gitHubSummary, appendFile},
	} {
		if s.path != "" {
			sinks = append(sinks, s)
		}
	}
	return sinks
}

// CheckAll checks every sink: a bake calls it before any AWS call or
// build, so that a mistyped output path fails before an AMI is made.
func CheckAll(sinks []Sink) error {
	for _, s := range sinks {
		if err := s.Check(); err != nil {
			return usererr.Usage(err)
		}
	}
	return nil
}

// WriteAll checks every sink again (the build may have taken an hour),
// then writes the result to each in order. It stops at the first error;
// the caller then prints nothing to stdout.
func WriteAll(sinks []Sink, r Result) error {
	if err := CheckAll(sinks); err != nil {
		return err
	}
	for _, s := range sinks {
		if err := s.Write(r); err != nil {
			return err
		}
	}
	return nil
}

// fileSink is a sink that is a local file: render makes its content and
// put stores it, replacing the file atomically (writeFile) for files
// ami-bakery owns, or appending in one write (appendFile) for files it
// shares with other steps.
type fileSink struct {
	name   string
	path   string
	render func(Result) ([]byte, error)
	put    func(path string, data []byte) error
}

func (s fileSink) Name() string { return s.name }

func (s fileSink) Check() error {
	dir := filepath.Dir(s.path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("writing %s: %w", s.path, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("writing %s: %s is not a directory", s.path, dir)
	}
	if fi, err := os.Stat(s.path); err == nil && fi.IsDir() {
		return fmt.Errorf("writing %s: is a directory", s.path)
	}
	return nil
}

func (s fileSink) Write(r Result) error {
	b, err := s.render(r)
	if err != nil {
		return fmt.Errorf("writing %s: %w", s.path, err)
	}
	return s.put(s.path, b)
}

// amiFile is the content of .ami_id.json: the original's {"ami_id": ...}
// plus the per-region map and the fingerprint.
func amiFile(r Result) ([]byte, error) {
	return marshal(struct {
		AMIID       string            `json:"ami_id"`
		AMIs        map[string]string `json:"amis"`
		Fingerprint string            `json:"fingerprint"`
	}{r.AMIID, r.AMIs, r.Fingerprint})
}

// tfVars is the content of a Terraform *.auto.tfvars.json file.
func tfVars(r Result) ([]byte, error) {
	return marshal(struct {
		AMIID  string            `json:"ami_id"`
		AMIIDs map[string]string `json:"ami_ids"`
	}{r.AMIID, r.AMIs})
}

func marshal(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	return append(b, '\n'), err
}

// writeFile writes data to path atomically, with mode 0644: a temporary
// file in the same directory, then a rename. Run as root, it gives the file
// the directory's owner (ownLikeDir).
func writeFile(path string, data []byte) error {
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
	if err == nil {
		ownLikeDir(f, dir)
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

// appendFile appends data to path in one write, creating it if need be.
func appendFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
