package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/channel"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// channelOptions are the flags promote, rollback and revoke share.
type channelOptions struct {
	imageFlags
	out     options.Output
	dryRun  bool
	timeout time.Duration
	poll    time.Duration
}

func (o *channelOptions) addFlags(fs *pflag.FlagSet) {
	o.proj.AddFlags(fs)
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	o.wire.AddFlags(fs)
	o.out.AddFlags(fs, false)
	fs.BoolVar(&o.dryRun, "dry-run", false, "check everything and print what would be written, changing nothing")
	options.AddPublishTimeout(fs, &o.timeout)
	options.AddPollInterval(fs, &o.poll, 2*time.Second)
	fs.SortFlags = false
}

// channelRun is a project's selected images as channels see them, and the
// session they are read and written through.
type channelRun struct {
	ws   *workset
	s    *session
	imgs []*channel.Image // one per selected image
	log  func(format string, args ...any)
}

// openChannels loads the project and its selected images, refusing a
// project without channels before any AWS call (unless anyProject: a
// single template, or a project without channels, will do). With
// current, each image's current AMI is looked up (PlanAll) and its tests
// fingerprinted.
func (o *channelOptions) openChannels(ctx context.Context, cmd *cobra.Command, names []string, e *env, current, anyProject bool) (*channelRun, error) {
	if err := o.out.Validate(); err != nil {
		return nil, err
	}
	if o.timeout <= 0 || o.poll <= 0 {
		return nil, usererr.Usagef("--publish-timeout and --poll-interval must be positive")
	}
	path, err := o.proj.Path(cmd.Flags(), &o.def)
	if err != nil {
		return nil, err
	}
	if path == "" && !anyProject {
		return nil, usererr.WithHint(usererr.Usagef("%s needs a project file: channels are declared in bakery.hcl", cmd.Name()),
			"declare channel \"NAME\" { ... } blocks in bakery.hcl (see docs/promoting.md) and run without --template")
	}
	ws, err := o.load(cmd.Flags(), names)
	if err != nil {
		return nil, err
	}
	if len(ws.project.Channels) == 0 && !anyProject {
		return nil, usererr.WithHint(usererr.Usagef("the project %s declares no channel", ws.project.Path),
			"add channel \"staging\" {} (and more) to bakery.hcl; see docs/promoting.md")
	}
	id := ws.project.Identity(ctx)
	for _, c := range ws.project.Channels {
		if id == "" && strings.Contains(c.Parameter, "{project}") {
			return nil, usererr.WithHint(usererr.Usagef("channel %s's parameter %s needs the project's name, and the project has none", c.Name, c.Parameter),
				"set project = \"NAME\" in bakery.hcl (or --project), or run in a git clone with an origin remote")
		}
		for i := range ws.sel {
			if err := report.CheckParameterName(c.Param(id, ws.name(i))); err != nil {
				return nil, usererr.Usage(fmt.Errorf("channel %s of image %s: %w", c.Name, ws.name(i), err))
			}
		}
	}
	log := newLogger(e.stderr, o.out.LogFormat)
	s, err := openSession(ctx, o.target.Endpoint, log, ws)
	if err != nil {
		return nil, err
	}
	r := &channelRun{ws: ws, s: s, log: func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }}
	var plans []*bake.Plan
	if current {
		if plans, err = s.baker().PlanAll(ctx, ws.imgs); err != nil {
			return nil, err
		}
	}
	if r.imgs, err = channelImages(ctx, ws, s, plans, id); err != nil {
		return nil, err
	}
	return r, nil
}

// channelImages makes the selected images as channels see them: each
// with its role's clients and trusted accounts, and, given plans, its
// current AMI per region and its tests' fingerprints.
func channelImages(ctx context.Context, ws *workset, s *session, plans []*bake.Plan, id string) ([]*channel.Image, error) {
	var out []*channel.Image
	for i, img := range ws.imgs {
		acct, err := s.account(ctx, img.RoleARN)
		if err != nil {
			return nil, err
		}
		trusted := []string{acct}
		for _, o := range img.Owners {
			if o != "self" && !slices.Contains(trusted, o) {
				trusted = append(trusted, o)
			}
		}
		f := s.aws.For(img.RoleARN)
		name := ws.name(i)
		ci := &channel.Image{
			Name: name, Parent: ws.sel[i].ParentName, Regions: img.Regions, TagKey: img.TagKey, Trusted: trusted,
			Current: map[string]string{}, Tests: map[string]string{},
			Param: func(c *channel.Channel) string { return c.Param(id, name) },
			SSM:   func(region string) channel.SSM { return f.SSM(region) },
			EC2:   func(region string) channel.EC2 { return f.EC2(region) },
		}
		if plans != nil {
			ci.ByName, ci.Fingerprint = img.ByName, plans[i].Fingerprint.Sum
			for _, d := range plans[i].Regions {
				if d.Action == bake.Reuse || d.Action == bake.Revoked { // a revoked one fails its gate
					ci.Current[d.Region] = d.AMI
				}
			}
			for _, t := range ws.sel[i].Tests {
				if ci.Tests[t.Name], err = t.Fingerprint(ctx, ws.project.Dir); err != nil {
					return nil, fmt.Errorf("image %s: test %s: %w", name, t.Name, err)
				}
			}
		}
		out = append(out, ci)
	}
	return out, nil
}

