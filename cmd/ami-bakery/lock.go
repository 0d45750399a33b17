package main

import (
	"context"
	"fmt"
	"slices"

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
				return usererr.WithHint(usererr.Usagef("no project file: lock pins the bases of a project's images"),
					"run it where bakery.hcl is, or give --config")
			}
			return runLock(cmd.Context(), &o, path, args, e)
		},
	}
	fs := cmd.Flags()
	o.proj.AddFlags(fs)
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
		source := project.BaseSource(img.Base.Query)
		old, ok := l.Images[img.Name]
		if ok && old.Source == source && !o.update {
			continue
		}
		region := img.Regions[0]
		latest, err := b.LatestBase(ctx, img, region)
		if err != nil {
			return fmt.Errorf("locking %s: %w", img.Name, err)
		}
		prev := old.Regions[region]
		if ok && old.Source == source && prev.ID == latest.ID {
			b.Log.Info("pin is current", "image", img.Name, "region", region, "ami", latest.ID)
			continue
		}
		l.Images[img.Name] = project.LockedBase{Source: source, Regions: map[string]images.Base{region: latest}}
		b.Log.Info(fmt.Sprintf("pinned %s in %s: %s (%s)", img.Name, region, latest.Name, latest.ID), "was", prev.ID)
	}
	return l.Write()
}
