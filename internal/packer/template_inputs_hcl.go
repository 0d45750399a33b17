package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// This file gathers an HCL2 template's references to local paths
// (template_inputs.go): the path settings of the sources and of the build
// blocks' provisioners and post-processors, and the calls of file
// functions in them and in locals.

// fileFuncs are the HCL2 functions whose first argument is a file packer
// reads, taken from the template's directory.
var fileFuncs = map[string]bool{
	"file": true, "filebase64": true, "templatefile": true, "fileset": true,
	"filemd5": true, "filesha1": true, "filesha256": true, "filesha512": true,
	"filebase64sha256": true, "filebase64sha512": true,
}

// hclInputs gathers the references once the sources' builds are known.
func (l *hclLoader) hclInputs() {
	for _, b := range l.locals {
		l.calls(b.Body, nil, true)
	}
	for i, b := range l.sources {
		builds := l.t.Sources[i].Builds
		schema := &hcl.BodySchema{}
		for _, n := range builderPathSettings {
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: n})
		}
		if c, _, _ := b.Body.PartialContent(schema); c != nil {
			for _, n := range builderPathSettings {
				if a, ok := c.Attributes[n]; ok {
					l.settingRef(a.Expr, fmt.Sprintf("source %q %q %s", b.Labels[0], b.Labels[1], n), builds, false)
				}
			}
		}
		l.calls(b.Body, builds, false)
	}
	for bi, b := range l.builds {
		c, _, _ := b.Body.PartialContent(buildSchema)
		if c == nil {
			continue
		}
		for _, bb := range c.Blocks {
			switch bb.Type {
			case "provisioner", "post-processor":
				l.blockInputs(bb, l.uses[bi])
			case "post-processors":
				if pc, _, _ := bb.Body.PartialContent(postProcessorsSchema); pc != nil {
					for _, pp := range pc.Blocks {
						l.blockInputs(pp, l.uses[bi])
					}
				}
			}
		}
	}
}

// blockInputs gathers the references of a provisioner or post-processor
// block of a build whose builds are uses, for those its only and except
// leave (packer 1.6.6 compares them with "type.name", exactly).
func (l *hclLoader) blockInputs(b *hcl.Block, uses []buildUse) {
	kind, typ := b.Type, b.Labels[0]
	settings := pathSettings[kind][typ]
	schema := &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "only"}, {Name: "except"}, {Name: "direction"}, {Name: "generated"}}}
	for _, n := range settings {
		if !slices.ContainsFunc(schema.Attributes, func(a hcl.AttributeSchema) bool { return a.Name == n }) {
			schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: n})
		}
	}
	if !slices.Contains(settings, "galaxy_file") {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: "galaxy_file"})
	}
	c, _, _ := b.Body.PartialContent(schema)
	if c == nil {
		return
	}
	var only, except []string
	if a, ok := c.Attributes["only"]; ok {
		only = stringList(a.Expr)
	}
	if a, ok := c.Attributes["except"]; ok {
		except = stringList(a.Expr)
	}
	var builds []string
	for _, u := range uses {
		if (len(only) == 0 || slices.Contains(only, u.local)) && !slices.Contains(except, u.local) {
			builds = append(builds, u.name)
		}
	}
	if len(builds) == 0 {
		return
	}
	other := func(name string) string {
		if a, ok := c.Attributes[name]; ok {
			if v, ok := ctyString(evalQuiet(a.Expr)); ok {
				return v
			}
		}
		return ""
	}
	for _, n := range settings {
		if a, ok := c.Attributes[n]; ok && !skipSetting(kind, typ, n, other) {
			l.settingRef(a.Expr, useOf(kind, typ, n), builds, parentSetting(kind, typ, n))
		}
	}
	l.calls(b.Body, builds, false)
}

// settingRef adds the reference of a path setting: a path or a list of
// paths, taken from packer's working directory.
func (l *hclLoader) settingRef(expr hcl.Expression, use string, builds []string, parent bool) {
	sc := &l.scope
	l.t.refs = append(l.t.refs, inputRef{
		pos:    fmt.Sprintf("%s:%d", expr.Range().Filename, expr.Range().Start.Line),
		text:   l.text(expr.Range()),
		use:    use,
		builds: builds,
		parent: parent,
		eval: func(env inputEnv) ([]string, bool) {
			v, diags := expr.Value(sc.inputCtx(env))
			if diags.HasErrors() {
				return nil, false
			}
			return ctyStrings(v)
		},
	})
}

