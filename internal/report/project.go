package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// ImagePlan is one image of a project's plan: its place in the graph and
// what each of its regions needs.
type ImagePlan struct {
	Name   string
	Parent string // "" for a root
	Level  int
	Plan   *bake.Plan
	// Channels are what the project's channels hold for the image, and
	// whether a promotion would move them (channel blocks of bakery.hcl).
	Channels []ChannelState
}

// NeedsWork reports whether a bake of the image would do anything (build,
// copy or wait).
func (p ImagePlan) NeedsWork() bool { return !p.Plan.UpToDate() }

// projectPlanJSON is the answer of plan --json with a project.
type projectPlanJSON struct {
	Images []imagePlanJSON `json:"images"`
}

type imagePlanJSON struct {
	Name        string           `json:"name"`
	Fingerprint string           `json:"fingerprint"`
	Parent      string           `json:"parent"`
	Level       int              `json:"level"`
	Regions     []bake.Decision  `json:"regions"`
	Base        *bake.BaseStatus `json:"base,omitempty"`
	// Publications are the image's pending and unchanged publications.
	Publications []Publication `json:"publications,omitempty"`
	// Channels are the image's channels, per region.
	Channels []ChannelState `json:"channels,omitempty"`
}

// PrintProjectPlan writes the answer of plan for a project: one table, a
// row per image (image, the fingerprint's first 12 digits, parent, level,
// then a column per region with the action there, "-" where the image does
// not go), then "IMAGE publish KIND NAME REGION ACTION [AMI]" per
// publication and "IMAGE channel CHANNEL REGION holds AMI; ..." per channel
// (ChannelState), or one JSON object {"images": [...]}.
func PrintProjectPlan(w io.Writer, plans []ImagePlan, pubs []Publication, asJSON bool) error {
	if asJSON {
		out := projectPlanJSON{Images: make([]imagePlanJSON, len(plans))}
		for i, p := range plans {
			var mine []Publication
			for _, pub := range pubs {
				if pub.Image == p.Name {
					mine = append(mine, pub)
				}
			}
			out.Images[i] = imagePlanJSON{p.Name, p.Plan.Fingerprint.Sum, p.Parent, p.Level, p.Plan.Regions, p.Plan.Base, mine, p.Channels}
		}
		return encodeJSON(w, out)
	}
	if err := printProjectTable(w, plans); err != nil {
		return err
	}
	for _, pub := range pubs {
		if !slices.ContainsFunc(plans, func(p ImagePlan) bool { return p.Name == pub.Image }) {
			continue // an image --level left out
		}
		if _, err := fmt.Fprintln(w, pub.Image+" "+publicationLine(pub)); err != nil {
			return err
		}
	}
	for _, p := range plans {
		for _, c := range p.Channels {
			if _, err := fmt.Fprintln(w, p.Name+" "+c.line()); err != nil {
				return err
			}
		}
	}
	return nil
}

// printProjectTable writes the table of a project's plan.
func printProjectTable(w io.Writer, plans []ImagePlan) error {
	var regions []string
	for _, p := range plans {
		for _, d := range p.Plan.Regions {
			if !slices.Contains(regions, d.Region) {
				regions = append(regions, d.Region)
			}
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "IMAGE\tFINGERPRINT\tPARENT\tLEVEL\t%s\n", strings.Join(regions, "\t"))
	for _, p := range plans {
		row := []string{p.Name, p.Plan.Fingerprint.Sum[:min(12, len(p.Plan.Fingerprint.Sum))], cmp.Or(p.Parent, "-"), strconv.Itoa(p.Level)}
		for _, r := range regions {
			action := "-"
			if i := slices.IndexFunc(p.Plan.Regions, func(d bake.Decision) bool { return d.Region == r }); i >= 0 {
				action = strings.TrimPrefix(planLine(p.Plan.Regions[i]), r+" ")
			}
			row = append(row, action)
		}
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// Matrix formats of plan --matrix.
const (
	MatrixGitHub = "github"
	MatrixGitLab = "gitlab"
)

// PrintMatrix writes the CI fan-out of the images that need work: for
// GitHub Actions one line {"include":[{"image":...,"level":...},...]}
// (never without include, so fromJSON works; an empty include needs the
// job's if: guard), for GitLab a child-pipeline YAML with one job per image
// running `ami-bakery bake IMAGE`, needing its parent's job when the
// parent is in the pipeline too. It returns how many images need work.
func PrintMatrix(w io.Writer, plans []ImagePlan, format string) (int, error) {
	var work []ImagePlan
	for _, p := range plans {
		if p.NeedsWork() {
			work = append(work, p)
		}
	}
	switch format {
	case MatrixGitHub:
		type entry struct {
			Image string `json:"image"`
			Level int    `json:"level"`
		}
		m := struct {
			Include []entry `json:"include"`
		}{Include: []entry{}}
		for _, p := range work {
			m.Include = append(m.Include, entry{p.Name, p.Level})
		}
		b, err := json.Marshal(m)
		if err != nil {
			return 0, err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return len(work), err
	case MatrixGitLab:
		return len(work), printGitLab(w, work)
	}
	return 0, fmt.Errorf("unknown matrix format %q", format)
}

// printGitLab writes a GitLab child pipeline. Strings are written as JSON
// strings, which YAML reads as they are. A pipeline needs a job, so with
// nothing to do it has one that says so.
func printGitLab(w io.Writer, work []ImagePlan) error {
	var b strings.Builder
	b.WriteString("# generated by ami-bakery plan --matrix gitlab: one job per image to bake\n")
	if len(work) == 0 {
		b.WriteString("ami-bakery:up-to-date:\n  script:\n    - \"echo every image is up to date\"\n")
	}
	in := map[string]bool{}
	for _, p := range work {
		in[p.Name] = true
	}
	for _, p := range work {
		fmt.Fprintf(&b, "%s:\n", q("bake:"+p.Name))
		needs := "[]"
		if in[p.Parent] {
			needs = "[" + q("bake:"+p.Parent) + "]"
		}
		fmt.Fprintf(&b, "  needs: %s\n  variables:\n    AMI_BAKERY_IMAGE: %s\n    AMI_BAKERY_LEVEL: %s\n", needs, q(p.Name), q(strconv.Itoa(p.Level)))
		fmt.Fprintf(&b, "  script:\n    - %s\n", q("ami-bakery bake "+p.Name))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// q quotes s as a JSON string, which is also a YAML double-quoted scalar.
func q(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
