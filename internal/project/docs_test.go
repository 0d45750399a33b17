package project

import (
	"os"
	"strings"
	"testing"
)

// TestReferenceDocumentsEverySetting: docs/project.md's bakery.hcl
// reference has a row for every block and attribute the decoder accepts,
// so that a setting added here cannot go undocumented.
func TestReferenceDocumentsEverySetting(t *testing.T) {
	b, err := os.ReadFile("../../docs/project.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	_, ref, ok := strings.Cut(doc, "## bakery.hcl reference")
	if !ok {
		t.Fatal("docs/project.md has no \"## bakery.hcl reference\" section")
	}
	row := func(name string) bool {
		return strings.Contains(ref, "\n| `"+name+"` |") || strings.Contains(ref, "\n| `"+name+" ")
	}
	var blocks []string
	for _, s := range rootSchema.Blocks {
		blocks = append(blocks, s.Type)
	}
	for _, s := range imageSchema().Blocks {
		blocks = append(blocks, s.Type)
	}
	for _, name := range blocks {
		if !row(name) {
			t.Errorf("docs/project.md: the reference has no row for the block %s", name)
		}
	}
	for _, a := range imageSchema().Attributes {
		if !row(a.Name) {
			t.Errorf("docs/project.md: the reference has no row for the setting %s", a.Name)
		}
	}
	// The base, publish, test and channel blocks' attributes are listed
	// where they are decoded (base.go, publish.go, test.go, channel.go);
	// keep this list with them.
	for _, name := range []string{"owners", "filters", "include_deprecated", "ssm_parameter", "var", "mode", "launch_template", "set_default_version",
		"command", "timeout", "from", "soak", "requires", "accounts", "parameter", "keep"} {
		if !row(name) {
			t.Errorf("docs/project.md: the reference has no row for the attribute %s", name)
		}
	}
}
