package packer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Format is the language a template is written in.
type Format string

const (
	// FormatJSON is packer's legacy JSON template: one file with top-level
	// "variables" and "builders".
	FormatJSON Format = "json"
	// FormatHCL2 is packer's HCL2 language: a *.pkr.hcl or *.pkr.json file,
	// or a directory of them.
	FormatHCL2 Format = "hcl2"
)

// Template is what ami-bakery needs to know of a packer template before it
// runs packer. It is read from the text as written; nothing is evaluated.
type Template struct {
	// Path is the path given to LoadTemplate: a file, or a directory for
	// HCL2.
	Path string
	// Format is the language packer 1.6.6 will read Path as.
	Format Format
	// Files are the files read: Path itself, or for a directory each of its
	// *.pkr.hcl and *.pkr.json files, sorted.
	Files []string
	// Variables are the declared variable names, sorted and unique.
	Variables []string
	// Sources are the builders (JSON) or top-level source blocks (HCL2), in
	// file order.
	Sources []Source
	// RequiredPlugins is set when an HCL2 packer block lists
	// required_plugins, which `packer init` must install before a build.
	RequiredPlugins bool
}

// Source is one builder of a template.
type Source struct {
	// Type is the builder type, such as "amazon-ebs".
	Type string
	// Name is the build name packer 1.6.6 uses in its output and in -only:
	// the builder's "name" or else its type for JSON; "type.name" for HCL2
	// (a named build block prefixes it further, "build.type.name").
	Name string
	// Pos is where the source is defined, "file:line".
	Pos string
	// AMIName is the ami_name setting as written: the JSON string, or the
	// HCL2 expression's source text (quotes included). Empty when absent.
	AMIName string
	// AMINameVars are the variables that AMIName refers to ({{user `x`}} in
	// JSON, var.x in HCL2), sorted and unique.
	AMINameVars []string
	// Region is the region setting when it is a literal.
	Region string
	// AMIRegions is the ami_regions setting when it is a literal list of
	// strings; nil when absent or computed.
	AMIRegions []string
}

// Amazon reports whether the source is one of packer's amazon-* builders.
func (s Source) Amazon() bool { return strings.HasPrefix(s.Type, "amazon-") }

// Declares reports whether the template declares the variable name.
func (t *Template) Declares(name string) bool {
	_, ok := slices.BinarySearch(t.Variables, name)
	return ok
}

// AmazonSources returns the sources whose builder is amazon-*.
func (t *Template) AmazonSources() []Source {
	var out []Source
	for _, s := range t.Sources {
		if s.Amazon() {
			out = append(out, s)
		}
	}
	return out
}

const (
	suffixHCL     = ".pkr.hcl"
	suffixHCLJSON = ".pkr.json"
)

