package report

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// GitHubOutputs appends the step outputs ami-id, amis (a JSON map),
// fingerprint and action to the file GitHub Actions names in GITHUB_OUTPUT.
func GitHubOutputs(path string, r Result) error {
	amis, err := json.Marshal(r.AMIs)
	if err != nil {
		return err
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
	return appendFile(path, b.String())
}

// GitHubSummary appends a markdown summary of what was decided, per region
// and why, to the file GitHub Actions names in GITHUB_STEP_SUMMARY.
func GitHubSummary(path string, r Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "### ami-bakery: %s `%s`\n\n", r.Action, r.AMIID)
	fmt.Fprintf(&b, "Fingerprint `%s` (%s).\n\n", r.Fingerprint, r.Algorithm)
	b.WriteString("| Region | Decision | AMI | Why |\n|---|---|---|---|\n")
	for _, d := range r.Regions {
		fmt.Fprintf(&b, "| %s | %s | `%s` | %s |\n", d.Region, d.Action, d.AMI, why(d))
	}
	b.WriteString("\n")
	return appendFile(path, b.String())
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

func appendFile(path, s string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
