package project

import (
	"cmp"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// BakeImages turns images, as Select returns them (parents before
// children), into bake.Images with the same order and parent links. What
// the project file does not say (the packer binary, its environment, the
// endpoint, the subnet) is left for the caller to fill in.
//
// An image's fingerprint Spec holds its own inputs only, so it does not
// depend on the rest of the file; PlanAll adds the parent's fingerprint.
// The files ami-bakery writes are left out of it: .ami_id.json beside the
// template, as in the single-template mode, and the project's .ami_ids.json.
func (p *Project) BakeImages(imgs []*Image) []*bake.Image {
	out := make([]*bake.Image, len(imgs))
	byImage := make(map[*Image]*bake.Image, len(imgs))
	for i, img := range imgs {
		var vars []packer.Var
		var specVars []string
		for _, name := range slices.Sorted(maps.Keys(img.Vars)) {
			vars = append(vars, packer.Var{Name: name, Value: img.Vars[name]})
			specVars = append(specVars, name+"="+img.Vars[name])
		}
		b := &bake.Image{
			Name: img.Name,
			Spec: fingerprint.Spec{
				Algorithm:  cmp.Or(img.Algorithm, fingerprint.V2),
				Template:   img.Template,
				Dirs:       img.Dirs,
				VarFiles:   img.VarFiles,
				Vars:       specVars,
				IgnoreFile: img.IgnoreFile,
				Exclude:    p.Exclusions(img).Paths(),
			},
			Template:       img.PackerTemplate,
			Regions:        img.Regions,
			Owners:         trusted(img.Owners),
			TagKey:         img.TagKey,
			ByName:         img.Lookup == "name",
			FingerprintVar: img.FingerprintVar,
			ParentVar:      img.ParentVar,
			RoleARN:        img.RoleARN,
			RegionVar:      img.RegionVar,
			SubnetVar:      img.SubnetVar,
			EndpointVar:    img.EndpointVar,
			PackerDir:      img.WorkDir,
			Packer:         packer.BuildOptions{Vars: vars, VarFiles: absPaths(img.VarFiles), Only: img.Only, Except: img.Except},
			Base:           img.Base.Clone(),
		}
		b.Unresolved = img.addInputs(&b.Spec, img.Only, img.Except)
		if img.Parent != nil {
			b.Parent = byImage[img.Parent]
		}
		byImage[img] = b
		out[i] = b
	}
	return out
}

// addInputs makes the fingerprint spec the whole definition: every file
// and directory the selected builds use that lies outside the definition
// directories becomes an input of its own (named by its path from the
// template, so that clones agree), and a selection (only, except) that
// builds less than the whole template enters as the build names it
// selects. A template whose inputs all lie inside keeps its fingerprint.
// It returns the references that cannot be resolved before the build, as
// "file:line: text (use)".
func (img *Image) addInputs(sp *fingerprint.Spec, only, except []string) []string {
	t := img.PackerTemplate
	if t == nil {
		return nil
	}
	res, err := t.Inputs(packer.InputOptions{
		WorkDir: cmp.Or(img.WorkDir, img.TemplateDir()), Vars: img.Vars, VarFiles: img.VarFiles,
		Only: only, Except: except,
	})
	var unresolved []string
	if err != nil {
		unresolved = append(unresolved, fmt.Sprintf("the template's inputs: %v", err))
	}
	for _, in := range res.Missing {
		unresolved = append(unresolved, fmt.Sprintf("%s: %s does not exist (%s)", in.Pos, in.Path, in.Use))
	}
	for _, in := range res.Inputs {
		if inside, err := fingerprint.Inside(*sp, in.Path); err == nil && !inside {
			sp.Extra = append(sp.Extra, fingerprint.ExtraRoot{Path: in.Path, Pos: in.Pos})
		}
	}
	for _, u := range res.Unresolved {
		unresolved = append(unresolved, fmt.Sprintf("%s: %s (%s)", u.Pos, u.Text, u.Use))
	}
	if len(only)+len(except) > 0 {
		if sel := t.SelectedBuilds(only, except); !slices.Equal(sel, t.SelectedBuilds(nil, nil)) {
			sp.Only = sel
		}
	}
	return unresolved
}

// SplitBuilds makes every image whose selection builds several AMIs (a
// template of several amazon builds, all built in the image's build
// region) into one image per build: its selection that one build, so its
// own fingerprint, lookup, lock, tags (ami-bakery:build) and AMI, and a
// rerun that reuses each and rebuilds only what is missing. sel and imgs
// are BakeImages' argument and answer; the answer is aligned the same way,
// an image's project entry repeated for each of its builds. An image of
// several builds cannot be a parent (which AMI would its children get?)
// nor publish (which AMI would the destination hold?).
func SplitBuilds(sel []*Image, imgs []*bake.Image) ([]*Image, []*bake.Image, error) {
	var outSel []*Image
	var out []*bake.Image
	for i, img := range sel {
		b := imgs[i]
		var builds []string
		if t := img.PackerTemplate; t != nil {
			builds = t.SelectedBuilds(img.Only, img.Except)
		}
		if len(builds) < 2 {
			outSel, out = append(outSel, img), append(out, b)
			continue
		}
		for _, other := range sel {
			if other.Parent == img {
				return nil, nil, usererr.WithHint(usererr.Usagef("image %s builds several AMIs (%s) and is the parent of %s: which would %s be built from?",
					img.Name, strings.Join(builds, ", "), other.Name, other.Name), "select one build for %s with only (or --only)", img.Name)
			}
		}
		if img.Publish != (Publish{}) {
			return nil, nil, usererr.WithHint(usererr.Usagef("image %s builds several AMIs (%s) and publishes: one destination cannot hold them all", img.Name, strings.Join(builds, ", ")),
				"select one build with only (or --only), or publish each build's image separately")
		}
		for _, build := range builds {
			nb := *b
			nb.Build = build
			nb.Spec.Extra, nb.Spec.Only, nb.Spec.Except = nil, nil, nil
			nb.Unresolved = img.addInputs(&nb.Spec, []string{build}, nil)
			nb.Packer.Only, nb.Packer.Except = []string{build}, nil
			outSel, out = append(outSel, img), append(out, &nb)
		}
	}
	return outSel, out, nil
}

// Exclusion is a file an image's fingerprint leaves out, and why.
type Exclusion struct{ Path, Why string }

// Exclusions are files to leave out of a fingerprint.
type Exclusions []Exclusion

// Paths returns the excluded paths.
func (xs Exclusions) Paths() []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.Path
	}
	return out
}

