package report

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	// the mistakes a person makes (a missing or read-only directory, a
	// directory where a file belongs, a dangling symlink); it cannot
	// promise that the write will succeed.
	Check() error
	// Stage does everything that can fail before anything becomes
	// visible: it renders the result and, for a file replaced atomically,
	// writes it to a temporary file beside the destination.
	Stage(context.Context, Result) (Staged, error)
}

// Staged is a write made ready by Sink.Stage. Exactly one of Commit and
// Abort is called.
type Staged interface {
	// Commit makes the write visible: one rename, or one write.
	Commit(context.Context) error
	// Abort drops a staged write, leaving the destination as it was.
	Abort()
	// late reports whether Commit appends to a file shared with others
	// (the GitHub files), which Publish does after every other commit.
	late() bool
}

// SinkOptions names the destinations; an empty field means none.
type SinkOptions struct {
	OutputFile    string // .ami_id.json (--output-file)
	TFVarsFile    string // Terraform *.auto.tfvars.json (--tfvars-file)
	GitHubOutput  string // the file GITHUB_OUTPUT names
	GitHubSummary string // the file GITHUB_STEP_SUMMARY names
}

// Paths returns the destinations o names, in the order of Sinks.
func (o SinkOptions) Paths() []string {
	var out []string
	for _, p := range []string{o.OutputFile, o.TFVarsFile, o.GitHubOutput, o.GitHubSummary} {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Sinks returns the sinks o names, in the order they are written.
func Sinks(o SinkOptions) []Sink {
	return o.sinks(".ami_id.json", amiFile, tfVars, gitHubOutputs, gitHubSummary)
}

// sinks returns the sinks o names, each with its renderer.
func (o SinkOptions) sinks(fileName string, file, tf, output, summary func(Result) ([]byte, error)) []Sink {
	var sinks []Sink
	for _, s := range []fileSink{
		{fileName, o.OutputFile, file, false},
		{"tfvars", o.TFVarsFile, tf, false},
		{"GITHUB_OUTPUT", o.GitHubOutput, output, true},
		{"GITHUB_STEP_SUMMARY", o.GitHubSummary, summary, true},
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

// Publish writes r to every sink, or to none: it checks every sink again
// (the build may have taken an hour), stages every write (rendering, and
// temporary files for the files replaced atomically), and only then
// commits them: the renames first, then the appends to the shared GitHub
// files, each a single write. Past staging only a rename or a write can
// fail; the writes not yet committed are then dropped. The caller prints
// to stdout only after Publish succeeded. The publishers among sinks
// (see publish.go), which must come first, are staged first and
// their publications go into the Result the other sinks render, as
// written, since a file is committed only after every publication was;
// they are committed first; on success r.Published holds what each wrote.
func Publish(ctx context.Context, sinks []Sink, r *Result) error {
	if err := CheckAll(sinks); err != nil {
		return err
	}
	staged := make([]Staged, 0, len(sinks))
	abort := func(from int) {
		for _, s := range staged[from:] {
			s.Abort()
		}
	}
	rendered := *r
	for _, s := range sinks {
		st, err := s.Stage(ctx, rendered)
		if err != nil {
			abort(0)
			return err
		}
		staged = append(staged, st)
		if p, ok := st.(publisher); ok {
			for _, pub := range p.publications() {
				if pub.Action == Pending {
					pub.Action, pub.Version = Written, 0
				}
				rendered.Published = append(rendered.Published, pub)
			}
		}
	}
	// Stable partition: publications first, then atomic files, the shared
	// GitHub files last.
	rank := func(s Staged) int {
		if _, ok := s.(publisher); ok {
			return 0
		}
		if s.late() {
			return 2
		}
		return 1
	}
	order := make([]Staged, 0, len(staged))
	for k := range 3 {
		for _, s := range staged {
			if rank(s) == k {
				order = append(order, s)
			}
		}
	}
	staged = order
	for i, s := range staged {
		if err := s.Commit(ctx); err != nil {
			abort(i + 1)
			return err
		}
	}
	r.Published = nil
	for _, s := range staged {
		if p, ok := s.(publisher); ok {
			r.Published = append(r.Published, p.publications()...)
		}
	}
	return nil
}

// fileSink is a sink that is a local file: render makes its content. A
// file ami-bakery owns is replaced atomically (see destination); a file
// it shares with other steps (shared: the GitHub ones) gets one append.
type fileSink struct {
	name   string
	path   string
	render func(Result) ([]byte, error)
	shared bool
}

func (s fileSink) Name() string { return s.name }

func (s fileSink) Check() error {
	d, err := resolve(s.path, s.shared)
	if err != nil {
		return err
	}
	return d.check()
}

func (s fileSink) Stage(_ context.Context, r Result) (Staged, error) {
	d, err := resolve(s.path, s.shared)
	if err != nil {
		return nil, err
	}
	b, err := s.render(r)
	if err != nil {
		return nil, fmt.Errorf("writing %s: %w", s.path, err)
	}
	return d.stage(b)
}

// amiFile is the content of .ami_id.json: the original's {"ami_id": ...}
// plus the per-region map and the fingerprint.
func amiFile(r Result) ([]byte, error) {
	return marshal(struct {
		AMIID       string                 `json:"ami_id"`
		AMIs        map[string]string      `json:"amis"`
		Fingerprint string                 `json:"fingerprint"`
		Builds      map[string]BuildResult `json:"builds,omitempty"`
	}{r.AMIID, r.AMIs, r.Fingerprint, r.Builds})
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

// errShortWrite is a write that stored fewer bytes than it was given.
var errShortWrite = errors.New("short write")
