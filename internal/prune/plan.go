package prune

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// AMI is one candidate and what the plan does with it.
type AMI struct {
	Region       string    `json:"region"`
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Project      string    `json:"project,omitempty"`
	Image        string    `json:"image"`
	Variant      string    `json:"variant,omitempty"`
	Fingerprint  string    `json:"fingerprint"`
	Created      time.Time `json:"created"`
	LastLaunched time.Time `json:"last_launched,omitzero"`
	Decision     Decision  `json:"decision"`
	Reasons      []string  `json:"reasons"`
	Snapshots    []string  `json:"snapshots,omitempty"`

	parent  string
	lineage string // Current.key
	inputs  string // its ami-bakery:inputs tag, copied onto its snapshots
}

// Snapshot is an orphaned snapshot a crashed run left: tagged with the
// AMI it came from, which no longer exists, and with that AMI's identity,
// which places it in one of the lineages.
type Snapshot struct {
	Region string `json:"region"`
	ID     string `json:"id"`
	From   string `json:"from"`

	lineage string
}

// Plan is everything a prune will do; the dry run prints it.
type Plan struct {
	Mode    Mode       `json:"mode"`
	AMIs    []AMI      `json:"amis"`
	Orphans []Snapshot `json:"orphaned_snapshots"`
	// Untagged counts the AMIs of the images that lack the project or the
	// inputs tag, left alone without AdoptUntagged.
	Untagged int `json:"untagged_left_alone"`
	// users are, per region and snapshot, the AMIs that use it: a
	// snapshot is deleted only when every one of them was deleted.
	users   map[string]map[string][]string
	current map[string]Current // by Current.key
	opts    Options
}

// Changes counts the AMIs the plan changes.
func (p *Plan) Changes() int {
	n := 0
	for _, a := range p.AMIs {
		if a.Decision != Keep {
			n++
		}
	}
	return n
}

