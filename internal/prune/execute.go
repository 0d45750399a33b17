package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Locker takes the build lock of an image's fingerprint in a region
// (lock.Locker), so a prune never races a bake of the same image.
type Locker interface {
	Acquire(ctx context.Context, region, fingerprint string) (func(context.Context) error, error)
}

// ExecOptions say how Execute acts.
type ExecOptions struct {
	Lock         Locker
	MaxDeletions int // AMIs changed in one run, at most
	Log          *slog.Logger
}

// Result is what Execute did.
type Result struct {
	Changed   []AMI // acted on as planned
	Skipped   []AMI // became used since the plan: left alone
	Remaining []AMI // left for a later run by the cap
	Snapshots []string
}

// ErrCap is returned when MaxDeletions stopped the run.
var ErrCap = errors.New("the --max-deletions cap was reached")

// Execute does what the plan says and nothing else. In each region it takes
// the build lock of every image it changes, re-reads the references and
// leaves alone an AMI that became used.
func Execute(ctx context.Context, c Clients, p *Plan, o ExecOptions) (*Result, error) {
	res := &Result{}
	for _, region := range p.opts.Regions {
		if err := p.executeRegion(ctx, c, region, o, res); err != nil {
			return res, err
		}
	}
	if len(res.Remaining) > 0 {
		return res, fmt.Errorf("%w (%d): %d AMIs remain to %s", ErrCap, o.MaxDeletions, len(res.Remaining), p.Mode)
	}
	return res, nil
}

func (p *Plan) executeRegion(ctx context.Context, c Clients, region string, o ExecOptions, res *Result) (err error) {
	var todo []AMI
	for _, a := range p.AMIs {
		if a.Region == region && a.Decision != Keep {
			todo = append(todo, a)
		}
	}
	// The oldest go first, so that a cap leaves the newest.
	slices.SortStableFunc(todo, func(x, y AMI) int { return x.Created.Compare(y.Created) })
	if len(todo) == 0 && !slices.ContainsFunc(p.Orphans, func(s Snapshot) bool { return s.Region == region }) {
		return nil
	}
	release, err := p.lockImages(ctx, region, todo, o.Lock)
	defer func() {
		if rerr := release(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
	}()
	if err != nil {
		return err
	}
	r, err := readRefs(ctx, c, region, p.opts.sources())
	if err != nil {
		return fmt.Errorf("re-reading references before acting: %w", err)
	}
	e := c.EC2(region)
	deleted := map[string]bool{}
	for _, a := range todo {
		switch {
		case len(r[a.ID]) > 0:
			a.Reasons = append([]string{}, r[a.ID]...)
			o.Log.Warn("now used: left alone", "ami", a.ID, "region", region, "by", r[a.ID])
			res.Skipped = append(res.Skipped, a)
			continue
		case len(res.Changed) >= o.MaxDeletions:
			res.Remaining = append(res.Remaining, a)
			continue
		}
		// Shared since the plan: its use elsewhere is invisible.
		one := []AMI{a}
		if err := p.checkShared(ctx, e, one); err != nil {
			return fmt.Errorf("re-reading launch permissions before acting: %w", err)
		}
		if one[0].Decision == Keep {
			o.Log.Warn("now shared: left alone", "ami", a.ID, "region", region)
			res.Skipped = append(res.Skipped, one[0])
			continue
		}
		if err := p.act(ctx, e, a, deleted, o.Log, res); err != nil {
			return err
		}
		res.Changed = append(res.Changed, a)
	}
	return p.deleteOrphans(ctx, e, region, o.Log, res)
}

// lockImages takes the build lock of each image in amis; the release
// function releases every lock taken, also after an error.
func (p *Plan) lockImages(ctx context.Context, region string, amis []AMI, l Locker) (func(context.Context) error, error) {
	var releases []func(context.Context) error
	release := func(ctx context.Context) error {
		var errs []error
		for _, r := range releases {
			errs = append(errs, r(ctx))
		}
		return errors.Join(errs...)
	}
	seen := map[string]bool{}
	for _, a := range amis {
		if seen[a.lineage] || l == nil {
			continue
		}
		seen[a.lineage] = true
		r, err := l.Acquire(ctx, region, p.current[a.lineage].Fingerprint)
		if err != nil {
			return release, fmt.Errorf("taking the build lock of %s in %s: %w", a.Image, region, err)
		}
		releases = append(releases, r)
	}
	return release, nil
}

func (p *Plan) act(ctx context.Context, e EC2, a AMI, deleted map[string]bool, log *slog.Logger, res *Result) error {
	after := p.opts.Now.Add(p.opts.Grace).UTC().Format(time.RFC3339)
	switch a.Decision {
	case Deprecate:
		// EC2 refuses a deprecation time in the past; two minutes ahead
		// survives its rounding to the minute.
		if _, err := e.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(a.ID), DeprecateAt: aws.Time(p.opts.Now.Add(2 * time.Minute))}); err != nil {
			return fmt.Errorf("deprecating %s in %s: %w", a.ID, a.Region, err)
		}
		return tag(ctx, e, a.ID, TagPruneAfter, after)
	case Disable:
		if _, err := e.DisableImage(ctx, &ec2.DisableImageInput{ImageId: aws.String(a.ID)}); err != nil {
			return fmt.Errorf("disabling %s in %s: %w", a.ID, a.Region, err)
		}
		return tag(ctx, e, a.ID, TagPruneAfter, after)
	case Delete:
		return p.deleteAMI(ctx, e, a, deleted, log, res)
	}
	return fmt.Errorf("acting on %s: unknown decision %q", a.ID, a.Decision)
}

