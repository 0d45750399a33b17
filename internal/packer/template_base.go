package packer

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// OwnSourceAMI reports where the template at path finds its own source
// image, "file:line (what)", or "": a builder's source_ami_filter or an
// amazon-ami data source. A template whose base ami-bakery resolves must
// have neither, or there would be two sources of truth. The template has
// been read by LoadTemplate already, so a file it cannot parse here is
// simply skipped.
func OwnSourceAMI(path string) (string, error) {
	files, err := templateFiles(path)
	if err != nil {
		return "", err
	}
	for _, f := range files {
		src, err := readTemplateFile(f)
		if err != nil {
			return "", err
		}
		var where string
		switch {
		case strings.HasSuffix(f, suffixHCL):
			where = hclOwnSource(src, f)
		case strings.HasSuffix(f, suffixHCLJSON):
			if strings.Contains(string(src), `"source_ami_filter"`) || strings.Contains(string(src), `"amazon-ami"`) {
				where = f + " (source_ami_filter or amazon-ami)"
			}
		default:
			where = jsonOwnSource(src, f)
		}
		if where != "" {
			return where, nil
		}
	}
	return "", nil
}

func templateFiles(path string) ([]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, readError(path, err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, suffixHCL) || strings.HasSuffix(n, suffixHCLJSON) {
			out = append(out, filepath.Join(path, n))
		}
	}
	slices.Sort(out)
	return out, nil
}

func hclOwnSource(src []byte, name string) string {
	f, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		return ""
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return ""
	}
	for _, b := range body.Blocks {
		switch {
		case b.Type == "data" && len(b.Labels) > 0 && b.Labels[0] == "amazon-ami":
			return fmt.Sprintf("%s:%d (data \"amazon-ami\")", name, b.DefRange().Start.Line)
		case b.Type == "source":
			for _, nb := range b.Body.Blocks {
				if nb.Type == "source_ami_filter" {
					return fmt.Sprintf("%s:%d (source_ami_filter)", name, nb.DefRange().Start.Line)
				}
			}
		}
	}
	return ""
}

func jsonOwnSource(src []byte, name string) string {
	var t struct {
		Builders []map[string]json.RawMessage `json:"builders"`
	}
	if json.Unmarshal(src, &t) != nil {
		return ""
	}
	for i, b := range t.Builders {
		if _, ok := b["source_ami_filter"]; ok {
			return fmt.Sprintf("%s (builder %d: source_ami_filter)", name, i+1)
		}
	}
	return ""
}