// LoadTemplate reads the template at path the way packer 1.6.6 would choose
// to: a directory is HCL2 (each *.pkr.hcl and *.pkr.json file in it, not
// recursively), a file named *.pkr.hcl or *.pkr.json is HCL2, and any other
// file is a legacy JSON template.
func LoadTemplate(path string) (*Template, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	t := &Template{Path: path}
	if info.IsDir() {
		t.Format = FormatHCL2
		if err := t.loadHCLDir(); err != nil {
			return nil, err
		}
		return t, nil
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, readError(path, err)
	}
	t.Files = []string{path}
	switch {
	case strings.HasSuffix(path, suffixHCL), strings.HasSuffix(path, suffixHCLJSON):
		t.Format = FormatHCL2
		err = t.loadHCLFiles(map[string][]byte{path: src})
	default:
		t.Format = FormatJSON
		err = t.loadJSON(src)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func statError(path string, err error) error {
	err = fmt.Errorf("reading template: %w", err)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usererr.WithHint(err, "check the template path %q; a relative path is taken from the current directory", path)
	case errors.Is(err, fs.ErrPermission):
		return usererr.WithHint(err, "make %q readable by the user running ami-bakery", path)
	}
	return err
}

func readError(path string, err error) error {
	err = fmt.Errorf("reading template: %w", err)
	if errors.Is(err, fs.ErrPermission) {
		return usererr.WithHint(err, "make %q readable by the user running ami-bakery", path)
	}
	return err
}

func emptyError(path string) error {
	return usererr.WithHint(fmt.Errorf("reading template %s: the template is empty", path),
		"a template needs at least one builder, e.g. {\"builders\": [{\"type\": \"amazon-ebs\", ...}]} or a source block in a .pkr.hcl file")
}

// ---- legacy JSON ----

// jsonBuilder is the part of a JSON builder that LoadTemplate reads. Fields
// of the wrong type are left empty rather than reported: validating builders
// is packer's job.
type jsonBuilder struct {
	Type       string
	Name       string
	AMIName    string
	Region     string
	AMIRegions []string
}

// userVarRe matches {{user `name`}} and {{ user "name" }} in a JSON template.
var userVarRe = regexp.MustCompile("\\{\\{-?\\s*user\\s+(?:`([^`]*)`|\"([^\"]*)\")\\s*-?\\}\\}")

func (t *Template) loadJSON(src []byte) error {
	if len(bytes.TrimSpace(src)) == 0 {
		return emptyError(t.Path)
	}
	trimmed := bytes.TrimLeft(src, " \t\r\n")
	if trimmed[0] != '{' {
		return t.notJSONError(src)
	}
	top, err := topLevel(src)
	if err != nil {
		return usererr.WithHint(fmt.Errorf("reading template %s: invalid JSON: %w", t.Path, err),
			"packer reads a file not named *.pkr.hcl or *.pkr.json as a JSON template; fix the JSON at that position")
	}

	if v, ok := top["variables"]; ok && v.kind() != "null" {
		if v.kind() != "object" {
			return usererr.WithHint(fmt.Errorf("reading template %s: \"variables\" at %s is %s, not an object", t.Path, v.pos, v.kind()),
				`declare variables as "variables": {"name": "default value"}`)
		}
		var vars map[string]json.RawMessage
		if err := json.Unmarshal(v.raw, &vars); err != nil {
			return fmt.Errorf("reading template %s: decoding \"variables\" at %s: %w", t.Path, v.pos, err)
		}
		for name := range vars {
			t.Variables = append(t.Variables, name)
		}
		sort.Strings(t.Variables)
	}

	b, ok := top["builders"]
	if !ok || b.kind() == "null" {
		if _, hcl := top["source"]; hcl {
			return usererr.WithHint(fmt.Errorf("reading template %s: it has \"source\" but no \"builders\"", t.Path),
				"this looks like an HCL2 JSON template: packer reads it as one only when the file name ends in .pkr.json")
		}
		return usererr.WithHint(fmt.Errorf("reading template %s: it defines no builders", t.Path),
			`add "builders": [{"type": "amazon-ebs", ...}]`)
	}
	if b.kind() != "array" {
		return usererr.WithHint(fmt.Errorf("reading template %s: \"builders\" at %s is %s, not an array", t.Path, b.pos, b.kind()),
			`declare builders as "builders": [{"type": "amazon-ebs", ...}]`)
	}
	builders, err := arrayElems(b.raw)
	if err != nil {
		return fmt.Errorf("reading template %s: decoding \"builders\" at %s: %w", t.Path, b.pos, err)
	}
	if len(builders) == 0 {
		return usererr.WithHint(fmt.Errorf("reading template %s: \"builders\" at %s is empty", t.Path, b.pos),
			`add a builder: "builders": [{"type": "amazon-ebs", ...}]`)
	}
	for _, el := range builders {
		at := posAt(src, b.off+el.off)
		jb, err := decodeJSONBuilder(el.raw)
		if err != nil {
			return usererr.WithHint(fmt.Errorf("reading template %s: the builder at %s: %w", t.Path, at, err),
				`each builder is an object with a "type", e.g. {"type": "amazon-ebs", ...}`)
		}
		s := Source{
			Type:       jb.Type,
			Name:       jb.Name,
			Pos:        fmt.Sprintf("%s:%d", t.Path, at.line),
			AMIName:    jb.AMIName,
			AMIRegions: jb.AMIRegions,
		}
		if s.Name == "" {
			s.Name = s.Type
		}
		if !strings.Contains(jb.Region, "{{") {
			s.Region = jb.Region
		}
		for _, m := range userVarRe.FindAllStringSubmatch(jb.AMIName, -1) {
			s.AMINameVars = append(s.AMINameVars, m[1]+m[2])
		}
		s.AMINameVars = sortedUnique(s.AMINameVars)
		t.Sources = append(t.Sources, s)
	}
	return nil
}

func decodeJSONBuilder(raw json.RawMessage) (jsonBuilder, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil || fields == nil {
		return jsonBuilder{}, errors.New("it is not an object")
	}
	var b jsonBuilder
	if err := json.Unmarshal(fields["type"], &b.Type); err != nil || b.Type == "" {
		return jsonBuilder{}, errors.New(`it has no "type" string`)
	}
	// The rest is best effort: a wrong type leaves the field empty.
	_ = json.Unmarshal(fields["name"], &b.Name)
	_ = json.Unmarshal(fields["ami_name"], &b.AMIName)
	_ = json.Unmarshal(fields["region"], &b.Region)
	var regions []string
	if err := json.Unmarshal(fields["ami_regions"], &regions); err == nil {
		for _, r := range regions {
			if strings.Contains(r, "{{") {
				regions = nil
				break
			}
		}
		b.AMIRegions = regions
	}
	return b, nil
}

// notJSONError explains a file that packer 1.6.6 would read as JSON but that
// is not JSON at all.
func (t *Template) notJSONError(src []byte) error {
	if strings.HasSuffix(t.Path, ".hcl") || looksLikeHCL(src) {
		return usererr.WithHint(fmt.Errorf("reading template %s: it looks like HCL2, but packer 1.6.6 reads only files named *.pkr.hcl as HCL2", t.Path),
			"rename it to end in .pkr.hcl, or give the directory that holds it")
	}
	return usererr.WithHint(fmt.Errorf("reading template %s: it is neither a JSON template nor an HCL2 template", t.Path),
		"give a JSON template (a JSON object with \"builders\"), a *.pkr.hcl or *.pkr.json file, or a directory of them")
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

// pos is a line and column in a file, both from 1.
type pos struct{ line, col int }

func (p pos) String() string { return fmt.Sprintf("line %d, column %d", p.line, p.col) }

func posAt(src []byte, offset int64) pos {
	if offset > int64(len(src)) {
		offset = int64(len(src))
	}
	if offset < 0 {
		offset = 0
	}
	before := src[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return pos{line, col}
}

// jsonValue is one top-level value of a JSON object and where it starts.
type jsonValue struct {
	raw json.RawMessage
	off int64 // of the value's first byte in the file
	pos pos
}

func (v jsonValue) kind() string {
	switch b := bytes.TrimSpace(v.raw); {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == '"':
		return "a string"
	case b[0] == 't' || b[0] == 'f':
		return "a boolean"
	case b[0] == 'n':
		return "null"
	default:
		return "a number"
	}
}

// topLevel decodes a JSON object into its members, remembering where each
// value starts so that errors can point at it. Errors carry "line L, column
// C".
func topLevel(src []byte) (map[string]jsonValue, error) {
	// Check the whole text first: json.Unmarshal's syntax errors count
	// their offset from the start of src (a Decoder's do not, reliably).
	if err := json.Unmarshal(src, new(json.RawMessage)); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			if syn.Offset >= int64(len(src)) {
				return nil, fmt.Errorf("%s: %w", posAt(src, int64(len(src))), err)
			}
			// Offset counts the offending byte.
			return nil, fmt.Errorf("%s: %w", posAt(src, syn.Offset-1), err)
		}
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("%s: the template is not a JSON object", posAt(src, 0))
	}
	out := map[string]jsonValue{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("%s: expected an object key", posAt(src, dec.InputOffset()))
		}
		// The value starts after the colon and any white space.
		off := skipSeparators(src, dec.InputOffset())
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, err
		}
		out[key] = jsonValue{raw: raw, off: off, pos: posAt(src, off)}
	}
	return out, nil
}

