package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/internal/channel"
	"github.com/ami-bakery/ami-bakery/internal/prune"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

func newRevokeCommand(e *env) *cobra.Command {
	var o channelOptions
	cmd := &cobra.Command{
		Use:   "revoke AMI|FINGERPRINT...",
		Short: "Take a bad AMI back: out of every channel, deprecated and tagged revoked, with its descendants",
		Long: `revoke takes back the AMIs of a definition: an AMI id stands for its
fingerprint, and every AMI of that fingerprint in its image's regions is
revoked, with every AMI built from one of them (ami-bakery:parent-ami), down
the project's images. Each channel (channel blocks of bakery.hcl) holding one
of them goes back to the promotion before it that holds none, all or nothing
as rollback; then each AMI is tagged ami-bakery:revoked and deprecated. A
channel with no such earlier promotion stops revoke before anything changes
(exit 3): promote a good AMI to it first.

A single template (--template), or a project without channels, has no
channels to move: its AMIs are revoked all the same.

bake never reuses a revoked AMI: for its definition it stops with exit 3,
unless --rebuild-revoked. promote and rollback never move a channel to one.

stdout has one "IMAGE CHANNEL REGION AMI rolled-back" line per channel moved
and one "IMAGE REGION AMI revoked" line per AMI (--json: {"moves", "revoked"}).
Where each AMI is still used (instances, launch templates, Auto Scaling, SSM
parameters: the references prune reads) is printed on stderr.
--dry-run changes nothing and says what would be done.` + exitHelp,
		Example: `  ami-bakery revoke ami-0123456789abcdef0
  ami-bakery revoke 3f1c... --dry-run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usererr.WithHint(usererr.Usagef("revoke needs what to revoke: an AMI id or a fingerprint"),
					"ami-bakery revoke ami-0123456789abcdef0, or a fingerprint as plan --json prints it")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runRevoke(cmd.Context(), cmd, &o, args, e)
		},
	}
	o.addFlags(cmd.Flags())
	return cmd
}

func runRevoke(ctx context.Context, cmd *cobra.Command, o *channelOptions, targets []string, e *env) error {
	r, err := o.openChannels(ctx, cmd, nil, e, false, true)
	if err != nil {
		return err
	}
	now := clock()
	rv, err := channel.PlanRevoke(ctx, r.imgs, r.ws.project.Channels, targets, now)
	if err != nil {
		return err
	}
	if len(rv.Failures) > 0 {
		for _, f := range rv.Failures {
			fmt.Fprintf(e.stderr, "ami-bakery: cannot revoke: %s\n", f)
		}
		return usererr.Gate(fmt.Errorf("revoking %s: %d channels have nothing to go back to; nothing was changed", strings.Join(targets, ", "), len(rv.Failures)))
	}
	if !o.dryRun {
		w := &channel.Writer{Timeout: o.timeout, Poll: o.poll, Log: r.log}
		if err := w.Apply(ctx, rv.Moves); err != nil {
			return err
		}
		if err := channel.Revoke(ctx, r.imgs, rv.AMIs, now); err != nil {
			return usererr.WithHint(fmt.Errorf("revoking (the channels were moved): %w", err), "run the same revoke again: what is done already is skipped")
		}
	}
	r.reportUses(ctx, rv.AMIs, e)
	rows := moveRows(rv.Moves, "rolled-back", "would-roll-back", o.dryRun)
	action := "revoked"
	if o.dryRun {
		action = "would-revoke"
	}
	if err := summarize(ctx, rows, o.dryRun, e); err != nil {
		return err
	}
	if o.out.JSON {
		return report.EncodeJSON(e.stdout, struct {
			Moves   []report.ChannelMove `json:"moves"`
			Revoked []channel.Revoked    `json:"revoked"`
			Action  string               `json:"action"`
		}{rows, rv.AMIs, action})
	}
	if err := report.PrintChannelMoves(e.stdout, rows, false); err != nil {
		return err
	}
	for _, a := range rv.AMIs {
		if _, err := fmt.Fprintf(e.stdout, "%s %s %s %s\n", a.Image, a.Region, a.AMI, action); err != nil {
			return err
		}
	}
	return nil
}

// reportUses prints on stderr where each revoked AMI is still used, from
// the references prune reads. A failure to read is a warning: the AMIs
// are revoked either way.
func (r *channelRun) reportUses(ctx context.Context, amis []channel.Revoked, e *env) {
	type key struct{ role, region string }
	done := map[key]map[string][]string{}
	for _, a := range amis {
		i := slices.IndexFunc(r.imgs, func(c *channel.Image) bool { return c.Name == a.Image })
		role := r.ws.imgs[i].RoleARN
		k := key{role, a.Region}
		refs, ok := done[k]
		if !ok {
			var err error
			refs, err = prune.References(ctx, r.s.pruneClients(role), a.Region, nil)
			if err != nil {
				fmt.Fprintf(e.stderr, "ami-bakery: warning: could not read where the revoked AMIs are used in %s: %v\n", a.Region, err)
			}
			done[k] = refs
		}
		for _, why := range refs[a.AMI] {
			fmt.Fprintf(e.stderr, "ami-bakery: %s (%s, image %s) is still used by %s\n", a.AMI, a.Region, a.Image, why)
		}
	}
}
