package report

import (
	"encoding/json"
	"fmt"
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
	var b strings.Builder
	for _, kv := range [][2]string{
		{"ami-id", r.AMIID},
		{"amis", string(amis)},
		{"fingerprint", r.Fingerprint},
		{"action", string(r.Action)},
	} {
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
	b.WriteString("| Region | Decision | AMI | Why |\n|---|---|---|---|\n")
	for _, d := range r.Regions {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", d.Region, d.Action, d.AMI, why(d))
	}
	b.WriteString("\n")
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