// calls adds a reference for each call of a file function in body (HCL2
// native syntax only: in a .pkr.json file only the path settings are read).
func (l *hclLoader) calls(body hcl.Body, builds []string, always bool) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	sc := &l.scope
	_ = hclsyntax.VisitAll(sb, func(n hclsyntax.Node) hcl.Diagnostics {
		call, ok := n.(*hclsyntax.FunctionCallExpr)
		if !ok || !fileFuncs[call.Name] || len(call.Args) == 0 || (call.Name == "fileset" && len(call.Args) < 2) {
			return nil
		}
		rng := call.Range()
		l.t.refs = append(l.t.refs, inputRef{
			pos:             fmt.Sprintf("%s:%d", rng.Filename, rng.Start.Line),
			text:            l.text(rng),
			use:             call.Name + "()",
			builds:          builds,
			always:          always,
			fromTemplateDir: true,
			eval: func(env inputEnv) ([]string, bool) {
				ctx := sc.inputCtx(env)
				p, diags := call.Args[0].Value(ctx)
				dir, ok := ctyString(p)
				if diags.HasErrors() || !ok || p.Type() != cty.String {
					return nil, false
				}
				if call.Name != "fileset" {
					return []string{dir}, true
				}
				pat, diags := call.Args[1].Value(ctx)
				pattern, ok := ctyString(pat)
				if diags.HasErrors() || !ok || pat.Type() != cty.String {
					return nil, false
				}
				matches, err := fileset(rooted(env.templateDir, dir), pattern)
				if err != nil {
					return nil, false
				}
				for i, m := range matches {
					matches[i] = filepath.Join(dir, m)
				}
				return matches, true
			},
		})
		return nil
	})
}

// text is the source text of rng, for messages.
func (l *hclLoader) text(rng hcl.Range) string {
	src := l.srcs[rng.Filename]
	if src == nil || rng.End.Byte > len(src) || rng.Start.Byte > rng.End.Byte {
		return ""
	}
	return string(src[rng.Start.Byte:rng.End.Byte])
}

// ctyStrings is a known string, or list, tuple or set of strings, as
// paths; null is none.
func ctyStrings(v cty.Value) ([]string, bool) {
	if !v.IsWhollyKnown() {
		return nil, false
	}
	if v.IsNull() {
		return nil, true
	}
	if v.Type() == cty.String {
		return []string{v.AsString()}, true
	}
	if t := v.Type(); !(t.IsListType() || t.IsTupleType() || t.IsSetType()) {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, el := it.Element()
		if el.IsNull() || el.Type() != cty.String {
			return nil, false
		}
		out = append(out, el.AsString())
	}
	return out, true
}

// inputCtx is the evaluation context of a path: the variables' values,
// path.root (the template's directory) and path.cwd (packer's working
// directory), and the functions that help name paths. Functions that read
// a file's content are unknown: only their argument is an input. It is
// made once per scope and environment.
func (sc *hclScope) inputCtx(env inputEnv) *hcl.EvalContext {
	if ctx := env.ctxs[sc]; ctx != nil {
		return ctx
	}
	vals := map[string]cty.Value{}
	for k, v := range env.hclVars {
		vals[k] = v
	}
	more := map[string]cty.Value{"path": cty.ObjectVal(map[string]cty.Value{
		"root": cty.StringVal(env.templateDir),
		"cwd":  cty.StringVal(env.workDir),
	})}
	ctx := sc.evalCtx(vals, more, inputFunctions(env))
	if env.ctxs != nil {
		env.ctxs[sc] = ctx
	}
	return ctx
}

