package packer

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file reads packer's HCL2 templates: *.pkr.hcl, *.pkr.json, or a
// directory of them.

var hclSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "variables"},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "packer"},
	},
}

var packerBlockSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "required_plugins"}},
}

var sourceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "ami_name"}},
}

func (t *Template) loadHCLDir() error {
	entries, err := os.ReadDir(t.Path)
	if err != nil {
		return readError(t.Path, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, suffixHCL) || strings.HasSuffix(name, suffixHCLJSON)) {
			continue
		}
		p := filepath.Join(t.Path, name)
		src, err := readTemplateFile(p)
		if err != nil {
			return err
		}
		files[p] = src
	}
	if len(files) == 0 {
		return usererr.WithHint(fmt.Errorf("reading template directory %s: it has no *.pkr.hcl or *.pkr.json files", t.Path),
			"packer 1.6.6 reads a directory as HCL2 and loads only files ending in .pkr.hcl or .pkr.json from it")
	}
	return t.loadHCLFiles(files)
}

// loadHCLFiles reads variable and source blocks from every file. All files
// are parsed before any error is returned, so that the diagnostics name every
// broken file, in file name order.
func (t *Template) loadHCLFiles(files map[string][]byte) error {
	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	declared := map[string]*hcl.Range{}
	allEmpty := true
	for _, name := range slices.Sorted(maps.Keys(files)) {
		src := files[name]
		if err := checkHCLText(name, src); err != nil {
			return err
		}
		if len(bytes.TrimSpace(src)) != 0 {
			allEmpty = false
		}
		var f *hcl.File
		var d hcl.Diagnostics
		if strings.HasSuffix(name, suffixHCLJSON) {
			f, d = parser.ParseJSON(src, name)
		} else {
			f, d = parser.ParseHCL(src, name)
		}
		diags = append(diags, d...)
		if d.HasErrors() || f == nil {
			continue
		}
		content, _, d := f.Body.PartialContent(hclSchema)
		diags = append(diags, d...)
		if content == nil {
			continue
		}
		declare := func(n string, r hcl.Range) {
			if prev, dup := declared[n]; dup {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate variable",
					Detail:   fmt.Sprintf("Variable %q was already declared at %s.", n, prev),
					Subject:  r.Ptr(),
				})
				return
			}
			declared[n] = r.Ptr()
		}
		for _, b := range content.Blocks {
			switch b.Type {
			case "variable":
				declare(b.Labels[0], b.DefRange)
			case "variables":
				attrs, d := b.Body.JustAttributes()
				diags = append(diags, d...)
				for _, a := range slices.SortedFunc(maps.Values(attrs), byName) {
					declare(a.Name, a.NameRange)
				}
			case "packer":
				pc, _, d := b.Body.PartialContent(packerBlockSchema)
				diags = append(diags, d...)
				if pc != nil && len(pc.Blocks) > 0 {
					t.RequiredPlugins = true
				}
			case "source":
				s, d := readSource(b)
				diags = append(diags, d...)
				t.Sources = append(t.Sources, s)
			}
		}
	}
	if diags.HasErrors() {
		// The diagnostic names the file.
		return usererr.WithHint(fmt.Errorf("reading template: invalid HCL2: %w", diags.Errs()[0]),
			"%s", describeDiags(diags))
	}
	if allEmpty {
		return emptyError(t.Path)
	}
	t.Variables = slices.Sorted(maps.Keys(declared))
	if len(t.Sources) == 0 {
		return usererr.WithHint(fmt.Errorf("reading template %s: it defines no source blocks", t.Path),
			"an HCL2 template needs a source block, e.g. source \"amazon-ebs\" \"main\" { ... }, and a build block that uses it")
	}
	return nil
}

// describeDiags lists every error diagnostic, one a line, for the hint: the
// error itself carries the first.
func describeDiags(diags hcl.Diagnostics) string {
	var lines []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		line := d.Summary
		if d.Detail != "" {
			line += "; " + d.Detail
		}
		if d.Subject != nil {
			line = d.Subject.String() + ": " + line
		}
		lines = append(lines, line)
	}
	if len(lines) == 1 {
		return "fix the HCL at that position"
	}
	return "fix the HCL at these positions:\n  " + strings.Join(lines, "\n  ")
}

// byName orders attributes by name, for diagnostics in a stable order.
func byName(a, b *hcl.Attribute) int { return strings.Compare(a.Name, b.Name) }

func readSource(b *hcl.Block) (Source, hcl.Diagnostics) {
	s := Source{
		Type: b.Labels[0],
		Name: b.Labels[0] + "." + b.Labels[1],
		Pos:  fmt.Sprintf("%s:%d", b.DefRange.Filename, b.DefRange.Start.Line),

		Distribution: hclDistribution(b.Body),
	}
	content, _, diags := b.Body.PartialContent(sourceSchema)
	if content == nil {
		return s, diags
	}
	if a, ok := content.Attributes["ami_name"]; ok {
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() != "var" || len(tr) < 2 {
				continue
			}
			switch step := tr[1].(type) {
			case hcl.TraverseAttr:
				s.AMINameVars = append(s.AMINameVars, step.Name)
			case hcl.TraverseIndex:
				if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
					s.AMINameVars = append(s.AMINameVars, step.Key.AsString())
				}
			}
		}
		slices.Sort(s.AMINameVars)
		s.AMINameVars = slices.Compact(s.AMINameVars)
	}
	return s, diags
}

// looksLikeHCL reports whether src parses as HCL and has a block of packer's
// HCL2 language.
func looksLikeHCL(src []byte) bool {
	f, diags := hclsyntax.ParseConfig(src, "sniff.pkr.hcl", hcl.InitialPos)
	if diags.HasErrors() || f == nil {
		return false
	}
	body, ok := f.Body.(*hclsyntax.Body)
	if !ok {
		return false
	}
	for _, b := range body.Blocks {
		switch b.Type {
		case "variable", "variables", "locals", "source", "build", "packer", "data":
			return true
		}
	}
	return false
}

// checkHCLText refuses what packer 1.6.6 refuses before parsing: text that
// is not UTF-8, and a byte order mark in a .pkr.json file (a .pkr.hcl file
// may start with one).
func checkHCLText(name string, src []byte) error {
	if strings.HasSuffix(name, suffixHCLJSON) && bytes.HasPrefix(src, utf8BOM) {
		return bomError(name)
	}
	return checkUTF8(name, src)
}
