package bake

import (
	"context"
	"fmt"
	"slices"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
)

// Plan plans one image: PlanAll of a one-image graph, the one way an
// image is planned.
func (b *Baker) Plan(ctx context.Context, img *Image) (*Plan, error) {
	plans, err := b.PlanAll(ctx, []*Image{img})
	if err != nil {
		return nil, err
	}
	return plans[0], nil
}

// checkPlanned refuses a plan whose build bake would refuse.
func (b *Baker) checkPlanned(img *Image, p *Plan) error {
	if !p.NeedsBuild() || img.Template == nil { // nil: a test's image, never a command's
		return nil
	}
	if _, err := b.checkBuild(img, img.Regions[0]); err != nil {
		return fmt.Errorf("a build is needed, and bake would refuse it: %w", err)
	}
	return nil
}

// plan finds a computed fingerprint's AMI in every region and decides.
func (b *Baker) plan(ctx context.Context, img *Image, fp fingerprint.Result) (*Plan, error) {
	matches, err := b.findAll(ctx, img, fp.Sum)
	if err != nil {
		return nil, err
	}
	return b.decidePlan(ctx, img, fp, matches)
}

// decidePlan makes img's plan from what was found in each of its regions,
// noting our AMIs found by name that lack the fingerprint tag.
func (b *Baker) decidePlan(ctx context.Context, img *Image, fp fingerprint.Result, matches []images.Match) (*Plan, error) {
	account, err := b.account(ctx, img)
	if err != nil {
		return nil, err
	}
	p := &Plan{Fingerprint: fp, Regions: b.decide(img.Regions, matches), Base: img.baseStatus(img.Regions[0])}
	for i, m := range matches {
		im := m.Available
		if im == nil {
			im = m.Pending
		}
		if im != nil && lacksTag(img, im, fp.Sum, account) {
			p.missingTags = append(p.missingTags, missingTag{region: img.Regions[i], image: *im})
		}
	}
	return p, nil
}

// lacksTag reports whether im, found by its name, is ours and lacks the
// fingerprint tag, so that tagging it lets the next run find it by tag.
// Another account's AMI is left alone: our tags on it would be visible to
// us only, and its owner's tags are invisible here anyway. So is an AMI
// that carries the fingerprint under another tag key (see find).
func lacksTag(img *Image, im *images.Image, fp, account string) bool {
	if img.ByName || im.OwnerID != account || im.Tags[img.TagKey] != "" {
		return false
	}
	return otherTagKey(img, im, fp) == ""
}

// otherTagKey returns a tag key other than img.TagKey under which im
// carries fp, or "".
func otherTagKey(img *Image, im *images.Image, fp string) string {
	var keys []string
	for k, v := range im.Tags {
		if v == fp && k != img.TagKey {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// findAll finds fp's AMI in every region of img: PlanAll's batched lookup
// (findMany) of one image, so that a look again before a build and the
// plan follow one rule.
func (b *Baker) findAll(ctx context.Context, img *Image, fp string) ([]images.Match, error) {
	m, err := b.findMany(ctx, []*Image{img}, []string{fp})
	if err != nil {
		return nil, err
	}
	return m[0], nil
}

// FindAMI is bake's lookup of fp's AMI for img in region, as plan and
// bake print it: by tag, else by a name that contains the fingerprint (the
// batched lookup of PlanAll, findMany). prune holds its idea of the
// current AMI to it.
func (b *Baker) FindAMI(ctx context.Context, img *Image, region, fp string) (images.Match, error) {
	one := *img
	one.Regions = []string{region}
	m, err := b.findMany(ctx, []*Image{&one}, []string{fp})
	if err != nil {
		return images.Match{}, err
	}
	return m[0][0], nil
}

// current drops from m what IsCurrent does not take for fp's AMI (what an
// EC2 filter let through that it should not have), so that bake's lookup
// and prune's idea of the current AMI are one rule.
func current(m images.Match, img *Image, fp string) images.Match {
	is := func(im *images.Image) bool { return im != nil && IsCurrent(im.Name, im.Tags, img.TagKey, fp) }
	if !is(m.Available) {
		m.Available = nil
	}
	if !is(m.Pending) {
		m.Pending = nil
	}
	if !is(m.Retired) {
		m.Retired = nil
	}
	if !is(m.Revoked) {
		m.Revoked = nil
	}
	return m
}

// explainNameMatch says why an AMI was found by its name, not its tag.
func (b *Baker) explainNameMatch(img *Image, region, fp string, im *images.Image, account string) {
	switch key := otherTagKey(img, im, fp); {
	case im.OwnerID != account:
		b.log().Warn("found the AMI by its name, not its tag: it may be shared from another account, whose tags are invisible here",
			"region", region, "ami", im.ID, "owner", im.OwnerID,
			"hint", "use --lookup name when AMIs are built in another account and shared with this one")
	case key != "":
		b.log().Warn(fmt.Sprintf("found the AMI by its name; it carries the fingerprint under the tag %q, not %q", key, img.TagKey),
			"region", region, "ami", im.ID,
			"hint", fmt.Sprintf("pass --tag-key %q (AMI_BAKERY_TAG_KEY) to find these AMIs by their tag, or tag the template's AMIs with %q", key, img.TagKey))
	default:
		b.log().Info("found the AMI by its name; its fingerprint tag is missing or not visible yet", "region", region, "ami", im.ID)
	}
}

// decide is decide under the Baker's rule for revoked AMIs: with
// RebuildRevoked, a revoked AMI is as none.
func (b *Baker) decide(regions []string, matches []images.Match) []Decision {
	if b.RebuildRevoked {
		matches = slices.Clone(matches)
		for i := range matches {
			matches[i].Revoked = nil
		}
	}
	return decide(regions, matches)
}

// decide turns what was found into decisions. A region with an available
// AMI reuses it; one with a pending AMI waits for it; a region with neither
// copies from the first region (in the order given) that has one; if no
// region has one, the primary builds and the others copy from it.
func decide(regions []string, matches []images.Match) []Decision {
	source := ""
	for i, m := range matches {
		if m.Found() {
			source = regions[i]
			break
		}
	}
	out := make([]Decision, len(regions))
	for i, r := range regions {
		m := matches[i]
		switch {
		case m.Available != nil:
			out[i] = Decision{Region: r, Action: Reuse, AMI: m.Available.ID, found: m.Available}
		case m.Pending != nil:
			out[i] = Decision{Region: r, Action: Wait, AMI: m.Pending.ID, found: m.Pending}
		case m.Retired != nil:
			out[i] = Decision{Region: r, Action: Restore, AMI: m.Retired.ID, found: m.Retired}
		case m.Revoked != nil:
			out[i] = Decision{Region: r, Action: Revoked, AMI: m.Revoked.ID}
		case source != "":
			out[i] = Decision{Region: r, Action: Copy, Source: source}
		case i == 0:
			out[i] = Decision{Region: r, Action: Build}
		default:
			out[i] = Decision{Region: r, Action: Copy, Source: regions[0]}
		}
	}
	return out
}
