package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/channel"
	"github.com/ami-bakery/ami-bakery/internal/project"
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
	if err := o.out.Validate(); err != nil {
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
			return runPrune(cmd.Context(), cmd, &o, po, args, e)
		},
	}
	o.addFlags(cmd.Flags())
	cmd.Flags().SortFlags = false
	return cmd
}

// runPrune prunes the AMIs of the selected images (a single template's
// is a one-image project), each role's in its own account: the images of
// one role are planned, printed and pruned together.
func runPrune(ctx context.Context, cmd *cobra.Command, o *pruneOptions, po prune.Options, names []string, e *env) error {
	ws, err := o.load(cmd.Flags(), names)
	if err != nil {
		return err
	}
	for i, img := range ws.imgs {
		if img.Build != "" {
			// Safety first: prune's current AMI is one per image.
			return usererr.WithHint(usererr.Usagef("image %s builds several AMIs (build %s among them): prune keeps one current AMI per image", ws.sel[i].Name, img.Build),
				"prune one build at a time with --only BUILD (project: only)")
		}
	}
	log := newLogger(e.stderr, o.out.LogFormat)
	if len(o.ssmPaths) > 0 {
		log.Warn("--ssm-path is deprecated and ignored: prune reads every SSM parameter of the account, whatever its name")
	}
	project := ws.project.Identity(ctx)
	if project == "" && o.apply && !o.adoptUntagged {
		return usererr.WithHint(usererr.Usagef("prune --apply needs the project's identity to tell its AMIs from others' of the same image name: no project attribute, no --project, and no git remote"),
			"name the project (project = \"NAME\" in bakery.hcl, or --project NAME, as bake was given), or run in the git clone bake ran in")
	}
	s, err := openSession(ctx, o.target.Endpoint, log, ws)
	if err != nil {
		return err
	}
	// A base is part of the fingerprint: resolve it as plan does, or the
	// current AMI would not be recognised as current.
	b := s.baker()
	if err := b.ResolveBases(ctx, ws.imgs); err != nil {
		return err
	}
	fps, err := bake.Fingerprints(ctx, ws.imgs)
	if err != nil {
		return err
	}
	for _, role := range ws.roles() {
		ro := po
		ro.Images, ro.Regions = nil, nil
		for i, img := range ws.imgs {
			if img.RoleARN != role {
				continue
			}
			ro.Images = append(ro.Images, prune.Current{Name: img.Name, Project: project, Variant: bake.Variant(fps[i]), Fingerprint: fps[i].Sum, TagKey: img.TagKey})
			for _, r := range img.Regions {
				if !slices.Contains(ro.Regions, r) {
					ro.Regions = append(ro.Regions, r)
				}
			}
		}
		if len(ws.project.Channels) > 0 {
			if project == "" {
				return usererr.WithHint(usererr.Usagef("prune needs the project's identity to read its channels' parameters (/ami-bakery/PROJECT/...)"),
					"name the project (project = \"NAME\" in bakery.hcl, or --project NAME)")
			}
			ro.Sources = append(slices.Clone(prune.DefaultSources), channelSource(s, role, ws.project, project))
		}
		if err := o.pruneRole(ctx, s, role, ro, log, e); err != nil {
			return err
		}
	}
	return nil
}

// pruneRole plans the prune of one role's images, prints it and, with
// --apply, carries it out.
func (o *pruneOptions) pruneRole(ctx context.Context, s *session, role string, po prune.Options, log *slog.Logger, e *env) error {
	c := s.pruneClients(role)
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
	res, err := prune.Execute(ctx, c, plan, prune.ExecOptions{Lock: s.locker(role, nil), MaxDeletions: o.maxDeletions, Log: log})
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

// channelSource is prune's reference kind for the project's channels: in
// each, the head and the channel's keep promotions before it (every image
// of the role in the region, selected or not).
func channelSource(s *session, role string, p *project.Project, id string) prune.Source {
	f := s.aws.For(role)
	return prune.Source{Kind: "channels", Read: func(ctx context.Context, _ prune.Clients, region string, use func(ami, why string)) error {
		for _, img := range p.Images {
			if img.RoleARN != role || !slices.Contains(img.Regions, region) {
				continue
			}
			for _, ch := range p.Channels {
				h, err := channel.Read(ctx, f.SSM(region), ch.Param(id, img.Name))
				if err != nil {
					return err
				}
				for i, v := range h.Kept(ch.Keep) {
					why := fmt.Sprintf("channel %s of image %s (%s)", ch.Name, img.Name, h.Param)
					if i > 0 {
						why = fmt.Sprintf("channel %s of image %s (%s, version %d, a rollback target)", ch.Name, img.Name, h.Param, v.Number)
					}
					use(v.AMI, why)
				}
			}
		}
		return nil
	}}
}
