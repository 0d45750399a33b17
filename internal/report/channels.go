package report

import (
	"cmp"
	"fmt"
	"io"
	"strings"
)

// ChannelMove is one channel parameter of a promotion, rollback or revoke,
// as printed: what it holds now (or would), and what it held.
type ChannelMove struct {
	Image       string `json:"image"`
	Channel     string `json:"channel"`
	Region      string `json:"region"`
	Parameter   string `json:"parameter"`
	AMI         string `json:"ami"`
	Fingerprint string `json:"fingerprint"`
	Was         string `json:"was,omitempty"`
	Version     int64  `json:"version,omitempty"`
	Action      string `json:"action"` // promoted, rolled-back, unchanged, would-...
}

// PrintChannelMoves writes "IMAGE CHANNEL REGION AMI ACTION" lines, or
// with asJSON {"moves": [...]}.
func PrintChannelMoves(w io.Writer, moves []ChannelMove, asJSON bool) error {
	if asJSON {
		return encodeJSON(w, struct {
			Moves []ChannelMove `json:"moves"`
		}{moves})
	}
	for _, m := range moves {
		if _, err := fmt.Fprintf(w, "%s %s %s %s %s\n", m.Image, m.Channel, m.Region, m.AMI, m.Action); err != nil {
			return err
		}
	}
	return nil
}

// ChannelSummary is a GITHUB_STEP_SUMMARY sink appending a table of the
// moves.
func ChannelSummary(path string, moves []ChannelMove) Sink {
	return fileSink{name: "GITHUB_STEP_SUMMARY", path: path, shared: true, render: func(Result) ([]byte, error) {
		var b strings.Builder
		b.WriteString("### ami-bakery: channels\n\n| Image | Channel | Region | AMI | Was | Action |\n|---|---|---|---|---|---|\n")
		for _, m := range moves {
			fmt.Fprintf(&b, "| %s | %s | %s | `%s` | %s | %s |\n", m.Image, m.Channel, m.Region, m.AMI, cmp.Or(m.Was, "-"), m.Action)
		}
		b.WriteString("\n")
		return []byte(b.String()), nil
	}}
}

// ChannelState is a channel of an image in a region, as plan shows it.
type ChannelState struct {
	Channel string `json:"channel"`
	Region  string `json:"region"`
	// Holds is the AMI the channel holds ("" when its parameter does not
	// exist); Candidate is the AMI a promotion would move it to ("" when
	// there is none).
	Holds     string `json:"holds"`
	Candidate string `json:"candidate,omitempty"`
	// Promotable says whether promote --to CHANNEL would move it now;
	// Gates are the gates that do not hold.
	Promotable bool     `json:"promotable"`
	Gates      []string `json:"gates,omitempty"`
}

// line is the state for people: "staging us-east-1 holds ami-1; ami-2
// promotable", "... up to date", "... not promotable (soak, test boot)".
func (c ChannelState) line() string {
	s := "channel " + c.Channel + " " + c.Region + " holds " + cmp.Or(c.Holds, "nothing")
	switch {
	case len(c.Gates) > 0:
		s += "; not promotable (" + strings.Join(c.Gates, ", ") + ")"
	case c.Candidate == c.Holds:
		s += "; up to date"
	case c.Promotable:
		s += "; " + c.Candidate + " promotable"
	}
	return s
}
