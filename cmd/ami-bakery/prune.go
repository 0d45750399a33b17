package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/lock"
	"github.com/ami-bakery/ami-bakery/internal/prune"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const pruneHelp = `prune retires the AMIs ami-bakery built that nothing needs any more. It is a
dry run unless --apply is given: it prints, per region, every candidate AMI
(owned by this account, tagged ami-bakery:image with an image of the project
or template and ami-bakery:project with the project, built with the same
variables: the "v" group of its ami-bakery:inputs tag; an AMI without the
project or inputs tag is left alone unless --adopt-untagged) with its image,
fingerprint, creation date, last launch, decision (keep, deprecate, disable
or delete) and every reason. --json prints the same as one object. With
--apply it does what the dry run printed and nothing else, re-reading every
reference, AMI and sharing under the image's build lock right before acting
and leaving alone an AMI that became used, shared or a parent.

Always kept: the current AMIs (those bake would find: the fingerprint tag, or
a name containing the fingerprint, in any state); every ancestor (its
ami-bakery:parent-ami, transitively) of any AMI that stays, of any project;
pending AMIs, and failed ones except with --mode delete; the newest --keep
per image and region; any AMI
created or last launched within --min-age; AMIs used by an instance in any
state but terminated (a stopped one too), any version of a launch template
(resolve:ssm: resolved), an Auto Scaling group (its launch template, its
mixed-instances policy) or a launch configuration, or any SSM parameter of
the account (an AMI id anywhere in its value); AMIs public or shared with
another account, or whose snapshot is (unless --include-shared); AMIs
protected from deregistration.

--mode deprecate (the default) deprecates now and tags ami-bakery:prune-after
(now + --grace); a later run deletes such an AMI once that date has passed, if
it is still unused. --mode disable disables it; --mode delete deletes at once.
Deleting deregisters the AMI and deletes its snapshots, except a snapshot
another AMI uses; a rerun deletes the snapshots a crashed run left behind
(tagged with the AMI and this project's identity, unused and unshared).

Ages (--min-age, --grace) are days (14d) or Go durations (36h, 0s), at most
106751d.

Any error while reading images or references stops prune before the first
change (exit 1). At most --max-deletions changes are made in one run (each
deprecation, disabling, deregistration and snapshot deletion counts one);
past it, prune stops with exit 1 and says how many remain.`

// clock is prune's idea of now, against which ages and prune-after dates
// are measured; the scripts move it with the emulator's (prune_script_test.go).
var clock = time.Now

// pruneOptions are prune's flags.
type pruneOptions struct {
	// imageFlags: a single template's current fingerprint is computed as
	// bake computes it (packer's directory, its base), or its current AMI
	// would not be recognised as current.
	imageFlags
	proj          options.Project
	out           options.Output
	keep          int
	minAge, grace string
	mode          string
	apply         bool
	maxDeletions  int
	includeShared bool
	adoptUntagged bool
	ssmPaths      []string
}

func (o *pruneOptions) addFlags(fs *pflag.FlagSet) {
	o.proj.AddFlags(fs)
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	o.wire.AddFlags(fs)
	o.base.AddFlags(fs)
	o.out.AddFlags(fs, false)
	fs.IntVar(&o.keep, "keep", 3, "keep the newest N AMIs of each image in each region")
	fs.StringVar(&o.minAge, "min-age", "14d", "keep AMIs created or last launched within this age (14d, 36h, 0s)")
	fs.StringVar(&o.mode, "mode", "deprecate", "what happens to an unused AMI: deprecate, disable or delete")
	fs.StringVar(&o.grace, "grace", "7d", "deprecate: how long before a later run deletes the AMI")
	fs.BoolVar(&o.apply, "apply", false, "act; without it prune only prints what it would do")
	fs.IntVar(&o.maxDeletions, "max-deletions", 25, "make at most N changes in one run (each deprecation, disabling, deregistration, snapshot deletion)")
	fs.BoolVar(&o.includeShared, "include-shared", false, "also prune AMIs that are public or shared with other accounts")
	fs.BoolVar(&o.adoptUntagged, "adopt-untagged", false, "take the images' AMIs without the ami-bakery:project or ami-bakery:inputs tag (built before them) for this project's")
	fs.StringSliceVar(&o.ssmPaths, "ssm-path", nil, "ignored (deprecated): every SSM parameter of the account is read")
}

// settings checks the prune flags and turns them into prune.Options.
func (o *pruneOptions) settings() (prune.Options, error) {
	var po prune.Options
	mode := prune.Mode(o.mode)
	if mode != prune.ModeDeprecate && mode != prune.ModeDisable && mode != prune.ModeDelete {
		return po, usererr.WithHint(usererr.Usagef("invalid --mode %q", o.mode), "use deprecate, disable or delete")
	}
	minAge, err := prune.ParseAge(o.minAge)
	if err != nil {
		return po, usererr.Usage(fmt.Errorf("--min-age: %w", err))
	}
	grace, err := prune.ParseAge(o.grace)
	if err != nil {
		return po, usererr.Usage(fmt.Errorf("--grace: %w", err))
	}
	if o.keep < 0 || o.maxDeletions < 0 {
		return po, usererr.Usagef("--keep and --max-deletions cannot be negative")
	}
	if err := o.out.Validate(""); err != nil {
		return po, err
	}
	return prune.Options{
		Keep: o.keep, MinAge: minAge, Grace: grace, Mode: mode,
		IncludeShared: o.includeShared, AdoptUntagged: o.adoptUntagged, Now: clock(),
	}, nil
}

