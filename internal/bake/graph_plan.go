package bake

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
)

// Fingerprints fingerprints many images, parents before children: each
// child's Spec.Parent is set to its parent's sum before the child is
// fingerprinted, so a change to a parent changes every descendant. It makes
// no AWS call. imgs must hold every parent before its children (as
// project.Select orders them); independent images are fingerprinted in
// parallel. The results are in the order of imgs.
func Fingerprints(ctx context.Context, imgs []*Image) ([]fingerprint.Result, error) {
	index := make(map[*Image]int, len(imgs))
	for i, img := range imgs {
		if img.Parent != nil {
			if _, ok := index[img.Parent]; !ok && img.Spec.Parent == "" {
				return nil, fmt.Errorf("fingerprinting %s: its parent %s is not listed before it", img.Name, img.Parent.Name)
			}
		}
		index[img] = i
	}
	results := make([]fingerprint.Result, len(imgs))
	errs := make([]error, len(imgs))
	done := make([]chan struct{}, len(imgs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i, img := range imgs {
		wg.Go(func() {
			defer close(done[i])
			if p, listed := index[img.Parent]; img.Parent != nil && listed {
				<-done[p]
				if errs[p] != nil {
					errs[i] = fmt.Errorf("fingerprinting %s: its parent %s failed", img.Name, img.Parent.Name)
					return
				}
				img.Spec.Parent = results[p].Sum
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			res, err := fingerprint.Compute(ctx, img.Spec)
			if err != nil {
				err = fmt.Errorf("fingerprinting image %s: %w", img.Name, err)
			}
			results[i], errs[i] = res, err
		})
	}
	wg.Wait()
	// The first error in order is a root cause; later ones may only say
	// that a parent failed.
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// PlanAll plans many images at once, as Plan does one: it fingerprints them
// all (Fingerprints), looks every fingerprint up with the fewest
// DescribeImages calls EC2 allows (images.FindMany: one call per region,
// role, tag key and owners per 197 fingerprints (images.BatchSize), then one more round by
// name for those the tags did not find, the name guard of find), and
// decides per image and region. It changes nothing. A child whose parent
// needs a build finds nothing (its fingerprint covers the parent's, which
// has no AMI yet) and so needs a build too. Plans are in the order of imgs.
func (b *Baker) PlanAll(ctx context.Context, imgs []*Image) ([]*Plan, error) {
	for _, img := range imgs {
		if len(img.Regions) == 0 {
			return nil, fmt.Errorf("planning %s: no region given", img.Name)
		}
	}
	if err := b.ResolveBases(ctx, imgs); err != nil {
		return nil, err
	}
	fps, err := Fingerprints(ctx, imgs)
	if err != nil {
		return nil, err
	}
	sums := make([]string, len(fps))
	for i, fp := range fps {
		sums[i] = fp.Sum
	}
	matches, err := b.findMany(ctx, imgs, sums)
	if err != nil {
		return nil, err
	}
	plans := make([]*Plan, len(imgs))
	for i, img := range imgs {
		if plans[i], err = b.planOne(ctx, img, fps[i], matches[i]); err != nil {
			if len(imgs) > 1 {
				err = fmt.Errorf("planning %s: %w", img.Name, err)
			}
			return nil, err
		}
	}
	return plans, nil
}

// planOne decides one image's plan from what was found: the decisions,
// a refusal of a build bake would refuse, what each copy will carry, and
// for a build on a base, the base of the image's newest AMI.
func (b *Baker) planOne(ctx context.Context, img *Image, fp fingerprint.Result, matches []images.Match) (*Plan, error) {
	b.imageLog(img).Debug("fingerprint computed", "fingerprint", fp.Sum, "algorithm", string(fp.Algorithm), "inputs", len(fp.Inputs))
	p, err := b.decidePlan(ctx, img, fp, matches)
	if err != nil {
		return nil, err
	}
	if err := b.checkPlanned(img, p); err != nil {
		return nil, err
	}
	if err := b.describeCopies(ctx, img, p.Regions); err != nil {
		return nil, err
	}
	if p.NeedsBuild() {
		b.previousBase(ctx, img, p.Base)
	}
	return p, nil
}

// lookupKey groups the lookups that can share DescribeImages calls: the
// same region, client (role), owners and way of finding.
type lookupKey struct {
	region, role, owners, tagKey string
	byName                       bool
}

func keyFor(img *Image, region string) lookupKey {
	k := lookupKey{region: region, role: img.RoleARN, owners: strings.Join(img.Owners, ","), byName: img.ByName}
	if !img.ByName {
		k.tagKey = img.TagKey
	}
	return k
}

// findMany finds every image's fingerprint in each of its regions and
// returns the matches per image, in the order of its regions.
func (b *Baker) findMany(ctx context.Context, imgs []*Image, sums []string) ([][]images.Match, error) {
	groups := map[lookupKey][]string{}
	for i, img := range imgs {
		for _, r := range img.Regions {
			k := keyFor(img, r)
			groups[k] = append(groups[k], sums[i])
		}
	}
	found, err := b.lookupGroups(ctx, groups)
	if err != nil {
		return nil, err
	}
	// The name guard: what the tags did not find may be found by a name
	// holding the fingerprint (a tag EC2 does not show yet, a template that
	// forgot it).
	guard := map[lookupKey][]string{}
	for k, fps := range groups {
		if k.byName {
			continue
		}
		for _, fp := range fps {
			if m := found[k][fp]; !m.Found() {
				nk := lookupKey{region: k.region, role: k.role, owners: k.owners, byName: true}
				guard[nk] = append(guard[nk], fp)
			}
		}
	}
	byName, err := b.lookupGroups(ctx, guard)
	if err != nil {
		return nil, err
	}
	out := make([][]images.Match, len(imgs))
	for i, img := range imgs {
		out[i] = make([]images.Match, len(img.Regions))
		for j, r := range img.Regions {
			k := keyFor(img, r)
			m := current(found[k][sums[i]], img, sums[i])
			if !m.Found() && !img.ByName {
				k.tagKey, k.byName = "", true
				if m = current(byName[k][sums[i]], img, sums[i]); m.Available != nil {
					account, err := b.account(ctx, img)
					if err != nil {
						return nil, err
					}
					b.explainNameMatch(img, r, sums[i], m.Available, account)
				}
			}
			out[i][j] = m
		}
	}
	return out, nil
}

// lookupGroups runs FindMany for every group, a few groups at a time.
func (b *Baker) lookupGroups(ctx context.Context, groups map[lookupKey][]string) (map[lookupKey]map[string]images.Match, error) {
	keys := make([]lookupKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b lookupKey) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
	results := make([]map[string]images.Match, len(keys))
	errs := make([]error, len(keys))
	calls := make([]int, len(keys))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, k := range keys {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			// The account is asked for after EC2 answered: its lookup (STS)
			// runs meanwhile, so the no-op waits for one round trip.
			batch := images.Batch{Owners: strings.Split(k.owners, ","), TagKey: k.tagKey, ByName: k.byName, Fingerprints: groups[k]}
			fetched, n, err := images.FetchMany(ctx, b.Clients(k.role, k.region), batch)
			calls[i] = n
			if err == nil {
				var account string
				if account, err = b.Account(ctx, k.role); err == nil {
					results[i], err = fetched.Choose(account)
				}
			}
			errs[i] = err
			if errs[i] != nil {
				errs[i] = fmt.Errorf("in %s: %w", k.region, errs[i])
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[lookupKey]map[string]images.Match, len(keys))
	total := 0
	for i, k := range keys {
		out[k] = results[i]
		total += calls[i]
	}
	if len(keys) > 0 {
		b.log().Debug("looked up fingerprints", "groups", len(keys), "describe_images_calls", total)
	}
	return out, nil
}