// channelStates is what plan shows of the project's channels, per
// selected image: what each channel holds in each region, and whether
// promote would move it now (the gates, as promote checks them).
func channelStates(ctx context.Context, ws *workset, s *session, plans []*bake.Plan) (map[string][]report.ChannelState, error) {
	if len(ws.project.Channels) == 0 {
		return nil, nil
	}
	id := ws.project.Identity(ctx)
	imgs, err := channelImages(ctx, ws, s, plans, id)
	if err != nil {
		return nil, err
	}
	out := map[string][]report.ChannelState{}
	for _, ch := range ws.project.Channels {
		if id == "" && strings.Contains(ch.Parameter, "{project}") {
			s.log.Warn("channel " + ch.Name + " is not shown: its parameter needs the project's name (project = \"NAME\" in bakery.hcl, or --project)")
			continue
		}
		p, err := channel.PlanPromote(ctx, imgs, ch, ws.project.Channel(ch.From), clock())
		if err != nil {
			return nil, fmt.Errorf("reading channel %s: %w", ch.Name, err)
		}
		for _, img := range imgs {
			for _, region := range img.Regions {
				st := report.ChannelState{Channel: ch.Name, Region: region, Holds: p.Held[img.Name][region], Candidate: p.Candidate(img.Name, region), Gates: p.Gates(img.Name, region)}
				st.Promotable = len(st.Gates) == 0 && st.Candidate != "" && st.Candidate != st.Holds
				out[img.Name] = append(out[img.Name], st)
			}
		}
	}
	return out, nil
}

// channelNamed returns the project's channel of that name, or a usage
// error listing them.
func channelNamed(ws *workset, flag, name string) (*channel.Channel, error) {
	if name == "" {
		return nil, usererr.Usagef("--%s is required: name a channel of the project", flag)
	}
	if c := ws.project.Channel(name); c != nil {
		return c, nil
	}
	var names []string
	for _, c := range ws.project.Channels {
		names = append(names, c.Name)
	}
	return nil, usererr.WithHint(usererr.Usagef("--%s %s: the project declares no such channel", flag, name),
		"the project's channels: %s", strings.Join(names, ", "))
}

