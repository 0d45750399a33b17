package report

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// gitHubOutputs is what the GITHUB_OUTPUT sink appends: the step outputs
// ami-id, amis (a JSON map), fingerprint and action.
func gitHubOutputs(r Result) ([]byte, error) {
	amis, err := json.Marshal(r.AMIs)
	if err != nil {
		return nil, err
	}
	kvs := [][2]string{
		{"ami-id", r.AMIID},
		{"amis", string(amis)},
		{"fingerprint", r.Fingerprint},
		{"action", string(r.Action)},
	}
	if r.Published != nil {
		pub, err := json.Marshal(r.Published)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, [2]string{"published", string(pub)})
	}
	var b strings.Builder
	for _, kv := range kvs {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return []byte(b.String()), nil
}

// gitHubSummary is what the GITHUB_STEP_SUMMARY sink appends: a markdown
// summary of what was decided, per region and why.
func gitHubSummary(r Result) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "### ami-bakery: %s `%s`\n\n", r.Action, r.AMIID)
	fmt.Fprintf(&b, "Fingerprint `%s` (%s).\n\n", r.Fingerprint, r.Algorithm)
	// The sharing column appears when the bake checked sharing: with
	// several regions, where copies must be shared like their source.
	checked := slices.ContainsFunc(r.Regions, func(d bake.Decision) bool { return d.Carries != nil })
	if checked {
		b.WriteString("| Region | Decision | AMI | Sharing | Why |\n|---|---|---|---|---|\n")
	} else {
		b.WriteString("| Region | Decision | AMI | Why |\n|---|---|---|---|\n")
	}
	for _, d := range r.Regions {
		if checked {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", d.Region, d.Action, d.AMI, sharing(d), why(d))
		} else {
			fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", d.Region, d.Action, d.AMI, why(d))
		}
	}
	b.WriteString("\n")
	if len(r.Published) > 0 {
		b.WriteString("| Published to | Region | AMI | |\n|---|---|---|---|\n")
		for _, p := range r.Published {
			fmt.Fprintf(&b, "| %s `%s` | %s | `%s` | %s |\n", p.Kind, p.Name, p.Region, p.AMI, p.Action)
		}
		b.WriteString("\n")
	}
	return []byte(b.String()), nil
}

func why(d bake.Decision) string {
	switch d.Action {
	case bake.Reuse:
		return "an available AMI already carries this fingerprint"
	case bake.Wait:
		return "a pending AMI with this fingerprint was being made; waited for it"
	case bake.Copy:
		return "copied from " + d.Source + ", which had it"
	case bake.Build:
		return "no AMI carried this fingerprint; packer built it"
	}
	return ""
}

// sharing says who may use the region's AMI and how it is encrypted, as
// far as the bake checked it (regions other than the source's, and the
// source when there are several regions).
func sharing(d bake.Decision) string {
	if d.Carries == nil {
		return "not checked"
	}
	return d.Carries.String()
}
