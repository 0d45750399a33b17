package prune

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Print writes the plan: a table, one row per candidate AMI (region, image,
// AMI, fingerprint, creation date, last launch, decision, every reason),
// then the orphaned snapshots; or, with asJSON, the same as one object,
// with the count of AMIs left alone for lacking the identity tags.
func Print(w io.Writer, p *Plan, asJSON bool) error {
	if asJSON {
		amis, orphans := p.AMIs, p.Orphans
		if amis == nil {
			amis = []AMI{}
		}
		if orphans == nil {
			orphans = []Snapshot{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Mode     Mode       `json:"mode"`
			Changes  int        `json:"changes"`
			AMIs     []AMI      `json:"amis"`
			Orphans  []Snapshot `json:"orphaned_snapshots"`
			Untagged int        `json:"untagged_left_alone"`
		}{p.Mode, p.Changes(), amis, orphans, p.Untagged})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REGION\tIMAGE\tAMI\tFINGERPRINT\tCREATED\tLAST LAUNCHED\tDECISION\tREASONS")
	for _, a := range p.AMIs {
		fp := a.Fingerprint
		if len(fp) > 12 {
			fp = fp[:12]
		}
		reasons := strings.Join(a.Reasons, "; ")
		if reasons == "" {
			reasons = "unused"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Region, a.Image, a.ID, dash(fp),
			day(a.Created), day(a.LastLaunched), a.Decision, reasons)
	}
	for _, s := range p.Orphans {
		fmt.Fprintf(tw, "%s\t-\t%s\t-\t-\t-\tdelete\torphaned snapshot of deregistered %s\n", s.Region, s.ID, s.From)
	}
	return tw.Flush()
}

func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