func newPromoteCommand(e *env) *cobra.Command {
	var o channelOptions
	var to string
	cmd := &cobra.Command{
		Use:   "promote [IMAGE...] --to CHANNEL",
		Short: "Move each image's channel parameter to its current AMI (or its from channel's), only when every gate holds",
		Long: `promote writes, for each selected image (every image by default) and each
of its regions, the channel's SSM parameter (channel blocks of bakery.hcl;
by default /ami-bakery/PROJECT/IMAGE/CHANNEL, data type aws:ec2:image, each
version labelled fp-FINGERPRINT). The AMI is the image's current one (the
AMI of its current fingerprint, as plan finds it), or, when the channel has
from, the AMI the from channel holds.

Every gate is checked in every region before anything is written: the AMI
is owned by a trusted account, carries the image's fingerprint tag (the
same in every region), is available and neither deprecated, disabled nor
revoked, sat in from for the channel's soak, can be launched by each of
the channel's accounts, and passed each test the channel requires (on the
primary region's AMI, with the test as it is now). A gate that does not
hold is printed, nothing is written, and promote exits 3.

All or nothing: if a write fails, every parameter written by this run is
put back (its previous value written again, or the parameter deleted if
it did not exist). A channel that holds the AMI already is not written: a
rerun writes nothing. stdout has one "IMAGE CHANNEL REGION AMI ACTION"
line per parameter (promoted, unchanged, or with --dry-run would-promote),
or with --json {"moves": [...]}; under GitHub Actions the step summary gets
a table.` + exitHelp,
		Example: `  ami-bakery bake && ami-bakery test && ami-bakery promote --to staging
  ami-bakery promote app --to prod --dry-run`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runPromote(cmd.Context(), cmd, &o, to, args, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&to, "to", "", "the channel to promote to (required)")
	o.addFlags(fs)
	return cmd
}

func runPromote(ctx context.Context, cmd *cobra.Command, o *channelOptions, to string, names []string, e *env) error {
	if to == "" {
		return usererr.Usagef("--to is required: name the channel to promote to")
	}
	r, err := o.openChannels(ctx, cmd, names, e, true, false)
	if err != nil {
		return err
	}
	ch, err := channelNamed(r.ws, "to", to)
	if err != nil {
		return err
	}
	var from *channel.Channel
	if ch.From != "" {
		from = r.ws.project.Channel(ch.From)
	}
	p, err := channel.PlanPromote(ctx, r.imgs, ch, from, clock())
	if err != nil {
		return err
	}
	if len(p.Failures) > 0 {
		for _, f := range p.Failures {
			fmt.Fprintf(e.stderr, "ami-bakery: not promoted: %s\n", f)
		}
		var gates []string
		for _, f := range p.Failures {
			if !slices.Contains(gates, f.Gate) {
				gates = append(gates, f.Gate)
			}
		}
		return usererr.Gate(fmt.Errorf("promoting to %s: %d gates do not hold (%s); nothing was written", ch.Name, len(p.Failures), strings.Join(gates, ", ")))
	}
	return r.apply(ctx, o, p.Moves, "promoted", "would-promote", e)
}

// apply writes the moves all or nothing (or, with --dry-run, only says
// what it would write) and prints them.
func (r *channelRun) apply(ctx context.Context, o *channelOptions, moves []*channel.Move, done, would string, e *env) error {
	if !o.dryRun {
		w := &channel.Writer{Timeout: o.timeout, Poll: o.poll, Log: r.log}
		if err := w.Apply(ctx, moves); err != nil {
			return err
		}
	}
	rows := moveRows(moves, done, would, o.dryRun)
	if err := summarize(ctx, rows, o.dryRun, e); err != nil {
		return err
	}
	return report.PrintChannelMoves(e.stdout, rows, o.out.JSON)
}

// summarize appends the moves written to the GitHub step summary, when
// there is one: before stdout, which is written only when it succeeded.
func summarize(ctx context.Context, rows []report.ChannelMove, dryRun bool, e *env) error {
	path, ok := e.getenv("GITHUB_STEP_SUMMARY")
	if !ok || path == "" || dryRun || len(rows) == 0 {
		return nil
	}
	return report.Publish(ctx, []report.Sink{report.ChannelSummary(path, rows)}, &report.Result{})
}

// moveRows are the moves as printed: done when written, would with
// --dry-run, unchanged when the channel held the AMI already.
func moveRows(moves []*channel.Move, done, would string, dryRun bool) []report.ChannelMove {
	rows := make([]report.ChannelMove, 0, len(moves))
	for _, m := range moves {
		row := report.ChannelMove{Image: m.Image, Channel: m.Channel, Region: m.Region, Parameter: m.Param, AMI: m.AMI, Fingerprint: m.Fingerprint, Version: m.Version, Action: done}
		head, ok := m.History.Head()
		if ok {
			row.Was = head.AMI
		}
		switch {
		case m.Noop():
			row.Action, row.Version = "unchanged", head.Number
		case dryRun:
			row.Action = would
		}
		rows = append(rows, row)
	}
	return rows
}

func newRollbackCommand(e *env) *cobra.Command {
	var o channelOptions
	var ch string
	cmd := &cobra.Command{
		Use:   "rollback [IMAGE...] --channel CHANNEL",
		Short: "Move each image's channel back to its previous promoted AMI",
		Long: `rollback writes, for each selected image (every image by default) in each of
its regions, the channel's previous promoted AMI to its parameter: the
promotion before the one the channel holds, skipping every AMI since
deregistered, disabled, deprecated or revoked. A rollback undoes a
promotion: a second rollback goes one further back. A region with nothing
earlier to go back to stops the run before anything is written (exit 3).
All or nothing, as promote.` + exitHelp,
		Example: `  ami-bakery rollback app --channel prod`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runRollback(cmd.Context(), cmd, &o, ch, args, e)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&ch, "channel", "", "the channel to roll back (required)")
	o.addFlags(fs)
	return cmd
}

func runRollback(ctx context.Context, cmd *cobra.Command, o *channelOptions, name string, names []string, e *env) error {
	if name == "" {
		return usererr.Usagef("--channel is required: name the channel to roll back")
	}
	r, err := o.openChannels(ctx, cmd, names, e, false, false)
	if err != nil {
		return err
	}
	ch, err := channelNamed(r.ws, "channel", name)
	if err != nil {
		return err
	}
	var moves []*channel.Move
	for _, img := range r.imgs {
		m, err := channel.PlanRollback(ctx, img, ch, nil, clock())
		if err != nil {
			if errors.Is(err, channel.ErrNothingEarlier) {
				return usererr.Gate(fmt.Errorf("rolling back %s: %w; nothing was written", ch.Name, err))
			}
			return err
		}
		moves = append(moves, m...)
	}
	return r.apply(ctx, o, moves, "rolled-back", "would-roll-back", e)
}