// deleteAMI deregisters a and deletes the snapshots no other AMI uses.
// They are tagged first, so a rerun after a crash between the two finds
// them.
func (p *Plan) deleteAMI(ctx context.Context, e EC2, a AMI, deleted map[string]bool, log *slog.Logger, res *Result) error {
	var snaps []string
	for _, s := range a.Snapshots {
		others := slices.ContainsFunc(p.users[a.Region][s], func(id string) bool { return id != a.ID && !deleted[id] })
		if others {
			log.Info("snapshot kept: another AMI uses it", "snapshot", s, "ami", a.ID)
			continue
		}
		snaps = append(snaps, s)
	}
	for _, s := range snaps {
		if err := tag(ctx, e, s, TagPrunedFrom, a.ID); err != nil {
			return err
		}
	}
	if _, err := e.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(a.ID)}); err != nil {
		return fmt.Errorf("deregistering %s in %s: %w", a.ID, a.Region, err)
	}
	deleted[a.ID] = true
	for _, s := range snaps {
		if err := deleteSnapshot(ctx, e, s, log, res); err != nil {
			return err
		}
	}
	return nil
}

func (p *Plan) deleteOrphans(ctx context.Context, e EC2, region string, log *slog.Logger, res *Result) error {
	for _, s := range p.Orphans {
		if s.Region != region {
			continue
		}
		if len(p.users[region][s.ID]) > 0 {
			log.Info("orphaned snapshot kept: an AMI uses it", "snapshot", s.ID)
			continue
		}
		if err := deleteSnapshot(ctx, e, s.ID, log, res); err != nil {
			return err
		}
	}
	return nil
}

func deleteSnapshot(ctx context.Context, e EC2, id string, log *slog.Logger, res *Result) error {
	_, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "InvalidSnapshot.InUse":
		log.Info("snapshot kept: in use", "snapshot", id)
		return nil
	case err != nil:
		return fmt.Errorf("deleting snapshot %s: %w", id, err)
	}
	res.Snapshots = append(res.Snapshots, id)
	return nil
}

func tag(ctx context.Context, e EC2, id, key, value string) error {
	_, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{{Key: aws.String(key), Value: aws.String(value)}}})
	if err != nil {
		return fmt.Errorf("tagging %s with %s: %w", id, key, err)
	}
	return nil
}
