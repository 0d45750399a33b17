package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// ImageResult is one image of a project's bake: its AMIs and how they came
// to be, as printed with --json and written to .ami_ids.json.
type ImageResult struct {
	Name        string            `json:"-"`
	AMIID       string            `json:"ami_id"` // in the image's primary region
	AMIs        map[string]string `json:"amis"`
	Fingerprint string            `json:"fingerprint"`
	Action      bake.Action       `json:"action"`
	Parent      string            `json:"parent"` // "" for a root
	Level       int               `json:"-"`
	Regions     []bake.Decision   `json:"-"` // in the image's order of regions
	Published   []Publication     `json:"published,omitempty"`
}

// ProjectResult is the answer of a project's bake: every image, parents
// before children. As JSON it is {"images": {NAME: ImageResult}}.
type ProjectResult struct {
	Images []ImageResult
}

// NewImageResult makes an image's part of a project's answer.
func NewImageResult(name, parent string, level int, out *bake.Outcome) ImageResult {
	return ImageResult{
		Name: name, AMIID: out.Primary(), AMIs: out.AMIs(), Fingerprint: out.Fingerprint.Sum,
		Action: out.Action, Parent: parent, Level: level, Regions: out.Regions,
	}
}

// MarshalJSON writes {"images": {NAME: {...}}}, the names sorted.
func (p ProjectResult) MarshalJSON() ([]byte, error) {
	m := make(map[string]ImageResult, len(p.Images))
	for _, img := range p.Images {
		m[img.Name] = img
	}
	return json.Marshal(struct {
		Images map[string]ImageResult `json:"images"`
	}{m})
}

// amis is image -> region -> AMI id.
func (p ProjectResult) amis() map[string]map[string]string {
	m := make(map[string]map[string]string, len(p.Images))
	for _, img := range p.Images {
		m[img.Name] = img.AMIs
	}
	return m
}

// PrintProject writes the answer of a project's bake: one "IMAGE REGION
// AMI" line per image and region, parents first, each image's primary
// region first; or one JSON object.
func PrintProject(w io.Writer, p ProjectResult, asJSON bool) error {
	if asJSON {
		return encodeJSON(w, p)
	}
	var b strings.Builder
	for _, img := range p.Images {
		for _, d := range img.Regions {
			fmt.Fprintf(&b, "%s %s %s\n", img.Name, d.Region, d.AMI)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// ProjectSinks returns the sinks of a project's bake, as Sinks does for one
// image: o.OutputFile gets the --json answer (.ami_ids.json beside the
// project file), o.TFVarsFile {"ami_ids": {IMAGE: {REGION: AMI}}}, and in
// GitHub Actions the outputs images (the --json images map) and amis
// (IMAGE -> REGION -> AMI), and a step summary with the graph. Write them
// with Publish and a Result whose Project is set.
func ProjectSinks(o SinkOptions) []Sink {
	return o.sinks(".ami_ids.json", projectFile, projectTFVars, projectGitHubOutputs, projectSummary)
}

// project returns r's project result, or an error for a sink of a project
// given one image's result (a bug).
func project(r Result) (*ProjectResult, error) {
	if r.Project == nil {
		return nil, fmt.Errorf("a project's output was given one image's result")
	}
	return r.Project, nil
}

func projectFile(r Result) ([]byte, error) {
	p, err := project(r)
	if err != nil {
		return nil, err
	}
	return marshal(p)
}

func projectTFVars(r Result) ([]byte, error) {
	p, err := project(r)
	if err != nil {
		return nil, err
	}
	return marshal(struct {
		AMIIDs map[string]map[string]string `json:"ami_ids"`
	}{p.amis()})
}

func projectGitHubOutputs(r Result) ([]byte, error) {
	p, err := project(r)
	if err != nil {
		return nil, err
	}
	images, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	// The images map alone, without the {"images": ...} wrapper.
	var wrapped struct{ Images json.RawMessage }
	if err := json.Unmarshal(images, &wrapped); err != nil {
		return nil, err
	}
	amis, err := json.Marshal(p.amis())
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, "images=%s\namis=%s\n", wrapped.Images, amis), nil
}

// projectSummary is the step summary of a project's bake: the graph as a
// Mermaid diagram, each image coloured by what happened to it, then a
// table of the AMIs.
func projectSummary(r Result) ([]byte, error) {
	p, err := project(r)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	nodes := make([]GraphNode, len(p.Images))
	for i, img := range p.Images {
		nodes[i] = GraphNode{Name: img.Name, Parent: img.Parent, Level: img.Level, Action: string(img.Action)}
	}
	fmt.Fprintf(&b, "### ami-bakery: %d images\n\n```mermaid\n%s```\n\n", len(p.Images), Mermaid(nodes))
	b.WriteString("| Image | Action | Region | AMI |\n|---|---|---|---|\n")
	for _, img := range p.Images {
		for _, d := range img.Regions {
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` |\n", img.Name, img.Action, d.Region, d.AMI)
		}
	}
	b.WriteString("\n")
	return []byte(b.String()), nil
}
