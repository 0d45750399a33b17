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
		{Type: "locals"},
		{Type: "source", LabelNames: []string{"type", "name"}},
		{Type: "build"},
		{Type: "packer"},
	},
}

var packerBlockSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "required_plugins"}},
}

var variableSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "default"}}}

var sourceSchema = func() *hcl.BodySchema {
	s := &hcl.BodySchema{}
	for _, n := range SettingNames {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}()

var buildSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "name"}, {Name: "sources"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "source", LabelNames: []string{"ref"}},
		{Type: "provisioner", LabelNames: []string{"type"}},
		{Type: "post-processor", LabelNames: []string{"type"}},
		{Type: "post-processors"},
	},
}

var postProcessorsSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "post-processor", LabelNames: []string{"type"}}},
}

var manifestSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "output"}}}

var buildSourceSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "name"}}}

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

// hclLoader collects what loadHCLFiles reads from every file before the
// sources' settings and builds are resolved against it.
type hclLoader struct {
	t        *Template
	diags    hcl.Diagnostics
	declared map[string]*hcl.Range
	scope    hclScope
	srcs     map[string][]byte
	sources  []*hcl.Block // parallel to t.Sources
	builds   []*hcl.Block
	uses     [][]buildUse // parallel to builds
	locals   []*hcl.Block
}

// loadHCLFiles reads variable, locals, source and build blocks from every
// file. All files are parsed before any error is returned, so that the
// diagnostics name every broken file, in file name order.
func (t *Template) loadHCLFiles(files map[string][]byte) error {
	t.Syntax = "hcl"
	parser := hclparse.NewParser()
	l := &hclLoader{t: t, declared: map[string]*hcl.Range{}, srcs: files,
		scope: hclScope{defaults: map[string]cty.Value{}, locals: map[string]hcl.Expression{}}}
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
		l.diags = append(l.diags, d...)
		if d.HasErrors() || f == nil {
			continue
		}
		content, _, d := f.Body.PartialContent(hclSchema)
		l.diags = append(l.diags, d...)
		if content != nil {
			l.blocks(content.Blocks)
		}
	}
	if l.diags.HasErrors() {
		// The diagnostic names the file.
		return usererr.WithHint(fmt.Errorf("reading template: invalid HCL2: %w", l.diags.Errs()[0]),
			"%s", describeDiags(l.diags))
	}
	if allEmpty {
		return emptyError(t.Path)
	}
	t.Variables = slices.Sorted(maps.Keys(l.declared))
	if len(t.Sources) == 0 {
		return usererr.WithHint(fmt.Errorf("reading template %s: it defines no source blocks", t.Path),
			"an HCL2 template needs a source block, e.g. source \"amazon-ebs\" \"main\" { ... }, and a build block that uses it")
	}
	l.scope.declared = t.Variables
	l.resolve()
	l.hclInputs()
	return nil
}

// blocks reads one file's top-level blocks.
func (l *hclLoader) blocks(blocks hcl.Blocks) {
	for _, b := range blocks {
		switch b.Type {
		case "variable":
			l.declare(b.Labels[0], b.DefRange)
			if c, _, _ := b.Body.PartialContent(variableSchema); c != nil && c.Attributes["default"] != nil {
				l.setDefault(b.Labels[0], c.Attributes["default"].Expr)
			}
		case "variables":
			attrs, d := b.Body.JustAttributes()
			l.diags = append(l.diags, d...)
			for _, a := range slices.SortedFunc(maps.Values(attrs), byName) {
				l.declare(a.Name, a.NameRange)
				l.setDefault(a.Name, a.Expr)
			}
		case "locals":
			l.locals = append(l.locals, b)
			attrs, d := b.Body.JustAttributes()
			l.diags = append(l.diags, d...)
			for name, a := range attrs {
				l.scope.locals[name] = a.Expr
			}
		case "packer":
			pc, _, d := b.Body.PartialContent(packerBlockSchema)
			l.diags = append(l.diags, d...)
			if pc != nil && len(pc.Blocks) > 0 {
				l.t.RequiredPlugins = true
			}
		case "source":
			s, d := readSource(b)
			l.diags = append(l.diags, d...)
			l.t.Sources = append(l.t.Sources, s)
			l.sources = append(l.sources, b)
		case "build":
			l.builds = append(l.builds, b)
		}
	}
}