// PlanPrune reads the candidates and their references in every region and
// decides. It changes nothing; any read error fails it. Regions are planned
// at once, regionsAtOnce at a time; the plan lists them in the order given.
func PlanPrune(ctx context.Context, c Clients, o Options) (*Plan, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	p := &Plan{Mode: o.Mode, users: map[string]map[string][]string{}, current: map[string]Current{}, opts: o}
	for _, img := range o.Images {
		p.current[img.key()] = img
	}
	plans := make([]*regionPlan, len(o.Regions))
	errs := make([]error, len(o.Regions))
	sem := make(chan struct{}, regionsAtOnce)
	var wg sync.WaitGroup
	for i, region := range o.Regions {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			plans[i], errs[i] = p.planRegion(ctx, c, region)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// In the order of the regions given, whatever order they ended in.
	for i, rp := range plans {
		p.AMIs = append(p.AMIs, rp.amis...)
		p.Orphans = append(p.Orphans, rp.orphans...)
		p.Untagged += rp.untagged
		p.users[o.Regions[i]] = rp.users
	}
	return p, nil
}

// regionsAtOnce is how many regions are planned at once.
const regionsAtOnce = 4

// regionPlan is what planning one region decided.
type regionPlan struct {
	amis     []AMI
	orphans  []Snapshot
	users    map[string][]string // snapshot -> the AMIs using it
	untagged int
}

func (p *Plan) planRegion(ctx context.Context, c Clients, region string) (*regionPlan, error) {
	e := c.EC2(region)
	all, err := ownedImages(ctx, e)
	if err != nil {
		return nil, fmt.Errorf("listing own images in %s: %w", region, err)
	}
	r, err := readRefs(ctx, c, region, p.opts.sources())
	if err != nil {
		return nil, err
	}
	rp := &regionPlan{users: map[string][]string{}}
	byLineage := map[string][]AMI{}
	exists := map[string]bool{}
	parents := map[string]string{}
	for _, im := range all {
		id := aws.ToString(im.ImageId)
		exists[id] = true
		parents[id] = tagMap(im.Tags)[TagParentAMI]
		for _, s := range snapshotsOf(im) {
			rp.users[s] = append(rp.users[s], id)
		}
		a, ok, untagged := p.candidate(region, im)
		if untagged {
			rp.untagged++
		}
		if !ok {
			continue
		}
		p.decide(&a, im, r[a.ID])
		byLineage[a.lineage] = append(byLineage[a.lineage], a)
	}
	for _, l := range slices.Sorted(maps.Keys(byLineage)) {
		amis := byLineage[l]
		slices.SortFunc(amis, func(x, y AMI) int { return cmp.Or(y.Created.Compare(x.Created), cmp.Compare(x.ID, y.ID)) })
		for i := range amis {
			if i < p.opts.Keep {
				keep(&amis[i], fmt.Sprintf("one of the newest %d", p.opts.Keep))
			}
		}
		rp.amis = append(rp.amis, amis...)
	}
	keepAncestors(rp.amis, parents)
	if err := p.checkShared(ctx, e, rp.amis); err != nil {
		return nil, fmt.Errorf("reading sharing in %s: %w", region, err)
	}
	keepAncestors(rp.amis, parents)
	if rp.orphans, err = p.orphanSnapshots(ctx, e, region, exists, rp.users); err != nil {
		return nil, fmt.Errorf("reading orphaned snapshots in %s: %w", region, err)
	}
	return rp, nil
}

// candidate tells whether im belongs to one of the lineages, and so may
// be pruned; untagged, whether it was left alone for lacking the project
// or inputs tag.
func (p *Plan) candidate(region string, im types.Image) (a AMI, ok, untagged bool) {
	tags := tagMap(im.Tags)
	cur, ok, untagged := p.lineage(tags)
	if !ok {
		return AMI{}, false, untagged
	}
	a = AMI{
		Region: region, ID: aws.ToString(im.ImageId), Name: aws.ToString(im.Name),
		Project: cur.Project, Image: cur.Name, Variant: cur.Variant,
		Fingerprint: tags[cur.TagKey], Created: parseTime(aws.ToString(im.CreationDate)),
		LastLaunched: parseTime(aws.ToString(im.LastLaunchedTime)), Snapshots: snapshotsOf(im),
		parent: tags[TagParentAMI], lineage: cur.key(), inputs: tags[TagInputs], Decision: p.opts.Mode.decision(),
	}
	if after := tags[TagPruneAfter]; after != "" {
		a.Reasons = append(a.Reasons, "prune-after "+after)
	}
	return a, true, false
}

// lineage finds the one lineage an AMI's tags place it in. The image tag
// is required. A project tag or a variant (the inputs tag) that differs
// from the lineage's rules it out; one that is missing does too, unless
// AdoptUntagged, when it matches any (untagged reports that case). An AMI
// that two lineages could claim is left alone.
func (p *Plan) lineage(tags map[string]string) (cur Current, ok, untagged bool) {
	name := tags[TagImage]
	if name == "" {
		return Current{}, false, false
	}
	project, hasProject := tags[TagProject]
	hasProject = hasProject && project != ""
	variant, hasVariant := bake.VariantOfTags(tags)
	var found []Current
	for _, c := range p.opts.Images {
		if c.Name != name || hasProject && c.Project != project || hasVariant && c.Variant != variant {
			continue
		}
		found = append(found, c)
	}
	if len(found) == 0 {
		return Current{}, false, false
	}
	if !hasProject || !hasVariant {
		if !p.opts.AdoptUntagged {
			return Current{}, false, true
		}
	}
	if len(found) > 1 {
		return Current{}, false, false
	}
	return found[0], true, false
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func (m Mode) decision() Decision {
	switch m {
	case ModeDisable:
		return Disable
	case ModeDelete:
		return Delete
	}
	return Deprecate
}

// keep marks a kept, with why.
func keep(a *AMI, why string) {
	if a.Decision != Keep {
		a.Decision, a.Reasons = Keep, nil
	}
	a.Reasons = append(a.Reasons, why)
}

// decide applies the rules that need no more calls.
func (p *Plan) decide(a *AMI, im types.Image, used []string) {
	o := p.opts
	// Current as bake's lookup would find it, whatever the AMI's state.
	if cur := p.current[a.lineage]; bake.IsCurrent(a.Name, tagMap(im.Tags), cur.TagKey, cur.Fingerprint) {
		keep(a, "current fingerprint")
	}
	if im.State == types.ImageStatePending {
		keep(a, "pending (being built or copied)")
	}
	if o.Now.Sub(a.Created) < o.MinAge {
		keep(a, "created within --min-age")
	}
	if !a.LastLaunched.IsZero() && o.Now.Sub(a.LastLaunched) < o.MinAge {
		keep(a, "launched within --min-age")
	}
	for _, u := range used {
		keep(a, "used by "+u)
	}
	if d := aws.ToString(im.DeregistrationProtection); d != "" && d != "disabled" {
		keep(a, "deregistration protection "+d)
	}
	if aws.ToBool(im.Public) && !o.IncludeShared {
		keep(a, "public (use elsewhere is invisible; --include-shared prunes it)")
	}
	if a.Decision == Keep {
		return
	}
	p.lifecycle(a, im)
	// EC2 neither deprecates nor disables a failed AMI; only deleting
	// removes it.
	if im.State == types.ImageStateFailed && a.Decision != Delete {
		keep(a, "failed (only --mode delete removes it)")
	}
}

// lifecycle turns a deprecation into a deletion once its prune-after date
// has passed, and keeps an AMI already deprecated or disabled until then.
func (p *Plan) lifecycle(a *AMI, im types.Image) {
	after := ""
	for _, t := range im.Tags {
		if aws.ToString(t.Key) == TagPruneAfter {
			after = aws.ToString(t.Value)
		}
	}
	if after == "" {
		if im.State == types.ImageStateDisabled && a.Decision == Disable {
			keep(a, "already disabled")
		}
		return
	}
	due, err := time.Parse(time.RFC3339, after)
	switch {
	case err != nil:
		keep(a, fmt.Sprintf("unreadable %s tag %q", TagPruneAfter, after))
	case p.opts.Now.Before(due):
		keep(a, "retired; deletable after "+after)
	default:
		a.Decision, a.Reasons = Delete, []string{"unused and past its prune-after date " + after}
	}
}

// sharedReads is how many sharing attributes are read at once: EC2 has
// no call that lists them for many AMIs or snapshots.
const sharedReads = 8

// A sharing check tells why a must be kept for a use the account cannot
// see, or "". It reads one attribute per call, so it runs only on the AMIs
// still to be changed.
type sharingCheck func(ctx context.Context, e EC2, a *AMI) (string, error)

// sharingChecks are read unless IncludeShared.
var sharingChecks = []sharingCheck{launchShared, snapshotsShared}

// launchShared: an AMI with a launch permission for another account, an
// organization or everyone.
func launchShared(ctx context.Context, e EC2, a *AMI) (string, error) {
	out, err := e.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(a.ID), Attribute: types.ImageAttributeNameLaunchPermission,
	})
	switch {
	case err != nil:
		return "", fmt.Errorf("describing the launch permissions of %s: %w", a.ID, err)
	case len(out.LaunchPermissions) > 0:
		return "shared with another account (use there is invisible; --include-shared prunes it)", nil
	}
	return "", nil
}

