package project

import (
	"cmp"
	"maps"
	"path/filepath"
	"slices"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
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
				Algorithm:  fingerprint.V2,
				Template:   img.Template,
				Dirs:       img.Dirs,
				VarFiles:   img.VarFiles,
				Vars:       specVars,
				IgnoreFile: img.IgnoreFile,
				Exclude:    img.exclude(p.Dir),
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
			Packer:         packer.BuildOptions{Vars: vars, VarFiles: img.VarFiles, Only: img.Only},
			Base:           img.Base.Clone(),
		}
		if img.Parent != nil {
			b.Parent = byImage[img.Parent]
		}
		byImage[img] = b
		out[i] = b
	}
	return out
}

// exclude is what the image's fingerprint leaves out: .ami_id.json beside
// the template, the project's .ami_ids.json and lock file (a pin enters
// as the base's identity), and the outputs of the
// template's manifest post-processors (resolved against packer's working
// directory), which change with every build.
func (img *Image) exclude(projectDir string) []string {
	out := []string{filepath.Join(img.TemplateDir(), ImageResultFile), filepath.Join(projectDir, ResultFile),
		filepath.Join(projectDir, LockFileHCL), filepath.Join(projectDir, LockFileJSON)}
	if img.PackerTemplate != nil {
		dir := cmp.Or(img.WorkDir, img.TemplateDir())
		paths, _ := img.PackerTemplate.ManifestPaths(dir, img.Vars)
		out = append(out, paths...)
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