func skipSeparators(src []byte, off int64) int64 {
	for off < int64(len(src)) && strings.IndexByte(" \t\r\n:,", src[off]) >= 0 {
		off++
	}
	return off
}

// arrayElems splits a JSON array into its elements, each with its offset in
// raw.
func arrayElems(raw json.RawMessage) ([]jsonValue, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []jsonValue
	for dec.More() {
		off := skipSeparators(raw, dec.InputOffset())
		var el json.RawMessage
		if err := dec.Decode(&el); err != nil {
			return nil, err
		}
		out = append(out, jsonValue{raw: el, off: off})
	}
	return out, nil
}

// ---- HCL2 ----

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
	Attributes: []hcl.AttributeSchema{
		{Name: "ami_name"},
		{Name: "ami_regions"},
		{Name: "region"},
	},
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
		src, err := os.ReadFile(p)
		if err != nil {
			return readError(p, err)
		}
		files[p] = src
		t.Files = append(t.Files, p)
	}
	if len(files) == 0 {
		return usererr.WithHint(fmt.Errorf("reading template directory %s: it has no *.pkr.hcl or *.pkr.json files", t.Path),
			"packer 1.6.6 reads a directory as HCL2 and loads only files ending in .pkr.hcl or .pkr.json from it")
	}
	sort.Strings(t.Files)
	return t.loadHCLFiles(files)
}

