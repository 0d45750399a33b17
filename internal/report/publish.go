package report

import (
	"context"
	"fmt"
	"slices"
)

// Publishing: the Publishers that write the AMI id where deployments read
// it, one file per target: an SSM parameter (ssm.go) and a launch template
// version (launchtemplate.go); a new target is one more file implementing
// Publisher. Every call takes the caller's context. They keep the Sink
// contract with remote writes:
//
//   - Check looks only at the name given, never at AWS: a bake calls it
//     before any AWS call.
//   - Plan reads the destination in one region and says what a bake would
//     write, or refuses what cannot be written: plan prints it, and bake
//     asks it for every image and region before anything is built.
//   - Stage reads the destination in every region of the result and decides
//     what to write: nothing where it already holds the AMI (a rerun writes
//     nothing), and it refuses what cannot be written (a text-typed
//     parameter, a launch template that reads its image from SSM) before
//     any write, so that a refusal leaves every destination as it was.
//   - Commit writes, region by region; Publish commits the publications
//     before any file, so that a failed publication leaves the files as
//     they were and the GitHub outputs never report what was not published.
//     A failure past the first region leaves the earlier regions written;
//     the error says which.

// Publication is one write of an AMI id to where deployments read it, as
// --json, the GitHub outputs and plan report it.
type Publication struct {
	Image  string `json:"image,omitempty"` // in a project's bake
	Kind   string `json:"kind"`            // "ssm-parameter" or "launch-template"
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

// publisher is a Staged write that publishes: Publish adds its
// publications to the Result the other sinks render, and commits it first.
type publisher interface {
	publications() []Publication
}

// Publisher is a publishing target (one file each: ssm.go,
// launchtemplate.go): a Sink whose Stage plans and whose Commit writes,
// and which plan and bake ask, before anything is built, what it would
// write of ami (empty: an AMI yet to be made) in region, or why it
// cannot.
type Publisher interface {
	Sink
	Plan(ctx context.Context, region, ami, fingerprint string) (Publication, error)
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

// ForImage makes a publishing sink s publish one image of a project's
// bake: it is given that image's part of the Result, and its
// publications name the image.
func ForImage(image string, s Sink) Sink { return imageSink{image, s} }

type imageSink struct {
	image string
	Sink
}

func (s imageSink) Name() string { return s.Sink.Name() + " (image " + s.image + ")" }

func (s imageSink) Stage(ctx context.Context, r Result) (Staged, error) {
	if r.Project == nil {
		return nil, fmt.Errorf("publishing image %s: not a project's result", s.image)
	}
	for _, img := range r.Project.Images {
		if img.Name != s.image {
			continue
		}
		st, err := s.Sink.Stage(ctx, Result{AMIID: img.AMIID, AMIs: img.AMIs, Fingerprint: img.Fingerprint})
		if err != nil {
			return nil, err
		}
		return imageStaged{s.image, st}, nil
	}
	return nil, fmt.Errorf("publishing image %s: it was not baked", s.image)
}

type imageStaged struct {
	image string
	Staged
}

func (st imageStaged) publications() []Publication {
	p, ok := st.Staged.(publisher)
	if !ok {
		return nil
	}
	out := p.publications()
	for i := range out {
		out[i].Image = st.image
	}
	return out
}
