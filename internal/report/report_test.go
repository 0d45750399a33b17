package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

var sample = Result{
	AMIID: "ami-1", AMIs: map[string]string{"us-east-1": "ami-1", "eu-west-1": "ami-2"},
	Fingerprint: "f00", Algorithm: "v2", Action: bake.Copied,
	Regions: []bake.Decision{{Region: "us-east-1", Action: bake.Reuse, AMI: "ami-1"}, {Region: "eu-west-1", Action: bake.Copy, AMI: "ami-2", Source: "us-east-1"}},
}

func TestPrint(t *testing.T) {
	tests := []struct {
		name string
		r    Result
		json bool
		want string
	}{
		{"one region", Result{AMIID: "ami-1", Regions: sample.Regions[:1]}, false, "ami-1\n"},
		{"regions in the order asked", sample, false, "us-east-1=ami-1\neu-west-1=ami-2\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := Print(&b, tt.r, tt.json); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, b.String(), tt.want)
		}
	}
	var b bytes.Buffer
	Print(&b, sample, true)
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ami_id", "amis", "fingerprint", "action"} {
		if _, ok := got[k]; !ok {
			t.Errorf("--json lacks %q: %s", k, b.String())
		}
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, ".ami_id.json")
	if err := writeAll(Sinks(SinkOptions{OutputFile: p}), sample); err != nil {
		t.Fatal(err)
	}
	var got struct {
		AMIID string `json:"ami_id"`
	}
	raw, _ := os.ReadFile(p)
	if err := json.Unmarshal(raw, &got); err != nil || got.AMIID != "ami-1" {
		t.Errorf("ami file %s: %v", raw, err)
	}
	tf, _ := tfVars(sample)
	if !strings.Contains(string(tf), `"ami_ids": {`) {
		t.Errorf("tfvars %s", tf)
	}
	if err := writeAll(Sinks(SinkOptions{OutputFile: filepath.Join(dir, "missing", "x.json")}), sample); err == nil {
		t.Error("writing into a missing directory must fail")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left behind: %v", ents)
	}
}

func TestGitHub(t *testing.T) {
	dir := t.TempDir()
	out, sum := filepath.Join(dir, "out"), filepath.Join(dir, "sum")
	os.WriteFile(out, []byte("earlier=1\n"), 0o644)
	sinks := Sinks(SinkOptions{GitHubOutput: out, GitHubSummary: sum})
	if err := writeAll(sinks[0:0+1], sample); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(out)
	want := "earlier=1\nami-id=ami-1\namis={\"eu-west-1\":\"ami-2\",\"us-east-1\":\"ami-1\"}\nfingerprint=f00\naction=copied\n"
	if string(raw) != want {
		t.Errorf("outputs:\n%s\nwant\n%s", raw, want)
	}
	if err := writeAll(sinks[1:1+1], sample); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(sum)
	if !strings.Contains(string(raw), "| eu-west-1 | copy | `ami-2` | copied from us-east-1, which had it |") {
		t.Errorf("summary:\n%s", raw)
	}
}
