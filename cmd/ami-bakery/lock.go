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
	imageFlags
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
that are kept are first checked in EC2 (the image exists, is owned by one of
the base's owners, matches its filters and the recorded name, and is not
disabled); a pin that fails is refused (exit 64) until lock --update
replaces it. With --update the named images (all locked
images when none is named) move to the newest match: review the change
and commit it, as a dependency update. plan and bake build on the pins only,
and plan reports a newer base without building it.

With --template (one template, no project) the --base-* flags and
--base-mode locked name the base, and the pin goes to bakery.lock.hcl
beside the template, under the image's name (--name, by default the
template's file name without extension), for its primary region: where
plan and bake read it.

stdout stays empty; what changed is reported on stderr.` + exitHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runLock(cmd.Context(), cmd, &o, args, e)
		},
	}
	fs := cmd.Flags()
	o.proj.AddFlags(fs)
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	o.wire.AddFlags(fs)
	o.base.AddFlags(fs)
	fs.BoolVar(&o.update, "update", false, "move the pins of the named images (default: all locked images) to the newest match")
	fs.StringVar(&o.logFormat, "log-format", "text", "text or json")
	options.BindEnv(fs, "log-format", "AMI_BAKERY_LOG_FORMAT")
	return cmd
}

// runLock pins the locked bases of the selected images (a single
// template's is a one-image project whose lock file is beside it).
func runLock(ctx context.Context, cmd *cobra.Command, o *lockOptions, names []string, e *env) error {
	if err := (&options.Output{LogFormat: o.logFormat}).Validate(); err != nil {
		return err
	}
	path, err := o.proj.Path(cmd.Flags(), &o.def)
	if err != nil {
		return err
	}
	if path == "" && o.def.Template == "" {
		return usererr.WithHint(usererr.Usagef("nothing to lock: no project file and no template"),
			"run it where bakery.hcl is, give --config, or give --template with the --base-* flags")
	}
	ws, err := o.loadUnpinned(cmd, names)
	if err != nil {
		return err
	}
	var locked []*bake.Image
	for _, img := range ws.imgs {
		if img.Base != nil && img.Base.Mode == bake.BaseLocked && (len(names) == 0 || slices.Contains(names, img.Name)) {
			locked = append(locked, img)
		}
	}
	if len(locked) == 0 {
		if ws.project.Single() {
			return usererr.WithHint(usererr.Usagef("nothing to lock: the template's base is not declared with --base-mode locked"),
				"give the --base-* flags and --base-mode locked (or AMI_BAKERY_BASE_MODE=locked), as for plan and bake")
		}
		return usererr.WithHint(usererr.Usagef("no image to lock: none of the selected images has a base with mode = \"locked\""),
			"add mode = \"locked\" to an image's base block")
	}
	l, err := project.ReadPins(project.PinsPath(ws.project.Dir))
	if err != nil {
		return err
	}
	s, err := openSession(ctx, o.target.Endpoint, newLogger(e.stderr, o.logFormat), &workset{project: ws.project, imgs: locked})
	if err != nil {
		return err
	}
	b := s.baker()
	for _, img := range locked {
		if err := lockImage(ctx, b, l, img, o.update); err != nil {
			return err
		}
	}
	return l.Write()
}

// loadUnpinned loads the workset without reading the pins: lock writes
// them. A missing or stale pin is what lock is for.
func (o *lockOptions) loadUnpinned(cmd *cobra.Command, names []string) (*workset, error) {
	o.unpinned = true
	return o.load(cmd.Flags(), names)
}

// lockImage pins img's base in its primary region in l, unless its pin is
// current and update is false.
func lockImage(ctx context.Context, b *bake.Baker, l *project.PinFile, img *bake.Image, update bool) error {
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
	l.Images[img.Name] = project.PinnedBase{Source: source, Regions: map[string]images.Base{region: latest}}
	b.Log.Info(fmt.Sprintf("pinned %s in %s: %s (%s)", img.Name, region, latest.Name, latest.ID), "was", prev.ID)
	return nil
}
