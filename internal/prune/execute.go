package prune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"
)

// Locker takes the build lock of an image's fingerprint in a region
// (buildlock.Locker), so a prune never races a bake of the same image.
type Locker interface {
	Acquire(ctx context.Context, region, fingerprint string) (func(context.Context) error, error)
}

// ExecOptions say how Execute acts.
type ExecOptions struct {
	// Lock is required: Execute acts only under the build lock of every
	// lineage it changes.
	Lock Locker
	// MaxDeletions caps the changes of one run: every deprecation,
	// disabling, deregistration and snapshot deletion counts one.
	MaxDeletions int
	Log          *slog.Logger
}

// Result is what Execute did.
type Result struct {
	Changed   []AMI // acted on as planned
	Skipped   []AMI // became used, shared or an ancestor since the plan: left alone
	Remaining []AMI // left for a later run by the cap
	Snapshots []string
	// Orphans are the orphaned snapshots the cap left for a later run.
	Orphans []Snapshot
	// Acts counts the changes made, as the cap counts them.
	Acts int
}

// ErrCap is returned when MaxDeletions stopped the run.
var ErrCap = errors.New("the --max-deletions cap was reached")

// Execute does what the plan says and nothing else. In each region it takes
// the build lock of every lineage it changes, re-reads the references, the
// AMIs and their parents, and leaves alone an AMI that became used, shared
// or the ancestor of one that stays.
func Execute(ctx context.Context, c Clients, p *Plan, o ExecOptions) (*Result, error) {
	if o.Lock == nil {
		return nil, errors.New("executing a prune: no build lock given (a prune must not race a bake)")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	x := &execution{p: p, o: o, res: &Result{}, budget: o.MaxDeletions}
	for _, region := range p.opts.Regions {
		if err := x.region(ctx, c, region); err != nil {
			return x.res, err
		}
	}
	if n := len(x.res.Remaining) + len(x.res.Orphans); n > 0 {
		return x.res, fmt.Errorf("%w (%d changes): %d AMIs remain to %s, %d orphaned snapshots to delete",
			ErrCap, o.MaxDeletions, len(x.res.Remaining), p.Mode, len(x.res.Orphans))
	}
	return x.res, nil
}

// execution is one Execute: the plan, the result so far and what is left
// of the cap.
type execution struct {
	p      *Plan
	o      ExecOptions
	res    *Result
	budget int
}

// spend takes n changes from the cap, or reports that they do not fit.
func (x *execution) spend(n int) bool {
	if n > x.budget {
		return false
	}
	x.budget -= n
	x.res.Acts += n
	return true
}

func (x *execution) region(ctx context.Context, c Clients, region string) (err error) {
	p := x.p
	var todo []AMI
	for _, a := range p.AMIs {
		if a.Region == region && a.Decision != Keep {
			todo = append(todo, a)
		}
	}
	var orphans []Snapshot
	for _, s := range p.Orphans {
		if s.Region == region {
			orphans = append(orphans, s)
		}
	}
	if len(todo) == 0 && len(orphans) == 0 {
		return nil
	}
	// The oldest go first, so that a cap leaves the newest.
	slices.SortStableFunc(todo, func(a, b AMI) int { return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID)) })
	var lineages []string
	for _, a := range todo {
		lineages = append(lineages, a.lineage)
	}
	for _, s := range orphans {
		lineages = append(lineages, s.lineage)
	}
	release, err := p.lockLineages(ctx, region, lineages, x.o.Lock)
	defer func() {
		if rerr := release(context.WithoutCancel(ctx)); err == nil {
			err = rerr
		}
	}()
	if err != nil {
		return err
	}
	now, err := p.reread(ctx, c, region, todo)
	if err != nil {
		return fmt.Errorf("re-reading before acting (nothing more was changed): %w", err)
	}
	e := c.EC2(region)
	deleted := map[string]bool{}
	for _, a := range todo {
		if why := now.why(a); len(why) > 0 {
			a.Reasons = why
			x.o.Log.Warn("no longer unused: left alone", "ami", a.ID, "region", region, "why", why)
			x.res.Skipped = append(x.res.Skipped, a)
			continue
		}
		snaps := x.freeSnapshots(a, now.users, deleted)
		cost := 1
		if a.Decision == Delete {
			cost += len(snaps)
		}
		if !x.spend(cost) {
			x.res.Remaining = append(x.res.Remaining, a)
			continue
		}
		if err := x.act(ctx, e, a, snaps); err != nil {
			return err
		}
		if a.Decision == Delete {
			deleted[a.ID] = true
		}
		x.res.Changed = append(x.res.Changed, a)
	}
	return x.deleteOrphans(ctx, e, orphans, now.users)
}

