package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

func projectResult() ProjectResult {
	out := func(action bake.Action, fp string, ds ...bake.Decision) *bake.Outcome {
		return &bake.Outcome{Fingerprint: fingerprint.Result{Sum: fp}, Action: action, Regions: ds}
	}
	return ProjectResult{Images: []ImageResult{
		NewImageResult("base", "", 0, out(bake.Reused, "f1",
			bake.Decision{Region: "us-east-1", Action: bake.Reuse, AMI: "ami-1"}, bake.Decision{Region: "eu-west-1", Action: bake.Reuse, AMI: "ami-2"})),
		NewImageResult("app", "base", 1, out(bake.Built, "f2", bake.Decision{Region: "us-east-1", Action: bake.Build, AMI: "ami-3"})),
	}}
}

func TestPrintProject(t *testing.T) {
	var b bytes.Buffer
	if err := PrintProject(&b, projectResult(), false); err != nil {
		t.Fatal(err)
	}
	if want := "base us-east-1 ami-1\nbase eu-west-1 ami-2\napp us-east-1 ami-3\n"; b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := PrintProject(&b, projectResult(), true); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Images map[string]map[string]any
	}
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	app := got.Images["app"]
	if app["ami_id"] != "ami-3" || app["parent"] != "base" || app["action"] != "built" || app["fingerprint"] != "f2" {
		t.Errorf("app: %v", app)
	}
	if amis, _ := got.Images["base"]["amis"].(map[string]any); amis["eu-west-1"] != "ami-2" {
		t.Errorf("base: %v", got.Images["base"])
	}
}

func TestProjectSinks(t *testing.T) {
	dir := t.TempDir()
	o := SinkOptions{
		OutputFile:    filepath.Join(dir, ".ami_ids.json"),
		TFVarsFile:    filepath.Join(dir, "amis.auto.tfvars.json"),
		GitHubOutput:  filepath.Join(dir, "out"),
		GitHubSummary: filepath.Join(dir, "summary"),
	}
	pr := projectResult()
	if err := writeAll(ProjectSinks(o), Result{Project: &pr}); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	var printed bytes.Buffer
	PrintProject(&printed, pr, true)
	if got := read(o.OutputFile); got != printed.String() {
		t.Errorf(".ami_ids.json differs from --json:\n%s\n%s", got, printed.String())
	}
	var tf struct {
		AMIIDs map[string]map[string]string `json:"ami_ids"`
	}
	if err := json.Unmarshal([]byte(read(o.TFVarsFile)), &tf); err != nil || tf.AMIIDs["base"]["eu-west-1"] != "ami-2" || tf.AMIIDs["app"]["us-east-1"] != "ami-3" {
		t.Errorf("tfvars: %v %v", tf, err)
	}
	gh := read(o.GitHubOutput)
	if !strings.Contains(gh, "amis={\"app\":{\"us-east-1\":\"ami-3\"},\"base\":{\"eu-west-1\":\"ami-2\",\"us-east-1\":\"ami-1\"}}\n") ||
		!strings.Contains(gh, "images={\"app\":{\"ami_id\":\"ami-3\"") {
		t.Errorf("GITHUB_OUTPUT:\n%s", gh)
	}
	sum := read(o.GitHubSummary)
	for _, want := range []string{"```mermaid\nflowchart LR\n", "n0[\"base: reused\"]", "n0 --> n1", "classDef built fill:", "| app | built | us-east-1 | `ami-3` |"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	// A project's sinks given one image's result write nothing.
	if err := writeAll(ProjectSinks(o), Result{AMIID: "ami-9"}); err == nil {
		t.Error("a project's sinks accepted one image's result")
	}
}

func TestPrintGraph(t *testing.T) {
	nodes := []GraphNode{{Name: "base"}, {Name: "runtime", Parent: "base", Level: 1}, {Name: "app", Parent: "runtime", Level: 2}}
	tests := []struct {
		format string
		want   []string
	}{
		{GraphDOT, []string{"digraph bakery {\n", `"base" [label="base"];`, `"base" -> "runtime";`, `"runtime" -> "app";`}},
		{GraphMermaid, []string{"flowchart LR\n", `n0["base"]`, "n0 --> n1\n", "n1 --> n2\n"}},
		{GraphJSON, []string{`"name": "app"`, `"parent": "runtime"`, `"level": 2`}},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := PrintGraph(&b, nodes, tt.format); err != nil {
			t.Fatal(err)
		}
		for _, w := range tt.want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s lacks %q:\n%s", tt.format, w, b.String())
			}
		}
		if strings.Contains(b.String(), "action") || strings.Contains(b.String(), "fill") {
			t.Errorf("%s: an action without a plan:\n%s", tt.format, b.String())
		}
	}
	nodes[0].Action, nodes[2].Action = string(bake.Reuse), string(bake.Build)
	var b bytes.Buffer
	PrintGraph(&b, nodes, GraphDOT)
	if !strings.Contains(b.String(), `"app" [label="app\nbuild", style="rounded,filled", fillcolor="#f6a04d"];`) {
		t.Errorf("dot with actions:\n%s", b.String())
	}
	b.Reset()
	PrintGraph(&b, nodes, GraphMermaid)
	if !strings.Contains(b.String(), "classDef build fill:#f6a04d,stroke:#555\n  class n2 build\n") {
		t.Errorf("mermaid with actions:\n%s", b.String())
	}
}

func TestPlanAction(t *testing.T) {
	p := &bake.Plan{Regions: []bake.Decision{{Action: bake.Reuse}, {Action: bake.Copy}}}
	if a := PlanAction(p); a != bake.Copy {
		t.Errorf("got %s", a)
	}
	p.Regions[0].Action = bake.Build
	if a := PlanAction(p); a != bake.Build {
		t.Errorf("got %s", a)
	}
}
