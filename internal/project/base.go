package project

import (
	"github.com/hashicorp/hcl/v2"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// A root image's base block: the vendor image it starts from, resolved by
// ami-bakery before planning (internal/bake, base.go).
type baseBlock struct {
	Owners            []string
	Filters           map[string]string
	IncludeDeprecated bool
	SSMParameter      string
	Var               string
	Mode              string
}

// decode reads a base block's body into bb.
func (bb *baseBlock) decode(body hcl.Body) hcl.Diagnostics {
	_, d := decodeBody(body, nil,
		field{name: "owners", to: &bb.Owners},
		field{name: "filters", to: &bb.Filters},
		field{name: "include_deprecated", to: &bb.IncludeDeprecated},
		field{name: "ssm_parameter", to: &bb.SSMParameter},
		field{name: "var", to: &bb.Var},
		field{name: "mode", to: &bb.Mode},
	)
	return d
}

// imageSchema is an image block's: its settings, parent, and a base block.
func imageSchema() *hcl.BodySchema {
	s := settingsSchema("parent")
	s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: "base"})
	return s
}

// decodeBase reads img's base block, if any: at most one, on a root only.
func decodeBase(all hcl.Blocks, img *Image) hcl.Diagnostics {
	var blocks hcl.Blocks
	for _, b := range all {
		if b.Type == "base" {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) == 0 {
		return nil
	}
	b := blocks[0]
	if len(blocks) > 1 {
		return hcl.Diagnostics{errorAt(blocks[1].DefRange, "image %q has two base blocks; it has at most one", img.Name)}
	}
	if img.ParentName != "" {
		return hcl.Diagnostics{errorAt(b.DefRange, "image %q has both a parent and a base; a child is built on its parent's AMI, only a root has a base", img.Name)}
	}
	var bb baseBlock
	if d := bb.decode(b.Body); d.HasErrors() {
		return d
	}
	var filters []string
	for k, v := range bb.Filters {
		filters = append(filters, k+"="+v)
	}
	base, err := bake.NewBase(bb.Owners, filters, bb.SSMParameter, bb.IncludeDeprecated, bb.Var, bb.Mode)
	if err != nil {
		return hcl.Diagnostics{errorAt(b.DefRange, "image %q: %s", img.Name, err)}
	}
	if _, ok := img.Vars[base.Var]; ok {
		return hcl.Diagnostics{errorAt(img.rangeOf("vars"), "vars sets %s, which ami-bakery sets itself to the resolved base image; remove it", base.Var)}
	}
	img.Base = base
	return nil
}

// PinBases gives every locked base among imgs its pins from the lock file
// beside the project file; a missing or stale entry is an error.
func (p *Project) PinBases(imgs []*bake.Image) error {
	var l *PinFile
	for _, img := range imgs {
		if img.Base == nil || img.Base.Mode != bake.BaseLocked {
			continue
		}
		if l == nil {
			var err error
			if l, err = ReadPins(PinsPath(p.Dir)); err != nil {
				return err
			}
		}
		pins, err := l.Pins(img.Name, img.Base.Query)
		if err != nil {
			return err
		}
		img.Base.Pinned, img.Base.PinsFile = pins, l.Path
	}
	return nil
}
