package project

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// The project and lock files are decoded with hcl's own schemas and cty's
// conversions rather than gohcl, whose hclwrite import brings go-cmp and
// its init into every run of the binary. The diagnostics are gohcl's.

// decodeExpr evaluates expr, without variables or functions, into v, a
// pointer to a Go value of a type cty can convert to (gocty).
func decodeExpr(expr hcl.Expression, v any) hcl.Diagnostics {
	val, diags := expr.Value(nil)
	ty, err := gocty.ImpliedType(v)
	if err != nil {
		panic(fmt.Sprintf("unsuitable decodeExpr target: %s", err))
	}
	if val, err = convert.Convert(val, ty); err == nil {
		err = gocty.FromCtyValue(val, v)
	}
	if err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unsuitable value type",
			Detail:   fmt.Sprintf("Unsuitable value: %s", err.Error()),
			Subject:  expr.StartRange().Ptr(),
			Context:  expr.Range().Ptr(),
		})
	}
	return diags
}

// field is one attribute of a block body and the pointer its value is
// decoded into; an absent optional attribute leaves it as it is.
type field struct {
	name     string
	required bool
	to       any
}

// decodeBody checks body against its attributes (fields) and block types,
// as gohcl.DecodeBody does, and decodes the attributes present. It returns
// the content, for the caller to decode its blocks, or nil.
func decodeBody(body hcl.Body, blocks []hcl.BlockHeaderSchema, fields ...field) (*hcl.BodyContent, hcl.Diagnostics) {
	// gohcl's schemas have their attributes and blocks sorted by name, and
	// Content reports missing attributes in schema order.
	fields = slices.SortedFunc(slices.Values(fields), func(a, b field) int { return strings.Compare(a.name, b.name) })
	blocks = slices.SortedFunc(slices.Values(blocks), func(a, b hcl.BlockHeaderSchema) int { return strings.Compare(a.Type, b.Type) })
	schema := &hcl.BodySchema{Blocks: blocks}
	for _, f := range fields {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: f.name, Required: f.required})
	}
	content, diags := body.Content(schema)
	if content == nil {
		return nil, diags
	}
	for _, f := range fields {
		if a := content.Attributes[f.name]; a != nil {
			diags = append(diags, decodeExpr(a.Expr, f.to)...)
		}
	}
	return content, diags
}
