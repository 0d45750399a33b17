package report

import (
	"fmt"
	"io"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// planJSON is the answer of plan --json.
type planJSON struct {
	Fingerprint string           `json:"fingerprint"`
	Algorithm   string           `json:"algorithm"`
	UpToDate    bool             `json:"up_to_date"`
	Regions     []bake.Decision  `json:"regions"`
	Base        *bake.BaseStatus `json:"base,omitempty"`
	// Publications are the pending and unchanged publications, when the
	// plan names destinations.
	Publications []Publication `json:"publications,omitempty"`
	// Explanations are plan --explain's (internal/explain).
	Explanations any `json:"explanations,omitempty"`
}

// PlanExtras are what plan prints besides the decisions.
type PlanExtras struct {
	Publications []Publication
	Explanations any // rendered in the JSON; the text lines are the caller's
}

// PrintPlanPublishing writes the answer of plan: "fingerprint SUM", then
// one line per region ("REGION reuse AMI", "REGION wait AMI", "REGION copy
// from REGION", "REGION build"), a copy's followed by "  carries: ..." (its
// sharing and encryption) when known, then one line per publication
// ("publish KIND NAME REGION ACTION [AMI]"), or one JSON object.
func PrintPlanPublishing(w io.Writer, p *bake.Plan, x PlanExtras, asJSON bool) error {
	pubs := x.Publications
	if asJSON {
		return encodeJSON(w, planJSON{p.Fingerprint.Sum, string(p.Fingerprint.Algorithm), p.UpToDate(), p.Regions, p.Base, pubs, x.Explanations})
	}
	if err := printPlanLines(w, p); err != nil {
		return err
	}
	for _, pub := range pubs {
		if _, err := fmt.Fprintln(w, publicationLine(pub)); err != nil {
			return err
		}
	}
	return nil
}

// publicationLine is a plan's line for a publication:
// "publish KIND NAME REGION ACTION [AMI]".
func publicationLine(pub Publication) string {
	line := fmt.Sprintf("publish %s %s %s %s", pub.Kind, pub.Name, pub.Region, pub.Action)
	if pub.AMI != "" {
		line += " " + pub.AMI
	}
	return line
}

func printPlanLines(w io.Writer, p *bake.Plan) error {
	if _, err := fmt.Fprintf(w, "fingerprint %s\n", p.Fingerprint.Sum); err != nil {
		return err
	}
	if p.Base != nil {
		if _, err := fmt.Fprintf(w, "base: %s\n", p.Base); err != nil {
			return err
		}
	}
	for _, d := range p.Regions {
		if _, err := fmt.Fprintln(w, planLine(d)); err != nil {
			return err
		}
		if d.Action != bake.Copy || d.Carries == nil {
			continue
		}
		if _, err := fmt.Fprintf(w, "  carries: %s\n", d.Carries); err != nil {
			return err
		}
	}
	return nil
}

func planLine(d bake.Decision) string {
	switch d.Action {
	case bake.Reuse, bake.Wait, bake.Restore:
		return fmt.Sprintf("%s %s %s", d.Region, d.Action, d.AMI)
	case bake.Copy:
		return fmt.Sprintf("%s %s from %s", d.Region, d.Action, d.Source)
	case bake.Build:
		// The region and the action alone, as for an action added later.
	}
	return fmt.Sprintf("%s %s", d.Region, d.Action)
}