// lockLineages takes the build lock of each lineage's current fingerprint;
// the release function releases every lock taken, also after an error.
func (p *Plan) lockLineages(ctx context.Context, region string, lineages []string, l Locker) (func(context.Context) error, error) {
	var releases []func(context.Context) error
	release := func(ctx context.Context) error {
		var errs []error
		for _, r := range releases {
			errs = append(errs, r(ctx))
		}
		return errors.Join(errs...)
	}
	slices.Sort(lineages)
	for _, key := range slices.Compact(lineages) {
		cur := p.current[key]
		r, err := l.Acquire(ctx, region, cur.Fingerprint)
		if err != nil {
			return release, fmt.Errorf("taking the build lock of %s in %s: %w", cur.Name, region, err)
		}
		releases = append(releases, r)
	}
	return release, nil
}

// fresh is what Execute reads again under the lock, right before acting.
type fresh struct {
	refs refs
	// ancestors are the AMIs to change that became the ancestor of an AMI
	// that stays, with why.
	ancestors map[string]string
	users     map[string][]string // snapshot -> the AMIs using it now
	shared    map[string]string   // AMI -> why it is shared now
	gone      map[string]bool     // AMIs to change that no longer exist
}

// why tells why a must now be left alone, or nothing.
func (f *fresh) why(a AMI) []string {
	var out []string
	for _, u := range f.refs[a.ID] {
		out = append(out, "used by "+u)
	}
	if why := f.ancestors[a.ID]; why != "" {
		out = append(out, why)
	}
	if why := f.shared[a.ID]; why != "" {
		out = append(out, why)
	}
	if f.gone[a.ID] {
		out = append(out, "no longer exists")
	}
	return out
}

// reread reads again, in region: every reference, the own AMIs (for the
// parents and the snapshots they use) and the sharing of the AMIs to
// change.
func (p *Plan) reread(ctx context.Context, c Clients, region string, todo []AMI) (*fresh, error) {
	r, err := readRefs(ctx, c, region, p.opts.sources())
	if err != nil {
		return nil, err
	}
	e := c.EC2(region)
	all, err := ownedImages(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("listing own images in %s: %w", region, err)
	}
	f := &fresh{refs: r, ancestors: map[string]string{}, users: map[string][]string{}, shared: map[string]string{}, gone: map[string]bool{}}
	parents := map[string]string{}
	for _, im := range all {
		id := aws.ToString(im.ImageId)
		parents[id] = tagMap(im.Tags)[TagParentAMI]
		for _, s := range snapshotsOf(im) {
			f.users[s] = append(f.users[s], id)
		}
	}
	// The AMIs to change, as the plan left them, that still exist.
	var amis []AMI
	for _, a := range todo {
		if _, ok := parents[a.ID]; !ok {
			f.gone[a.ID] = true
			continue
		}
		a.Reasons = nil
		amis = append(amis, a)
	}
	keepAncestors(amis, parents)
	var check []AMI
	for _, a := range amis {
		if a.Decision == Keep {
			f.ancestors[a.ID] = a.Reasons[0]
		} else {
			check = append(check, a)
		}
	}
	if err := p.checkShared(ctx, e, check); err != nil {
		return nil, fmt.Errorf("reading sharing in %s: %w", region, err)
	}
	for _, a := range check {
		if a.Decision == Keep {
			f.shared[a.ID] = a.Reasons[len(a.Reasons)-1]
		}
	}
	return f, nil
}