// snapshotsShared: an AMI one of whose snapshots another account may make
// volumes from (deleting the AMI would delete the snapshot).
func snapshotsShared(ctx context.Context, e EC2, a *AMI) (string, error) {
	for _, s := range a.Snapshots {
		shared, err := snapshotShared(ctx, e, s)
		if err != nil {
			return "", err
		}
		if shared {
			return fmt.Sprintf("snapshot %s shared with another account (use there is invisible; --include-shared prunes it)", s), nil
		}
	}
	return "", nil
}

func snapshotShared(ctx context.Context, e EC2, id string) (bool, error) {
	out, err := e.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
		SnapshotId: aws.String(id), Attribute: types.SnapshotAttributeNameCreateVolumePermission,
	})
	if err != nil {
		return false, fmt.Errorf("describing the create-volume permissions of %s: %w", id, err)
	}
	return len(out.CreateVolumePermissions) > 0, nil
}

// checkShared keeps the AMIs still to be changed that are shared with
// another account, or whose snapshots are: their use there is invisible.
func (p *Plan) checkShared(ctx context.Context, e EC2, amis []AMI) error {
	if p.opts.IncludeShared {
		return nil
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, sharedReads)
	errs := make([]error, len(amis))
	for i := range amis {
		if amis[i].Decision == Keep {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, check := range sharingChecks {
				why, err := check(ctx, e, &amis[i])
				if err != nil {
					errs[i] = err
					return
				}
				if why != "" {
					keep(&amis[i], why)
					return
				}
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// keepAncestors keeps every ancestor of an AMI that stays, transitively:
// parents maps every own AMI of the region to its ami-bakery:parent-ami,
// and an AMI stays unless it is one of amis not kept. So the parent of
// another lineage's AMI, or of an image not being pruned, is kept too.
func keepAncestors(amis []AMI, parents map[string]string) {
	index := map[string]int{}
	for i, a := range amis {
		index[a.ID] = i
	}
	stays := func(id string) bool {
		i, ok := index[id]
		return !ok || amis[i].Decision == Keep
	}
	var queue []string
	for _, id := range slices.Sorted(maps.Keys(parents)) {
		if stays(id) {
			queue = append(queue, id)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		child := queue[0]
		queue = queue[1:]
		parent := parents[child]
		if parent == "" || seen[parent] {
			continue
		}
		seen[parent] = true
		if i, ok := index[parent]; ok && amis[i].Decision != Keep {
			keep(&amis[i], "parent of kept "+child)
		}
		queue = append(queue, parent)
	}
}

func ownedImages(ctx context.Context, e EC2) ([]types.Image, error) {
	var all []types.Image
	pg := ec2.NewDescribeImagesPaginator(e, &ec2.DescribeImagesInput{
		Owners: []string{"self"}, IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true), MaxResults: aws.Int32(1000),
	})
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		all = append(all, out.Images...)
	}
	return all, nil
}

// orphanSnapshots finds the snapshots a crashed delete of one of the
// lineages' AMIs left: tagged ami-bakery:pruned-from with an AMI that no
// longer exists, and with identity tags that place them in a lineage (a
// snapshot tagged by an older prune, without them, is left alone); none
// that an AMI uses, nor, unless IncludeShared, one shared with another
// account.
func (p *Plan) orphanSnapshots(ctx context.Context, e EC2, region string, exists map[string]bool, users map[string][]string) ([]Snapshot, error) {
	var out []Snapshot
	pg := ec2.NewDescribeSnapshotsPaginator(e, &ec2.DescribeSnapshotsInput{
		OwnerIds: []string{"self"}, Filters: []types.Filter{{Name: aws.String("tag-key"), Values: []string{TagPrunedFrom}}},
	})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, s := range page.Snapshots {
			id, tags := aws.ToString(s.SnapshotId), tagMap(s.Tags)
			from := tags[TagPrunedFrom]
			cur, ours, _ := p.lineage(tags)
			if !ours || from == "" || exists[from] || len(users[id]) > 0 {
				continue
			}
			if !p.opts.IncludeShared {
				shared, err := snapshotShared(ctx, e, id)
				if err != nil {
					return nil, err
				}
				if shared {
					continue
				}
			}
			out = append(out, Snapshot{Region: region, ID: id, From: from, lineage: cur.key()})
		}
	}
	return out, nil
}

func snapshotsOf(im types.Image) []string {
	var out []string
	for _, b := range im.BlockDeviceMappings {
		if b.Ebs != nil && b.Ebs.SnapshotId != nil {
			out = append(out, *b.Ebs.SnapshotId)
		}
	}
	return out
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339, s)
	return t
}
