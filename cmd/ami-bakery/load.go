package main

import (
	"cmp"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// imageFlags are the settings that decide images' fingerprints and where
// their AMIs must exist: what every command that plans shares, so that
// bake, plan, diff, prune and lock fingerprint and find the same AMIs. Each
// command registers the groups it offers; unregistered groups keep their
// zero values.
type imageFlags struct {
	proj   options.Project
	def    options.Definition
	target options.Target
	wire   options.Wiring
	base   options.Base
	copies options.Copies
	pub    options.Publish

	unpinned bool // load leaves locked bases without their pins (lock)
	offline  bool // no AWS: no region is needed (checksum)
}

// workset is what a command works on: the project (a project file's, or a
// single template's as a one-image project), the images selected (those
// named and their ancestors, every image by default, parents first) and
// their bake.Images, in the same order. load is the one place where flags
// and files become images: every command has one path from there.
type workset struct {
	project *project.Project
	sel     []*project.Image
	imgs    []*bake.Image
}

// load turns the command line (fs, after applyEnv) and the project file,
// if any, into the workset. names are the command's arguments: images of
// a project file.
func (f *imageFlags) load(fs *pflag.FlagSet, names []string) (*workset, error) {
	// A group a command does not register keeps its defaults.
	f.wire.FingerprintVar = cmp.Or(f.wire.FingerprintVar, options.DefaultFingerprintVar)
	f.target.TagKey = cmp.Or(f.target.TagKey, options.DefaultTagKey)
	f.target.By = cmp.Or(f.target.By, "tag")
	f.def.Algorithm = cmp.Or(f.def.Algorithm, string(fingerprint.V2))
	path, err := f.proj.Path(fs, &f.def)
	if err != nil {
		return nil, err
	}
	f.target.RegionAmbient = !options.Explicit(fs, "region")
	var p *project.Project
	if path == "" {
		if len(names) > 0 && f.def.Template == "" {
			return nil, usererr.WithHint(usererr.Usagef("unexpected argument %q", names[0]),
				"image names are for a project file: put a bakery.hcl in the working directory or give --config")
		}
		if len(names) > 0 {
			return nil, usererr.WithHint(usererr.Usagef("image names (%s) are for a project; with --template there is one image", strings.Join(names, " ")),
				"remove the names, or give --config")
		}
		p, err = f.single()
	} else {
		p, err = f.projectFile(fs, path)
	}
	if err != nil {
		return nil, err
	}
	if f.def.Project != "" {
		if p.Name != "" && p.Name != f.def.Project && options.Explicit(fs, "project") {
			return nil, usererr.WithHint(usererr.Usagef("the project file names the project %q and --project %q", p.Name, f.def.Project), "give one of them")
		}
		p.Name = cmp.Or(p.Name, f.def.Project)
	}
	if img := p.Images[0]; p.Single() && img.TemplateErr != nil && !f.offline {
		return nil, img.TemplateErr
	}
	sel, err := p.Select(names...)
	if err != nil {
		return nil, err
	}
	sel, imgs, err := project.SplitBuilds(sel, p.BakeImages(sel))
	if err != nil {
		return nil, err
	}
	if !f.unpinned {
		if err := p.PinBases(imgs); err != nil {
			return nil, err
		}
	}
	if err := f.giveFlags(imgs, !p.Single()); err != nil {
		return nil, err
	}
	for _, img := range imgs {
		if len(img.Unresolved) > 0 && f.def.StrictInputs {
			return nil, usererr.WithHint(usererr.Usagef("image %s: the template uses a file that cannot be known before the build: %s", img.Name, img.Unresolved[0]),
				"give the value with --var, or name the directory with --dir so that all of it is fingerprinted; without --strict-inputs this is a warning")
		}
	}
	return &workset{project: p, sel: sel, imgs: imgs}, nil
}

// single is the one-image project of the template the flags name.
func (f *imageFlags) single() (*project.Project, error) {
	if err := f.def.Validate(); err != nil {
		return nil, err
	}
	validate := f.target.Validate
	if f.offline {
		validate = f.target.ValidateGiven
	}
	if err := validate(); err != nil {
		return nil, err
	}
	if err := f.wire.Validate(&f.def); err != nil {
		return nil, err
	}
	if err := f.base.CheckVars(&f.def); err != nil {
		return nil, err
	}
	if err := f.pub.Validate(); err != nil {
		return nil, err
	}
	name, err := f.def.ImageName()
	if err != nil {
		return nil, err
	}
	base, err := f.base.Validate()
	if err != nil {
		return nil, err
	}
	alg, err := fingerprint.ParseAlgorithm(f.def.Algorithm)
	if err != nil {
		return nil, usererr.Usage(err)
	}
	pub := project.Publish{SSMParameter: f.pub.SSMParameter, LaunchTemplate: f.pub.LaunchTemplate, SetDefaultVersion: f.pub.SetDefaultVersion}
	return project.Single(name, options.SingleFlags(&f.target, &f.def, &f.wire), base, pub, alg)
}

// projectFile loads the project file at path, the flags given standing for
// the settings it leaves unset.
func (f *imageFlags) projectFile(fs *pflag.FlagSet, path string) (*project.Project, error) {
	if err := f.target.ValidateGiven(); err != nil {
		return nil, err
	}
	if err := f.def.ValidateVars(); err != nil {
		return nil, err
	}
	if err := f.wire.Validate(&f.def); err != nil {
		return nil, err
	}
	flags, err := options.ProjectFlags(fs, &f.target, &f.def, &f.wire)
	if err != nil {
		return nil, err
	}
	return project.Load(path, flags)
}

// giveFlags gives the images what only flags say: the subnet, the
// endpoint, and how copies are encrypted and shared.
func (f *imageFlags) giveFlags(imgs []*bake.Image, isProject bool) error {
	var primaries, regions []string
	for _, img := range imgs {
		if len(img.Regions) == 0 {
			continue // checksum: no AWS, no region
		}
		primaries = append(primaries, img.Regions[0])
		for _, r := range img.Regions {
			if !slices.Contains(regions, r) {
				regions = append(regions, r)
			}
		}
	}
	var err error
	if isProject {
		err = f.copies.ValidateProject(primaries, regions)
	} else {
		err = f.copies.Validate(imgs[0].Regions)
	}
	if err != nil {
		return err
	}
	for _, img := range imgs {
		img.SubnetID = f.wire.SubnetID
		img.Endpoint = f.target.Endpoint
		img.KMSKeys, img.AllowPublic = f.copies.Keys(), f.copies.AllowPublic
	}
	return nil
}

// name is how the i-th image is named in results: its name, and in a
// project its build when its template builds several AMIs ("app/ubuntu").
func (w *workset) name(i int) string {
	if b := w.imgs[i].Build; b != "" {
		if w.project.Single() {
			return b
		}
		return w.sel[i].Name + "/" + b
	}
	return w.sel[i].Name
}

// roles are the roles the images' calls go through, "" for the run's own
// credentials, each once, in the order of the images.
func (w *workset) roles() []string {
	var out []string
	for _, img := range w.imgs {
		if !slices.Contains(out, img.RoleARN) {
			out = append(out, img.RoleARN)
		}
	}
	return out
}

// warnInputs says, once per reference, which files a template uses that
// cannot be known before the build: they are not in the fingerprint.
func (w *workset) warnInputs(log *slog.Logger) {
	for _, img := range w.imgs {
		for _, u := range img.Unresolved {
			log.Warn("the template uses a file that cannot be known before the build, so it is not in the fingerprint: "+u,
				"image", img.Name, "hint", "give the value with --var, or name its directory with --dir; --strict-inputs makes this an error")
		}
	}
}