// loadHCLFiles reads variable and source blocks from every file. All files
// are parsed before any error is returned, so that the diagnostics name every
// broken file, in file name order.
func (t *Template) loadHCLFiles(files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)

	parser := hclparse.NewParser()
	var diags hcl.Diagnostics
	declared := map[string]*hcl.Range{}
	allEmpty := true
	for _, name := range names {
		src := files[name]
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
				for _, a := range sortedAttrs(attrs) {
					declare(a.Name, a.NameRange)
				}
			case "packer":
				pc, _, d := b.Body.PartialContent(packerBlockSchema)
				diags = append(diags, d...)
				if pc != nil && len(pc.Blocks) > 0 {
					t.RequiredPlugins = true
				}
			case "source":
				s, d := readSource(b, f.Bytes)
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
	for n := range declared {
		t.Variables = append(t.Variables, n)
	}
	sort.Strings(t.Variables)
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

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func readSource(b *hcl.Block, src []byte) (Source, hcl.Diagnostics) {
	s := Source{
		Type: b.Labels[0],
		Name: b.Labels[0] + "." + b.Labels[1],
		Pos:  fmt.Sprintf("%s:%d", b.DefRange.Filename, b.DefRange.Start.Line),
	}
	content, _, diags := b.Body.PartialContent(sourceSchema)
	if content == nil {
		return s, diags
	}
	if a, ok := content.Attributes["ami_name"]; ok {
		s.AMIName = exprText(a.Expr, src)
		var vars []string
		for _, tr := range a.Expr.Variables() {
			if tr.RootName() != "var" || len(tr) < 2 {
				continue
			}
			switch step := tr[1].(type) {
			case hcl.TraverseAttr:
				vars = append(vars, step.Name)
			case hcl.TraverseIndex:
				if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
					vars = append(vars, step.Key.AsString())
				}
			}
		}
		s.AMINameVars = sortedUnique(vars)
	}
	if a, ok := content.Attributes["region"]; ok {
		if v, ok := literal(a.Expr); ok && v.Type() == cty.String {
			s.Region = v.AsString()
		}
	}
	if a, ok := content.Attributes["ami_regions"]; ok {
		s.AMIRegions = literalStrings(a.Expr)
	}
	return s, diags
}

// exprText is the source text of an expression as written.
func exprText(e hcl.Expression, src []byte) string {
	r := e.Range()
	if r.Start.Byte < 0 || r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return string(src[r.Start.Byte:r.End.Byte])
}

// literal evaluates an expression that refers to nothing.
func literal(e hcl.Expression) (cty.Value, bool) {
	if len(e.Variables()) > 0 {
		return cty.NilVal, false
	}
	v, diags := e.Value(nil)
	if diags.HasErrors() || v.IsNull() || !v.IsWhollyKnown() {
		return cty.NilVal, false
	}
	return v, true
}

func literalStrings(e hcl.Expression) []string {
	v, ok := literal(e)
	if !ok || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil
	}
	out := []string{}
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		if el.IsNull() || el.Type() != cty.String {
			return nil
		}
		out = append(out, el.AsString())
	}
	return out
}

func sortedUnique(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	sort.Strings(s)
	return slices.Compact(s)
}
