// Package report is the one home of ami-bakery's outputs: what every command
// prints on stdout, and the sinks a bake's result is written to.
//
// Renderers: Print (bake), PrintPlanPublishing and PrintProjectPlan (plan) and PrintChecksum (checksum)
// write only the answer, the lines or one JSON object, to the writer they
// are given; everything meant for people goes to stderr elsewhere. Their
// bytes are part of the interface: scripts parse them.
//
// Sinks: a Sink is one more destination for a bake's Result besides stdout:
// .ami_id.json, a Terraform tfvars file, GitHub Actions outputs
// (GITHUB_OUTPUT), the step summary (GITHUB_STEP_SUMMARY), an SSM
// parameter and a launch template version (publish.go). The
// contract every Sink keeps:
//
//   - Check validates the destination without changing anything (its
//     directory exists and is writable), so that a bad destination can be
//     reported before any work is done.
//   - Writes are all or none: Publish stages every sink first (renders it,
//     and writes a temporary file beside each file it replaces), then
//     renames them all, then appends to the shared files (the GitHub ones),
//     each in a single write. A reader never sees half a file, an old hard
//     link keeps the old bytes, and a failed run leaves every file as it was.
//   - A destination that is not a regular file is never replaced: a device
//     (/dev/null, /dev/stdout) or a fifo is written in place, a directory is
//     refused, and a symlink to a regular file has its target replaced.
//   - The caller prints to stdout only after Publish succeeded: on failure
//     nothing is written to stdout.
package report

import (
	"encoding/json"
	"fmt"
	"io"

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
	// Published is what the publishing sinks wrote (publish.go).
	Published []Publication `json:"published,omitempty"`
	// Builds, for a template whose selection builds several AMIs, is
	// each build's answer; AMIID, AMIs and Fingerprint are then the first
	// build's (in the template's order), for readers of one AMI.
	Builds map[string]BuildResult `json:"builds,omitempty"`
	// buildOrder is the builds in the template's order.
	buildOrder []string
	// Project, when set, is the answer of a project's bake, which the
	// project's sinks (ProjectSinks) write instead.
	Project *ProjectResult `json:"-"`
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

// BuildResult is one build's AMIs, of a template that builds several.
type BuildResult struct {
	AMIID       string            `json:"ami_id"`
	AMIs        map[string]string `json:"amis"`
	Fingerprint string            `json:"fingerprint"`
	Action      bake.Action       `json:"action"`
	Regions     []bake.Decision   `json:"-"`
}

// FromBuilds makes the answer of a bake of one template whose selection
// builds several AMIs: outs are each build's, named by builds, in the
// template's order.
func FromBuilds(builds []string, outs []*bake.Outcome) Result {
	r := FromOutcome(outs[0])
	r.Builds, r.buildOrder = map[string]BuildResult{}, builds
	for i, b := range builds {
		o := outs[i]
		r.Builds[b] = BuildResult{AMIID: o.Primary(), AMIs: o.AMIs(), Fingerprint: o.Fingerprint.Sum, Action: o.Action, Regions: o.Regions}
	}
	return r
}

// Print writes the answer of bake to stdout: the AMI id on one line for a
// single region, one region=ami line per region for several, one "BUILD
// REGION AMI" line per build and region for a template that builds
// several AMIs, or one JSON object.
func Print(w io.Writer, r Result, asJSON bool) error {
	if asJSON {
		return encodeJSON(w, r)
	}
	if len(r.Builds) > 0 {
		for _, b := range r.buildOrder {
			for _, d := range r.Builds[b].Regions {
				if _, err := fmt.Fprintf(w, "%s %s %s\n", b, d.Region, d.AMI); err != nil {
					return err
				}
			}
		}
		return nil
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

// encodeJSON writes v as the one JSON object of a --json answer: indented
// by two spaces, ending in a newline.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
