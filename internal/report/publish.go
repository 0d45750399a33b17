package report

import (
	"slices"
	"strings"
)

// Publishing: the sinks that write the AMI id where deployments read it,
// an SSM parameter (ssm.go) and a launch template version
// (launchtemplate.go). They keep the Sink contract with remote writes:
//
//   - Check looks only at the name given, never at AWS: a bake calls it
//     before any AWS call.
//   - Stage reads the destination in every region of the result and decides
//     what to write: nothing where it already holds the AMI (a rerun writes
//     nothing), and it refuses what cannot be written (a text-typed
//     parameter, a launch template that reads its image from SSM) before
//     any write, so that a refusal leaves every destination as it was.
//   - Commit writes, region by region; WriteAll commits the publications
//     before any file, so that a failed publication leaves the files as
//     they were and the GitHub outputs never report what was not published.
//     A failure past the first region leaves the earlier regions written;
//     the error says which.

// Publication is one write of an AMI id to where deployments read it, as
// --json, the GitHub outputs and plan report it.
type Publication struct {
	Kind   string `json:"kind"` // "ssm-parameter" or "launch-template"
	Name   string `json:"name"`
	Region string `json:"region"`
	AMI    string `json:"ami"`
	// Action is "written" (a new parameter or template version), "unchanged"
	// (it held the AMI already) or, in a plan, "pending".
	Action string `json:"action"`
	// Version is the parameter or template version written, when known.
	Version int64 `json:"version,omitempty"`
}

// Publication actions.
const (
	Written   = "written"
	Unchanged = "unchanged"
	Pending   = "pending"
)

// publisher is a Staged write that publishes: WriteAll adds its
// publications to the Result the other sinks render, and commits it first.
type publisher interface {
	publications() []Publication
}

// PublicationPlanner is a publishing sink as plan asks it: what it would
// write of ami (empty: an AMI yet to be made) in region.
type PublicationPlanner interface {
	Plan(region, ami, fingerprint string) (Publication, error)
}

// ExpandImage puts an image's name into a destination name given with
// "{image}", as a project's publish block names them.
func ExpandImage(name, image string) string {
	return strings.ReplaceAll(name, "{image}", image)
}

// regionsOf returns the regions of r in a stable order.
func regionsOf(r Result) []string {
	var out []string
	for region := range r.AMIs {
		out = append(out, region)
	}
	slices.Sort(out)
	return out
}