func newPruneCommand(e *env) *cobra.Command {
	var o pruneOptions
	cmd := &cobra.Command{
		Use:   "prune [IMAGE...]",
		Short: "Retire the AMIs nothing uses any more (a dry run unless --apply)",
		Long:  pruneHelp + exitHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			po, err := o.settings()
			if err != nil {
				return err
			}
			return withProject(cmd, args, &o.proj, &o.def,
				func(path string) error {
					if err := o.projectImages(cmd.Context(), path, args, &po, e); err != nil {
						return err
					}
					return runPrune(cmd.Context(), &o, po, e)
				},
				func() error {
					if err := o.templateImage(cmd.Context(), &po, e); err != nil {
						return err
					}
					return runPrune(cmd.Context(), &o, po, e)
				})
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().SortFlags = false
	return cmd
}

// projectImages fills in the images of a project file, their current
// fingerprints and, unless --regions is given, their regions.
func (o *pruneOptions) projectImages(ctx context.Context, path string, names []string, po *prune.Options, e *env) error {
	p, sel, err := loadSelect(path, names)
	if err != nil {
		return err
	}
	imgs := p.BakeImages(sel)
	// A base is part of the fingerprint: resolve it as plan does.
	if err := p.PinBases(imgs); err != nil {
		return err
	}
	b, _, err := projectBaker(ctx, imgs, &o.target, e, o.out.LogFormat)
	if err != nil {
		return err
	}
	if err := b.ResolveBases(ctx, imgs); err != nil {
		return err
	}
	fps, err := bake.Fingerprints(ctx, imgs)
	if err != nil {
		return err
	}
	for i, img := range imgs {
		po.Images = append(po.Images, prune.Current{Name: img.Name, Variant: bake.Variant(fps[i]), Fingerprint: fps[i].Sum, TagKey: img.TagKey})
		for _, r := range img.Regions {
			if !slices.Contains(po.Regions, r) {
				po.Regions = append(po.Regions, r)
			}
		}
	}
	if len(o.target.Regions) > 0 {
		po.Regions = o.target.AllRegions()
	}
	return nil
}

// templateImage fills in the single template's image (named as bake names
// it: the template's file name), its fingerprint and the regions.
func (o *pruneOptions) templateImage(ctx context.Context, po *prune.Options, e *env) error {
	if err := o.imageFlags.validate(); err != nil {
		return err
	}
	b, img, _, err := o.prepare(ctx, e, o.out.LogFormat)
	if err != nil {
		return err
	}
	if err := b.ResolveBases(ctx, []*bake.Image{img}); err != nil {
		return err
	}
	fp, err := fingerprint.Compute(ctx, img.Spec)
	if err != nil {
		return err
	}
	name, err := (&bakeProjectOptions{}).imageName(o.def.Template)
	if err != nil {
		return err
	}
	po.Images = []prune.Current{{Name: name, Variant: bake.Variant(fp), Fingerprint: fp.Sum, TagKey: o.target.TagKey}}
	po.Regions = o.target.AllRegions()
	return nil
}

func runPrune(ctx context.Context, o *pruneOptions, po prune.Options, e *env) error {
	log := newLogger(e.stderr, o.out.LogFormat)
	if len(o.ssmPaths) > 0 {
		log.Warn("--ssm-path is deprecated and ignored: prune reads every SSM parameter of the account, whatever its name")
	}
	f, err := awsclient.New(ctx, awsclient.Options{Endpoint: o.target.Endpoint, RoleARN: o.target.RoleARN, Log: log})
	if err != nil {
		return err
	}
	if err := f.CheckCredentials(ctx); err != nil {
		return err
	}
	c := prune.Clients{
		EC2:         func(r string) prune.EC2 { return f.EC2(r) },
		SSM:         func(r string) prune.SSM { return f.SSM(r) },
		AutoScaling: func(r string) prune.AutoScaling { return f.AutoScaling(r) },
	}
	plan, err := prune.PlanPrune(ctx, c, po)
	if err != nil {
		return fmt.Errorf("planning the prune (nothing was changed): %w", err)
	}
	if err := prune.Print(e.stdout, plan, o.out.JSON); err != nil {
		return err
	}
	if plan.Untagged > 0 {
		log.Warn(fmt.Sprintf("left alone %d AMIs of these images without the %s or %s tag", plan.Untagged, prune.TagProject, prune.TagInputs),
			"hint", "--adopt-untagged takes them for this project's (AMIs built before those tags)")
	}
	n := plan.Changes()
	if !o.apply {
		log.Info(fmt.Sprintf("dry run: %d AMIs and %d orphaned snapshots would change; rerun with --apply to act", n, len(plan.Orphans)))
		if n > o.maxDeletions {
			log.Warn(fmt.Sprintf("--max-deletions %d: an --apply run would stop after %d of %d", o.maxDeletions, o.maxDeletions, n))
		}
		return nil
	}
	locker := &lock.Locker{Clients: func(r string) lock.EC2 { return f.EC2(r) }, Log: log}
	res, err := prune.Execute(ctx, c, plan, prune.ExecOptions{Lock: locker, MaxDeletions: o.maxDeletions, Log: log})
	if res != nil {
		log.Info(fmt.Sprintf("pruned: %d AMIs (%s), %d snapshots deleted, %d left alone as now used",
			len(res.Changed), plan.Mode, len(res.Snapshots), len(res.Skipped)))
		for _, a := range res.Remaining {
			log.Warn("left by the cap", "ami", a.ID, "region", a.Region, "decision", string(a.Decision))
		}
	}
	if errors.Is(err, prune.ErrCap) {
		return usererr.WithHint(fmt.Errorf("pruning: %w", err), "run prune again to continue; raise --max-deletions to do more in one run")
	}
	if err != nil {
		return fmt.Errorf("pruning: %w", err)
	}
	return nil
}