// Exclusions is what img's fingerprint leaves out, the files ami-bakery
// writes: .ami_id.json beside the template (the original tool wrote it
// there), the project's .ami_ids.json and the base pins (a pin enters as
// the base's identity, not as the file's bytes), and the outputs of the
// template's manifest post-processors (resolved against packer's working
// directory), which change with every build. Any other output inside a
// definition is refused before it is written, so it needs no exclusion.
func (p *Project) Exclusions(img *Image) Exclusions {
	out := Exclusions{{filepath.Join(img.TemplateDir(), ImageResultFile), "ami-bakery's result file"}}
	if !p.single {
		out = append(out, Exclusion{filepath.Join(p.Dir, ResultFile), "ami-bakery's result file"})
	}
	for _, f := range []string{PinsFileHCL, PinsFileJSON} {
		out = append(out, Exclusion{filepath.Join(p.Dir, f), "ami-bakery's lock file (its pin is the base)"})
	}
	if img.PackerTemplate != nil {
		dir := cmp.Or(img.WorkDir, img.TemplateDir())
		paths, _ := img.PackerTemplate.ManifestPaths(dir, img.Vars)
		for _, path := range paths {
			out = append(out, Exclusion{path, "packer's manifest output"})
		}
	}
	return out
}

// absPaths makes paths absolute, since packer runs in the template's
// directory; a path that cannot be made so is left as it is.
func absPaths(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		if a, err := filepath.Abs(p); err == nil {
			out[i] = a
		} else {
			out[i] = p
		}
	}
	return out
}

// trusted is the caller's own account, then the image's owners, as
// --owner adds to it.
func trusted(owners []string) []string {
	out := []string{"self"}
	for _, o := range owners {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// ValidName reports whether name may name an image: letters, digits, '.',
// '_' and '-', starting with a letter or digit, at most 128 characters.
func ValidName(name string) bool { return imageName().MatchString(name) }
