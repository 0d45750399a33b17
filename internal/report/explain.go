package report

import (
	"io"
	"strings"
)

// EncodeJSON writes v as the one JSON object of a --json answer.
func EncodeJSON(w io.Writer, v any) error { return encodeJSON(w, v) }

// ExplainSummary is a GITHUB_STEP_SUMMARY sink appending explanations of
// rebuilds (plan --explain, diff): each one's lines, the first as a
// heading, the rest as a list.
func ExplainSummary(path string, explanations [][]string) Sink {
	return fileSink{name: "GITHUB_STEP_SUMMARY", path: path, shared: true, render: func(Result) ([]byte, error) {
		var b strings.Builder
		b.WriteString("### ami-bakery: why a rebuild\n\n")
		for _, lines := range explanations {
			for i, l := range lines {
				if i == 0 {
					b.WriteString("**" + l + "**\n\n")
					continue
				}
				b.WriteString("- " + strings.TrimSpace(l) + "\n")
			}
			b.WriteString("\n")
		}
		return []byte(b.String()), nil
	}}
}