// freeSnapshots are a's snapshots no AMI but a (or one deleted in this
// run) uses now.
func (x *execution) freeSnapshots(a AMI, users map[string][]string, deleted map[string]bool) []string {
	var out []string
	for _, s := range a.Snapshots {
		if slices.ContainsFunc(users[s], func(id string) bool { return id != a.ID && !deleted[id] }) {
			x.o.Log.Info("snapshot kept: another AMI uses it", "snapshot", s, "ami", a.ID)
			continue
		}
		out = append(out, s)
	}
	return out
}

func (x *execution) act(ctx context.Context, e EC2, a AMI, snaps []string) error {
	p := x.p
	after := p.opts.Now.Add(p.opts.Grace).UTC().Format(time.RFC3339)
	switch a.Decision {
	case Deprecate:
		// EC2 refuses a deprecation time in the past; two minutes ahead
		// survives its rounding to the minute.
		if _, err := e.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(a.ID), DeprecateAt: aws.Time(p.opts.Now.Add(2 * time.Minute))}); err != nil {
			return fmt.Errorf("deprecating %s in %s: %w", a.ID, a.Region, err)
		}
		return tag(ctx, e, a.ID, map[string]string{TagPruneAfter: after})
	case Disable:
		if _, err := e.DisableImage(ctx, &ec2.DisableImageInput{ImageId: aws.String(a.ID)}); err != nil {
			return fmt.Errorf("disabling %s in %s: %w", a.ID, a.Region, err)
		}
		return tag(ctx, e, a.ID, map[string]string{TagPruneAfter: after})
	case Delete:
		return x.deleteAMI(ctx, e, a, snaps)
	}
	return fmt.Errorf("acting on %s: unknown decision %q", a.ID, a.Decision)
}

// deleteAMI deregisters a and deletes snaps. They are tagged first with
// the AMI and its identity, so that a rerun after a crash between the two
// finds them, and knows them for this lineage's.
func (x *execution) deleteAMI(ctx context.Context, e EC2, a AMI, snaps []string) error {
	mark := map[string]string{TagPrunedFrom: a.ID, TagImage: a.Image}
	if a.Project != "" {
		mark[TagProject] = a.Project
	}
	if a.inputs != "" {
		mark[TagInputs] = a.inputs
	}
	for _, s := range snaps {
		if err := tag(ctx, e, s, mark); err != nil {
			return err
		}
	}
	if _, err := e.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(a.ID)}); err != nil {
		return fmt.Errorf("deregistering %s in %s: %w", a.ID, a.Region, err)
	}
	for _, s := range snaps {
		if err := x.deleteSnapshot(ctx, e, s); err != nil {
			return err
		}
	}
	return nil
}

// deleteOrphans deletes the orphaned snapshots of the plan that no AMI
// uses now and that are not shared now, within the cap.
func (x *execution) deleteOrphans(ctx context.Context, e EC2, orphans []Snapshot, users map[string][]string) error {
	for _, s := range orphans {
		if len(users[s.ID]) > 0 {
			x.o.Log.Info("orphaned snapshot kept: an AMI uses it", "snapshot", s.ID)
			continue
		}
		if !x.p.opts.IncludeShared {
			shared, err := snapshotShared(ctx, e, s.ID)
			if err != nil {
				return err
			}
			if shared {
				x.o.Log.Warn("orphaned snapshot kept: shared with another account", "snapshot", s.ID)
				continue
			}
		}
		if !x.spend(1) {
			x.res.Orphans = append(x.res.Orphans, s)
			continue
		}
		if err := x.deleteSnapshot(ctx, e, s.ID); err != nil {
			return err
		}
	}
	return nil
}

func (x *execution) deleteSnapshot(ctx context.Context, e EC2, id string) error {
	_, err := e.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(id)})
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "InvalidSnapshot.InUse":
		x.o.Log.Info("snapshot kept: in use", "snapshot", id)
		return nil
	case err != nil:
		return fmt.Errorf("deleting snapshot %s: %w", id, err)
	}
	x.res.Snapshots = append(x.res.Snapshots, id)
	return nil
}

func tag(ctx context.Context, e EC2, id string, tags map[string]string) error {
	var ts []types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		ts = append(ts, types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	if _, err := e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ts}); err != nil {
		return fmt.Errorf("tagging %s: %w", id, err)
	}
	return nil
}
