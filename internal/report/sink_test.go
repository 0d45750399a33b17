package report

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSinks writes the sample through each sink and compares the whole file.
func TestSinks(t *testing.T) {
	tests := []struct {
		name    string
		opts    func(path string) SinkOptions
		earlier string // what the file held before
		want    string
	}{
		{".ami_id.json", func(p string) SinkOptions { return SinkOptions{OutputFile: p} }, "{\"ami_id\": \"ami-old\"}\n",
			"{\n  \"ami_id\": \"ami-1\",\n  \"amis\": {\n    \"eu-west-1\": \"ami-2\",\n    \"us-east-1\": \"ami-1\"\n  },\n  \"fingerprint\": \"f00\"\n}\n"},
		{"tfvars", func(p string) SinkOptions { return SinkOptions{TFVarsFile: p} }, "",
			"{\n  \"ami_id\": \"ami-1\",\n  \"ami_ids\": {\n    \"eu-west-1\": \"ami-2\",\n    \"us-east-1\": \"ami-1\"\n  }\n}\n"},
		{"GITHUB_OUTPUT", func(p string) SinkOptions { return SinkOptions{GitHubOutput: p} }, "earlier=1\n",
			"earlier=1\nami-id=ami-1\namis={\"eu-west-1\":\"ami-2\",\"us-east-1\":\"ami-1\"}\nfingerprint=f00\naction=copied\n"},
		{"GITHUB_STEP_SUMMARY", func(p string) SinkOptions { return SinkOptions{GitHubSummary: p} }, "# earlier\n",
			"# earlier\n### ami-bakery: copied `ami-1`\n\nFingerprint `f00` (v2).\n\n" +
				"| Region | Decision | AMI | Why |\n|---|---|---|---|\n" +
				"| us-east-1 | reuse | `ami-1` | an available AMI already carries this fingerprint |\n" +
				"| eu-west-1 | copy | `ami-2` | copied from us-east-1, which had it |\n\n"},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		p := filepath.Join(dir, "f")
		if tt.earlier != "" {
			os.WriteFile(p, []byte(tt.earlier), 0o600)
		}
		sinks := Sinks(tt.opts(p))
		if len(sinks) != 1 || sinks[0].Name() != tt.name {
			t.Fatalf("%s: sinks %v", tt.name, sinks)
		}
		if err := sinks[0].Check(); err != nil {
			t.Errorf("%s: check: %v", tt.name, err)
		}
		if err := writeAll(sinks[0:0+1], sample); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		raw, _ := os.ReadFile(p)
		if string(raw) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, raw, tt.want)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 1 {
			t.Errorf("%s: temporary files left behind: %v", tt.name, ents)
		}
	}
}

func TestSinksOrderAndNone(t *testing.T) {
	if s := Sinks(SinkOptions{}); len(s) != 0 {
		t.Errorf("no destinations: %v", s)
	}
	var names []string
	for _, s := range Sinks(SinkOptions{OutputFile: "a", TFVarsFile: "b", GitHubOutput: "c", GitHubSummary: "d"}) {
		names = append(names, s.Name())
	}
	if got, want := strings.Join(names, " "), ".ami_id.json tfvars GITHUB_OUTPUT GITHUB_STEP_SUMMARY"; got != want {
		t.Errorf("order %q, want %q", got, want)
	}
}

// TestCheck: a bad destination fails Check, and WriteAll then writes none.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "missing", "x.json"), "no such file or directory"},
		{"parent is a file", filepath.Join(file, "x.json"), "is not a directory"},
		{"path is a directory", dir, "is a directory"},
	}
	for _, tt := range tests {
		for _, s := range Sinks(SinkOptions{OutputFile: tt.path, TFVarsFile: tt.path, GitHubOutput: tt.path, GitHubSummary: tt.path}) {
			err := s.Check()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "writing "+tt.path+": ") {
				t.Errorf("%s: %s: check: %v, want %q", tt.name, s.Name(), err, tt.want)
			}
		}
		good := filepath.Join(dir, "good.json")
		err := writeAll(Sinks(SinkOptions{OutputFile: good, TFVarsFile: tt.path}), sample)
		if err == nil {
			t.Errorf("%s: WriteAll succeeded", tt.name)
		}
		if _, err := os.Stat(good); !os.IsNotExist(err) {
			t.Errorf("%s: WriteAll wrote %s before a later sink failed its check", tt.name, good)
		}
	}
}

func TestWriteAll(t *testing.T) {
	dir := t.TempDir()
	o := SinkOptions{
		OutputFile: filepath.Join(dir, ".ami_id.json"), TFVarsFile: filepath.Join(dir, "ami.auto.tfvars.json"),
		GitHubOutput: filepath.Join(dir, "out"), GitHubSummary: filepath.Join(dir, "sum"),
	}
	if err := writeAll(Sinks(o), sample); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{o.OutputFile, o.TFVarsFile, o.GitHubOutput, o.GitHubSummary} {
		if raw, err := os.ReadFile(p); err != nil || !strings.Contains(string(raw), "ami-1") {
			t.Errorf("%s: %q, %v", p, raw, err)
		}
	}
	if err := writeAll(nil, sample); err != nil {
		t.Errorf("no sinks: %v", err)
	}
}

// writeAll is Publish of a result value, as most tests write one.
func writeAll(sinks []Sink, r Result) error { return Publish(context.Background(), sinks, &r) }