func (l *hclLoader) declare(n string, r hcl.Range) {
	if prev, dup := l.declared[n]; dup {
		l.diags = append(l.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate variable",
			Detail:   fmt.Sprintf("Variable %q was already declared at %s.", n, prev),
			Subject:  r.Ptr(),
		})
		return
	}
	l.declared[n] = r.Ptr()
}

// setDefault records a variable's default when it is a known constant.
func (l *hclLoader) setDefault(name string, expr hcl.Expression) {
	if v, d := expr.Value(nil); !d.HasErrors() && v.IsWhollyKnown() && !v.IsNull() {
		l.scope.defaults[name] = v
	}
}

// resolve fills in the sources' settings and build names, and the
// manifest post-processors, once every file's variables and locals are
// known.
func (l *hclLoader) resolve() {
	index := map[string]int{}
	for i, b := range l.sources {
		index[b.Labels[0]+"."+b.Labels[1]] = i
		c, _, _ := b.Body.PartialContent(sourceSchema)
		s := &l.t.Sources[i]
		s.Settings = map[string]Setting{}
		if c == nil {
			continue
		}
		for name, a := range c.Attributes {
			s.Settings[name] = l.scope.setting(a.Expr, l.srcs[a.Expr.Range().Filename])
		}
		s.AMINameVars = s.Settings["ami_name"].Vars
	}
	l.uses = make([][]buildUse, len(l.builds))
	for bi, b := range l.builds {
		c, _, _ := b.Body.PartialContent(buildSchema)
		if c == nil {
			continue
		}
		prefix := ""
		if a, ok := c.Attributes["name"]; ok {
			if v, ok := ctyString(evalQuiet(a.Expr)); ok && v != "" {
				prefix = v + "."
			}
		}
		use := func(ref, name string) {
			key, refName, ok := sourceRef(ref)
			i, found := index[key]
			if !ok || !found {
				return
			}
			if name == "" {
				name = refName
			}
			s := &l.t.Sources[i]
			local := s.Type + "." + name
			s.Builds = append(s.Builds, prefix+local)
			l.uses[bi] = append(l.uses[bi], buildUse{source: i, name: prefix + local, local: local})
		}
		if a, ok := c.Attributes["sources"]; ok {
			for _, ref := range stringList(a.Expr) {
				use(ref, "")
			}
		}
		l.buildBlocks(c.Blocks, use)
	}
}

// buildUse is one build of a build block: a source it uses, under its own
// name or another.
type buildUse struct {
	source int    // index into Template.Sources
	name   string // the build name, "[build.]type.name"
	local  string // "type.name", what a provisioner's only and except name
}

// sourceRef reads a build's reference to a source as packer 1.6.6 does
// (hcl2template's sourceRefFromString): "source.type.name" and
// "type.name" both name the source type.name, since of three parts or
// more the first is dropped, whatever it is, and any after the third are
// ignored. It returns "type.name" and the name.
func sourceRef(ref string) (key, name string, ok bool) {
	parts := strings.Split(ref, ".")
	if len(parts) < 2 {
		return "", "", false
	}
	if len(parts) > 2 {
		parts = parts[1:]
	}
	return parts[0] + "." + parts[1], parts[1], true
}

