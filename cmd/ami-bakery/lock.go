package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

type lockOptions struct {
	proj      options.Project
	def       options.Definition
	base      options.Base
	region    string
	endpoint  string
	logFormat string
	update    bool
}

func newLockCommand(e *env) *cobra.Command {
	var o lockOptions
	cmd := &cobra.Command{
		Use:   "lock [--update] [IMAGE...]",
		Short: "Pin the base image of each locked image in bakery.lock.hcl",
		Long: `lock writes the lock file beside the project file (bakery.lock.hcl, or
bakery.lock.json when that exists) for every image whose base has
mode = "locked": an image without a pin, or whose pin was made for another
search, is pinned to the newest matching base in its primary region. Pins
that are current are kept. With --update the named images (all locked
images when none is named) move to the newest match: review the change
and commit it, as a dependency update. plan and bake build on the pins only,
and plan reports a newer base without building it.

With --template (one template, no project) the --base-* flags and
--base-mode locked name the base, and the pin goes to bakery.lock.hcl
beside the template, under the template's file name without extension,
for its primary region (--region): where plan and bake read it.

stdout stays empty; what changed is reported on stderr.` + exitHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			path, err := o.proj.Path(&o.def)
			if err != nil {
				return err
			}
			if path == "" {
				return runLockSingle(cmd.Context(), &o, args, e)
			}
			return runLock(cmd.Context(), &o, path, args, e)
		},
	}
	fs := cmd.Flags()
	o.proj.AddFlags(fs)
	fs.StringVarP(&o.def.Template, "template", "t", "", "one packer template: pin its base (the --base-* flags) beside it, instead of a project's")
	fs.StringVar(&o.region, "region", "", "with --template: the primary region, where the base is pinned")
	o.base.AddFlags(fs)
	options.BindEnv(fs, "template", "PACKER_JSON_PATH", "AMI_BAKERY_TEMPLATE")
	options.BindEnv(fs, "region", "AWS_REGION", "AWS_DEFAULT_REGION")
	fs.BoolVar(&o.update, "update", false, "move the pins of the named images (default: all locked images) to the newest match")
	fs.StringVar(&o.endpoint, "endpoint", "", "AWS endpoint, e.g. the emulator")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	options.BindEnv(fs, "endpoint", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL")
	options.BindEnv(fs, "log-format", "AMI_BAKERY_LOG_FORMAT")
	return cmd
}

func runLock(ctx context.Context, o *lockOptions, path string, names []string, e *env) error {
	p, sel, err := loadSelect(path, names)
	if err != nil {
		return err
	}
	imgs := p.BakeImages(sel)
	var locked []*bake.Image
	for _, img := range imgs {
		if img.Base != nil && img.Base.Mode == bake.BaseLocked && (len(names) == 0 || slices.Contains(names, img.Name)) {
			locked = append(locked, img)
		}
	}
	if len(locked) == 0 {
		return usererr.WithHint(usererr.Usagef("no image to lock: none of the selected images has a base with mode = \"locked\""),
			"add mode = \"locked\" to an image's base block")
	}
	l, err := project.ReadLock(project.LockPath(p.Dir))
	if err != nil {
		return err
	}
	b, _, err := projectBaker(ctx, imgs, &options.Target{Endpoint: o.endpoint}, e, o.logFormat)
	if err != nil {
		return err
	}
	for _, img := range locked {
		if err := lockImage(ctx, b, l, img, o.update); err != nil {
			return err
		}
	}
	return l.Write()
}

// lockImage pins img's base in its primary region in l, unless its pin is
// current and update is false.
func lockImage(ctx context.Context, b *bake.Baker, l *project.Lock, img *bake.Image, update bool) error {
	source := project.BaseSource(img.Base.Query)
	old, ok := l.Images[img.Name]
	region := img.Regions[0]
	if ok && old.Source == source && !update {
		_, err := b.VerifyPin(ctx, img, region, old.Regions[region], l.Path)
		return err
	}
	latest, err := b.LatestBase(ctx, img, region)
	if err != nil {
		return fmt.Errorf("locking %s: %w", img.Name, err)
	}
	prev := old.Regions[region]
	if ok && old.Source == source && prev.ID == latest.ID && prev.Identity() == latest.Identity() {
		b.Log.Info("pin is current", "image", img.Name, "region", region, "ami", latest.ID)
		return nil
	}
	l.Images[img.Name] = project.LockedBase{Source: source, Regions: map[string]images.Base{region: latest}}
	b.Log.Info(fmt.Sprintf("pinned %s in %s: %s (%s)", img.Name, region, latest.Name, latest.ID), "was", prev.ID)
	return nil
}

// runLockSingle pins the base of the --base-* flags for one template, in
// the lock file beside it, as withBase reads it.
func runLockSingle(ctx context.Context, o *lockOptions, names []string, e *env) error {
	if o.def.Template == "" {
		return usererr.WithHint(usererr.Usagef("nothing to lock: no project file and no template"),
			"run it where bakery.hcl is, give --config, or give --template with the --base-* flags")
	}
	if len(names) > 0 {
		return usererr.WithHint(usererr.Usagef("image names (%s) are for a project; with --template there is one image", strings.Join(names, " ")),
			"remove the names, or give --config")
	}
	o.def.Algorithm = "v2"
	if err := o.def.Validate(); err != nil {
		return err
	}
	base, err := o.base.Validate()
	if err != nil {
		return err
	}
	if base == nil || base.Mode != bake.BaseLocked {
		return usererr.WithHint(usererr.Usagef("nothing to lock: the template's base is not declared with --base-mode locked"),
			"give the --base-* flags and --base-mode locked (or AMI_BAKERY_BASE_MODE=locked), as for plan and bake")
	}
	target := options.Target{Region: o.region, Endpoint: o.endpoint, TagKey: options.DefaultTagKey, By: "tag"}
	if err := target.Validate(); err != nil {
		return err
	}
	img := &bake.Image{Name: singleName(o.def.Template), Base: base, Regions: target.AllRegions()}
	b, _, err := projectBaker(ctx, []*bake.Image{img}, &target, e, o.logFormat)
	if err != nil {
		return err
	}
	l, err := project.ReadLock(project.LockPath(o.def.TemplateDir()))
	if err != nil {
		return err
	}
	if err := lockImage(ctx, b, l, img, o.update); err != nil {
		return err
	}
	return l.Write()
}