// inputFunctions are hclFunctions and the path functions, given the
// directories: fileset lists files (from the template's directory, as
// packer's functions take paths); abspath takes a path from packer's
// working directory.
func inputFunctions(env inputEnv) map[string]function.Function {
	funcs := map[string]function.Function{}
	for k, f := range hclFunctions {
		funcs[k] = f
	}
	unknown := function.New(&function.Spec{
		VarParam: &function.Parameter{Name: "args", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true},
		Type:     function.StaticReturnType(cty.String),
		Impl:     func([]cty.Value, cty.Type) (cty.Value, error) { return cty.UnknownVal(cty.String), nil },
	})
	for name := range fileFuncs {
		funcs[name] = unknown
	}
	str := func(name string) []function.Parameter { return []function.Parameter{{Name: name, Type: cty.String}} }
	pathFunc := func(f func(string) string) function.Function {
		return function.New(&function.Spec{
			Params: str("path"),
			Type:   function.StaticReturnType(cty.String),
			Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
				return cty.StringVal(f(args[0].AsString())), nil
			},
		})
	}
	funcs["basename"] = pathFunc(filepath.Base)
	funcs["dirname"] = pathFunc(filepath.Dir)
	funcs["abspath"] = pathFunc(func(p string) string { return rooted(env.workDir, p) })
	funcs["concat"] = stdlib.ConcatFunc
	funcs["fileset"] = function.New(&function.Spec{
		Params: append(str("path"), str("pattern")...),
		Type:   function.StaticReturnType(cty.Set(cty.String)),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			matches, err := fileset(rooted(env.templateDir, args[0].AsString()), args[1].AsString())
			if err != nil {
				return cty.NilVal, err
			}
			if len(matches) == 0 {
				return cty.SetValEmpty(cty.String), nil
			}
			vals := make([]cty.Value, len(matches))
			for i, m := range matches {
				vals[i] = cty.StringVal(m)
			}
			return cty.SetVal(vals), nil
		},
	})
	return funcs
}

// rooted is p taken from dir when it is relative.
func rooted(dir, p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(dir, p)
}

// fileset returns the regular files under dir whose slash-separated path
// relative to dir matches pattern, sorted, as HCL's fileset does: "*" and
// "?" do not match "/", "**" matches any number of directories, "[...]"
// a class, "{a,b}" alternatives.
func fileset(dir, pattern string) ([]string, error) {
	re, err := globRegexp(pattern)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no files, as HCL's fileset says of a missing directory
	}
	// Without "**" a match is at most as deep as the pattern: the walk
	// goes no deeper (fileset("/", "*.pem") must not walk the disk).
	maxDepth := -1
	if !strings.Contains(pattern, "**") {
		maxDepth = strings.Count(pattern, "/")
	}
	var out []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && maxDepth >= 0 && strings.Count(rel, "/") >= maxDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if !re.MatchString(rel) {
			return nil
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(out)
	return out, nil
}

// globRegexp turns a fileset pattern into an anchored regular expression.
func globRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	depth := 0 // inside {...}
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				i++
				if i+1 < len(pattern) && pattern[i+1] == '/' {
					i++
					b.WriteString("(?:.*/)?")
				} else {
					b.WriteString(".*")
				}
				continue
			}
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("pattern %q: unclosed [", pattern)
			}
			class := pattern[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case '{':
			depth++
			b.WriteString("(?:")
		case '}':
			if depth == 0 {
				b.WriteString(`\}`)
				continue
			}
			depth--
			b.WriteString(")")
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth != 0 {
		return nil, fmt.Errorf("pattern %q: unclosed {", pattern)
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// hclValues are variables' values from var files (as written) and -var
// (strings), later ones winning.
type hclValues map[string]cty.Value

// readFile reads an HCL2 var file: HCL, or HCL's JSON syntax for a name
// ending in .json. Values that are not constants are left out.
func (h hclValues) readFile(path string) error {
	src, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading -var-file %s: %w", path, err)
	}
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = p.ParseJSON(src, path)
	} else {
		f, diags = p.ParseHCL(src, path)
	}
	if diags.HasErrors() {
		return fmt.Errorf("reading -var-file %s: %w", path, diags)
	}
	attrs, diags := f.Body.JustAttributes()
	if diags.HasErrors() {
		return fmt.Errorf("reading -var-file %s: %w", path, diags)
	}
	for name, a := range attrs {
		if v, d := a.Expr.Value(nil); !d.HasErrors() && v.IsWhollyKnown() {
			h[name] = v
		}
	}
	return nil
}

func (h hclValues) setString(name, v string) { h[name] = cty.StringVal(v) }