// buildBlocks reads a build's source blocks (a source used under another
// name) and its manifest post-processors.
func (l *hclLoader) buildBlocks(blocks hcl.Blocks, use func(ref, name string)) {
	for _, bb := range blocks {
		switch bb.Type {
		case "source":
			name := ""
			if c, _, _ := bb.Body.PartialContent(buildSourceSchema); c != nil && c.Attributes["name"] != nil {
				if v, ok := ctyString(evalQuiet(c.Attributes["name"].Expr)); ok {
					name = v
				}
			}
			use(bb.Labels[0], name)
		case "post-processors":
			if c, _, _ := bb.Body.PartialContent(postProcessorsSchema); c != nil {
				l.buildBlocks(c.Blocks, use)
			}
		case "post-processor":
			if bb.Labels[0] != "manifest" {
				continue
			}
			c, _, _ := bb.Body.PartialContent(manifestSchema)
			if c != nil && c.Attributes["output"] != nil {
				l.t.Manifests = append(l.t.Manifests, l.scope.setting(c.Attributes["output"].Expr, l.srcs[bb.DefRange.Filename]))
				continue
			}
			at := fmt.Sprintf("%s:%d", bb.DefRange.Filename, bb.DefRange.Start.Line)
			l.t.Manifests = append(l.t.Manifests, Setting{Pos: at, Text: DefaultManifest,
				eval: func(map[string]string) (string, bool) { return DefaultManifest, true }})
		}
	}
}

// evalQuiet evaluates a constant expression; an error gives cty.NilVal's
// unknown stand-in.
func evalQuiet(expr hcl.Expression) cty.Value {
	v, d := expr.Value(nil)
	if d.HasErrors() {
		return cty.DynamicVal
	}
	return v
}

// stringList returns the strings of a constant list expression.
func stringList(expr hcl.Expression) []string {
	v := evalQuiet(expr)
	if !v.IsWhollyKnown() || v.IsNull() || !(v.Type().IsListType() || v.Type().IsTupleType()) {
		return nil
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		if _, el := it.Element(); el.Type() == cty.String {
			out = append(out, el.AsString())
		}
	}
	return out
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
	_, _, diags := b.Body.PartialContent(sourceSchema)
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

// checkSiblings refuses a single .pkr.hcl file that uses variables
// declared only in other files of its directory: packer reads just the file
// given, and would fail on each of them. The hint names the directory.
func (t *Template) checkSiblings(src []byte) error {
	f, diags := hclsyntax.ParseConfig(src, t.Path, hcl.InitialPos)
	if diags.HasErrors() || f == nil {
		return nil
	}
	used := map[string]bool{}
	_ = hclsyntax.VisitAll(f.Body.(*hclsyntax.Body), func(n hclsyntax.Node) hcl.Diagnostics {
		if e, ok := n.(*hclsyntax.ScopeTraversalExpr); ok && e.Traversal.RootName() == "var" {
			if name := traversalName(e.Traversal); name != "" && !t.Declares(name) {
				used[name] = true
			}
		}
		return nil
	})
	if len(used) == 0 {
		return nil
	}
	dir := filepath.Dir(t.Path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if e.IsDir() || !strings.HasSuffix(e.Name(), suffixHCL) || filepath.Base(t.Path) == e.Name() {
			continue
		}
		sib := &Template{Path: p}
		other, err := readTemplateFile(p)
		if err != nil || sib.loadHCLVariables(other) != nil {
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(used)) {
			if sib.Declares(name) {
				return usererr.WithHint(fmt.Errorf("template %s uses var.%s, which is declared in %s, another file of its directory; packer reads only the file given", t.Path, name, p),
					"give the directory as the template: -t %s", dir+string(filepath.Separator))
			}
		}
	}
	return nil
}

// loadHCLVariables reads only the variables an HCL2 file declares.
func (t *Template) loadHCLVariables(src []byte) error {
	f, diags := hclparse.NewParser().ParseHCL(src, t.Path)
	if diags.HasErrors() {
		return diags
	}
	content, _, _ := f.Body.PartialContent(hclSchema)
	if content == nil {
		return nil
	}
	for _, b := range content.Blocks {
		switch b.Type {
		case "variable":
			t.Variables = append(t.Variables, b.Labels[0])
		case "variables":
			attrs, _ := b.Body.JustAttributes()
			t.Variables = slices.AppendSeq(t.Variables, maps.Keys(attrs))
		}
	}
	slices.Sort(t.Variables)
	return nil
}
