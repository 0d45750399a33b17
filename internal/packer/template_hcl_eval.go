package packer

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// This file evaluates HCL2 settings the way packer would, as far as that is
// possible before a build: var.* from the values given or the defaults,
// local.*, string templates and a few pure functions. timestamp(), a
// variable without a value and any other function are unknown.

// hclScope is what an HCL2 expression of a template can refer to.
type hclScope struct {
	declared []string
	defaults map[string]cty.Value // known defaults only
	locals   map[string]hcl.Expression
}

// hclFunctions are the functions evaluated; any other call is unknown.
var hclFunctions = map[string]function.Function{
	"upper": stdlib.UpperFunc, "lower": stdlib.LowerFunc, "format": stdlib.FormatFunc,
	"join": stdlib.JoinFunc, "replace": stdlib.ReplaceFunc, "trimspace": stdlib.TrimSpaceFunc,
	"substr": stdlib.SubstrFunc, "split": stdlib.SplitFunc, "formatdate": stdlib.FormatDateFunc,
	"regex_replace": stdlib.RegexReplaceFunc, "coalesce": stdlib.CoalesceFunc,
	"timestamp": function.New(&function.Spec{
		Type: function.StaticReturnType(cty.String),
		Impl: func([]cty.Value, cty.Type) (cty.Value, error) { return cty.UnknownVal(cty.String), nil },
	}),
}

// ctx is the evaluation context for the given variable values. Locals are
// evaluated in as many passes as it takes; one that never evaluates (a
// cycle, an error) is unknown.
func (sc *hclScope) ctx(vars map[string]string) *hcl.EvalContext {
	vals := make(map[string]cty.Value, len(vars))
	for k, v := range vars {
		vals[k] = cty.StringVal(v)
	}
	return sc.evalCtx(vals, nil, hclFunctions)
}

// evalCtx is ctx with the variables' values given as cty values, more
// top-level variables (such as path) and other functions.
func (sc *hclScope) evalCtx(vals, more map[string]cty.Value, funcs map[string]function.Function) *hcl.EvalContext {
	vs := map[string]cty.Value{}
	for _, name := range sc.declared {
		switch v, ok := vals[name]; {
		case ok:
			vs[name] = v
		case sc.defaults[name] != cty.NilVal:
			vs[name] = sc.defaults[name]
		default:
			vs[name] = cty.DynamicVal
		}
	}
	ctx := &hcl.EvalContext{Functions: funcs, Variables: map[string]cty.Value{"var": cty.ObjectVal(vs)}}
	for k, v := range more {
		ctx.Variables[k] = v
	}
	done := map[string]cty.Value{}
	for range len(sc.locals) + 1 {
		ctx.Variables["local"] = cty.ObjectVal(done)
		progress := false
		for _, name := range slices.Sorted(maps.Keys(sc.locals)) {
			if _, ok := done[name]; ok {
				continue
			}
			if v, diags := sc.locals[name].Value(ctx); !diags.HasErrors() {
				done[name], progress = v, true
			}
		}
		if !progress {
			break
		}
	}
	for name := range sc.locals {
		if _, ok := done[name]; !ok {
			done[name] = cty.DynamicVal
		}
	}
	ctx.Variables["local"] = cty.ObjectVal(done)
	return ctx
}

// setting makes the Setting for expr.
func (sc *hclScope) setting(expr hcl.Expression, src []byte) Setting {
	rng := expr.Range()
	st := Setting{Pos: fmt.Sprintf("%s:%d", rng.Filename, rng.Start.Line), Var: sc.varOf(expr, 0)}
	if src != nil && rng.End.Byte <= len(src) && rng.Start.Byte <= rng.End.Byte {
		st.Text = string(src[rng.Start.Byte:rng.End.Byte])
	}
	st.Vars = sc.varsOf(expr, map[string]bool{})
	st.eval = func(vars map[string]string) (string, bool) {
		v, diags := expr.Value(sc.ctx(vars))
		if diags.HasErrors() {
			return "", false
		}
		return ctyString(v)
	}
	return st
}

// ctyString is a known value as a string; a list is joined with commas.
func ctyString(v cty.Value) (string, bool) {
	if !v.IsWhollyKnown() || v.IsNull() {
		return "", false
	}
	if t := v.Type(); t.IsListType() || t.IsTupleType() || t.IsSetType() {
		var parts []string
		for it := v.ElementIterator(); it.Next(); {
			_, el := it.Element()
			s, ok := ctyString(el)
			if !ok {
				return "", false
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", false
	}
	return s.AsString(), true
}

// varOf returns the variable expr is exactly, through locals, or "".
func (sc *hclScope) varOf(expr hcl.Expression, depth int) string {
	if w, ok := expr.(*hclsyntax.TemplateWrapExpr); ok {
		expr = w.Wrapped
	}
	tr, diags := hcl.AbsTraversalForExpr(expr)
	if diags.HasErrors() || len(tr) != 2 || depth > len(sc.locals) {
		return ""
	}
	attr, ok := tr[1].(hcl.TraverseAttr)
	if !ok {
		return ""
	}
	switch tr.RootName() {
	case "var":
		return attr.Name
	case "local":
		if e, ok := sc.locals[attr.Name]; ok {
			return sc.varOf(e, depth+1)
		}
	}
	return ""
}

// varsOf returns the variables expr depends on, through locals, sorted.
func (sc *hclScope) varsOf(expr hcl.Expression, seen map[string]bool) []string {
	var out []string
	for _, tr := range expr.Variables() {
		name := traversalName(tr)
		switch tr.RootName() {
		case "var":
			if name != "" {
				out = append(out, name)
			}
		case "local":
			if e, ok := sc.locals[name]; ok && !seen[name] {
				seen[name] = true
				out = append(out, sc.varsOf(e, seen)...)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// traversalName is the attribute or string index after a traversal's root
// (var.x, var["x"]), or "".
func traversalName(tr hcl.Traversal) string {
	if len(tr) < 2 {
		return ""
	}
	switch step := tr[1].(type) {
	case hcl.TraverseAttr:
		return step.Name
	case hcl.TraverseIndex:
		if step.Key.Type() == cty.String && step.Key.IsKnown() && !step.Key.IsNull() {
			return step.Key.AsString()
		}
	}
	return ""
}
