package project

import (
	"cmp"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// link connects each image to its parent and sets the levels. It refuses
// an unknown parent, a cycle and a child region its parent lacks.
func link(imgs []*Image) hcl.Diagnostics {
	byName := make(map[string]*Image, len(imgs))
	for _, img := range imgs {
		byName[img.Name] = img
	}
	var diags hcl.Diagnostics
	for _, img := range imgs {
		if img.ParentName == "" {
			continue
		}
		p, ok := byName[img.ParentName]
		if !ok {
			diags = append(diags, errorAt(img.rangeOf("parent"), "image %q has parent %q, which the project does not declare (images: %s)",
				img.Name, img.ParentName, strings.Join(names(imgs), ", ")))
			continue
		}
		img.Parent = p
	}
	if diags.HasErrors() {
		return diags
	}
	if d := findCycle(imgs); d != nil {
		return hcl.Diagnostics{d}
	}
	for _, img := range imgs {
		for p := img.Parent; p != nil; p = p.Parent {
			img.Level++
		}
		if p := img.Parent; p != nil {
			for _, r := range img.Regions {
				if !slices.Contains(p.Regions, r) {
					diags = append(diags, errorAt(img.rangeOf("regions"),
						"image %q needs region %s, which its parent %q does not have; a child is built from its parent's AMI in the same region, so add %s to %q's regions",
						img.Name, r, p.Name, r, p.Name))
					break
				}
			}
		}
	}
	return diags
}

// findCycle returns a diagnostic naming the first cycle of parent links
// (images taken by name), or nil. Each image has at most one parent, so
// following the links from an image either ends at a root or comes back.
func findCycle(imgs []*Image) *hcl.Diagnostic {
	sorted := slices.Clone(imgs)
	slices.SortFunc(sorted, byName)
	done := map[*Image]bool{}
	for _, start := range sorted {
		onPath := map[*Image]int{}
		var path []*Image
		for img := start; img != nil && !done[img]; img = img.Parent {
			if i, ok := onPath[img]; ok {
				cycle := append(names(path[i:]), img.Name)
				return errorAt(img.rangeOf("parent"), "images form a cycle: %s; a parent chain must end at an image without a parent",
					strings.Join(cycle, " -> "))
			}
			onPath[img] = len(path)
			path = append(path, img)
		}
		for _, img := range path {
			done[img] = true
		}
	}
	return nil
}

// order returns the images parents first: by level, then by name. Ordering
// by level keeps every parent (one level up) before its children.
func order(imgs []*Image) []*Image {
	out := slices.Clone(imgs)
	slices.SortFunc(out, func(a, b *Image) int {
		if c := cmp.Compare(a.Level, b.Level); c != 0 {
			return c
		}
		return byName(a, b)
	})
	return out
}

func byName(a, b *Image) int { return strings.Compare(a.Name, b.Name) }

func names(imgs []*Image) []string {
	out := make([]string, len(imgs))
	for i, img := range imgs {
		out[i] = img.Name
	}
	return out
}

// checkTemplates reads each image's template and refuses a child whose
// template does not declare the variable that receives its parent's AMI.
func checkTemplates(imgs []*Image) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, img := range imgs {
		t, err := packer.LoadTemplate(img.Template)
		if err != nil {
			diags = append(diags, errorAt(img.rangeOf("template"), "image %q: %v", img.Name, err))
			continue
		}
		img.PackerTemplate = t
		if img.Parent != nil && !t.Declares(img.ParentVar) {
			rng := img.rangeOf("parent_var")
			if _, set := img.ranges["parent_var"]; !set {
				rng = img.rangeOf("parent")
			}
			diags = append(diags, errorAt(rng,
				"image %q has a parent, but its template %s does not declare the variable %q that receives the parent's AMI; declare it, or name the template's variable with parent_var",
				img.Name, t.Path, img.ParentVar))
		}
	}
	return diags
}

// Select returns the images named and their ancestors, or every image when
// none is named, parents before children, ties by name. An unknown name is
// a usage error.
func (p *Project) Select(sel ...string) ([]*Image, error) {
	if len(sel) == 0 {
		return slices.Clone(p.Images), checkConflicts(p.Images)
	}
	want := map[*Image]bool{}
	for _, n := range sel {
		i := slices.IndexFunc(p.Images, func(img *Image) bool { return img.Name == n })
		if i < 0 {
			return nil, usererr.WithHint(usererr.Usagef("no image %q in %s", n, p.Path),
				"the images are: %s", strings.Join(names(p.Images), ", "))
		}
		for img := p.Images[i]; img != nil; img = img.Parent {
			want[img] = true
		}
	}
	var out []*Image
	for _, img := range p.Images {
		if want[img] {
			out = append(out, img)
		}
	}
	return out, checkConflicts(out)
}

// checkConflicts refuses the selected images' settings that a flag given
// on the command line would set too.
func checkConflicts(imgs []*Image) error {
	var diags hcl.Diagnostics
	for _, img := range imgs {
		diags = append(diags, img.conflicts...)
	}
	if diags.HasErrors() {
		return diagError(diags)
	}
	return nil
}
