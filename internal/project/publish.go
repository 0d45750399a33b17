package project

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Publish is an image's publish block: where a bake writes its AMI id
// besides the files. "{image}" in a name is the image's name, so that one
// block in defaults serves every image:
//
//	publish {
//	  ssm_parameter       = "/amis/{image}/latest"
//	  launch_template     = "app"
//	  set_default_version = false
//	}
//
// An image's own block replaces the defaults' block as a whole.
type Publish struct {
	SSMParameter      string
	LaunchTemplate    string
	SetDefaultVersion bool
}

// publishBlock finds the one publish block of a body's blocks, or nil.
func publishBlock(blocks hcl.Blocks) (*hcl.Block, hcl.Diagnostics) {
	var found *hcl.Block
	for _, b := range blocks {
		if b.Type != "publish" {
			continue
		}
		if found != nil {
			return nil, hcl.Diagnostics{errorAt(b.DefRange, "duplicate publish block; an image or defaults has at most one")}
		}
		found = b
	}
	return found, nil
}

// decodePublish reads the image's publish block, else the defaults', and
// expands {image}.
func decodePublish(own, defs *hcl.Block, image string) (Publish, hcl.Diagnostics) {
	b := own
	if b == nil {
		b = defs
	}
	var p Publish
	if b == nil {
		return p, nil
	}
	_, d := decodeBody(b.Body, nil,
		field{name: "ssm_parameter", to: &p.SSMParameter},
		field{name: "launch_template", to: &p.LaunchTemplate},
		field{name: "set_default_version", to: &p.SetDefaultVersion},
	)
	if d.HasErrors() {
		return p, d
	}
	p.SSMParameter = strings.ReplaceAll(p.SSMParameter, "{image}", image)
	p.LaunchTemplate = strings.ReplaceAll(p.LaunchTemplate, "{image}", image)
	if p.SetDefaultVersion && p.LaunchTemplate == "" {
		return p, hcl.Diagnostics{errorAt(b.DefRange, "set_default_version without launch_template; name the launch template")}
	}
	return p, nil
}
