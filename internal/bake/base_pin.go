package bake

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// A pin is text in a lock file, and a lock file is only as trusted as
// whoever last edited it: a pin whose id was swapped for a stranger's
// public AMI of the same name, keeping the owner text, would otherwise be
// handed to packer as its source, with the fingerprint unchanged (it is
// made of the owner and name recorded). So every pin is checked in EC2
// before anything is built on it, here and only here: by plan and bake
// (resolveBase) and by `ami-bakery lock` before it keeps a pin.
//
// A pin passes when its image exists in the region; is owned by one of the
// base's owners (for an SSM parameter base, by the owner of the image the
// parameter holds now); has the owner and name the lock file records; is
// available (not disabled); and is a match of the base as EC2 itself
// judges it: the resolving query (owners, filters, state, deprecated only
// with include_deprecated) narrowed to the pin.

// VerifyPin checks pin, the lock file's entry for img's base in region,
// in EC2, and returns the image as EC2 describes it. A pin that fails is
// a usage error naming the image, the region, the pin and every check that
// failed, with the hint to re-pin. lockFile names the lock file.
func (b *Baker) VerifyPin(ctx context.Context, img *Image, region string, pin images.Base, lockFile string) (images.Base, error) {
	return b.verifyPin(ctx, img, region, pin, lockFile, nil)
}

// verifyPin is VerifyPin; latest, when known, is the base's newest match
// in region (resolveBase has it), which an SSM parameter base's owner
// comes from.
func (b *Baker) verifyPin(ctx context.Context, img *Image, region string, pin images.Base, lockFile string, latest *images.Base) (images.Base, error) {
	if lockFile == "" {
		lockFile = "the lock file"
	}
	if pin.ID == "" {
		return images.Base{}, usererr.Usage(usererr.WithHint(fmt.Errorf("the base of %s is locked, but %s has no pin for %s", img.Name, lockFile, region),
			"run ami-bakery lock --update to pin the newest base, then review and commit %s", filepath.Base(lockFile)))
	}
	refuse := func(why ...string) error {
		return usererr.Usage(usererr.WithHint(fmt.Errorf("refusing the base pinned for %s in %s by %s: %s", img.Name, region, lockFile, strings.Join(why, "; ")),
			"if the pin was not changed on purpose, find out who changed it; run ami-bakery lock --update to pin the newest match of the base, then review and commit %s", filepath.Base(lockFile)))
	}
	account, err := b.account(ctx, img)
	if err != nil {
		return images.Base{}, err
	}
	q := img.Base.Query
	q.Account = account
	client := b.ec2(img, region)
	im, err := images.DescribePinned(ctx, client, pin.ID)
	if images.IsMissing(err) {
		return images.Base{}, refuse(fmt.Sprintf("EC2 knows no image %s in %s that this account can see", pin.ID, region))
	}
	if err != nil {
		return images.Base{}, fmt.Errorf("checking the base pinned for %s in %s: %w", img.Name, region, err)
	}
	owners := "the base's owners (" + strings.Join(q.Owners, ", ") + ")"
	if q.SSMParameter != "" {
		// The parameter names no owner: the one of the image it holds now
		// stands for the publisher.
		if latest == nil {
			l, err := b.latestBase(ctx, img, region)
			if err != nil {
				return images.Base{}, fmt.Errorf("checking the base pinned for %s in %s: %w", img.Name, region, err)
			}
			latest = &l
		}
		q = images.BaseQuery{Owners: []string{latest.OwnerID}, Account: account, IncludeDeprecated: q.IncludeDeprecated}
		owners = fmt.Sprintf("%s, the owner of %s that the SSM parameter %s holds", latest.OwnerID, latest.ID, img.Base.Query.SSMParameter)
	}
	var why []string
	if !q.Owns(im) {
		why = append(why, fmt.Sprintf("%s is owned by %s, not by %s", pin.ID, ownerText(im), owners))
	}
	if im.OwnerID != pin.OwnerID {
		why = append(why, fmt.Sprintf("%s is owned by %s, not by %s as recorded", pin.ID, im.OwnerID, pin.OwnerID))
	}
	if im.Name != pin.Name {
		why = append(why, fmt.Sprintf("%s is named %q, not %q as recorded", pin.ID, im.Name, pin.Name))
	}
	switch im.State {
	case "available":
	case "disabled":
		why = append(why, fmt.Sprintf("%s is disabled", pin.ID))
	default:
		why = append(why, fmt.Sprintf("%s is %s, not available", pin.ID, im.State))
	}
	if len(why) > 0 {
		return images.Base{}, refuse(why...)
	}
	// EC2 judges the rest as it does for resolution.
	ok, err := images.BaseMatches(ctx, client, q, pin.ID, q.IncludeDeprecated)
	if err != nil {
		return images.Base{}, fmt.Errorf("checking the base pinned for %s in %s: %w", img.Name, region, err)
	}
	if !ok {
		if !q.IncludeDeprecated {
			if dep, err := images.BaseMatches(ctx, client, q, pin.ID, true); err == nil && dep {
				return images.Base{}, refuse(fmt.Sprintf("%s (%s) is deprecated, and the base does not include deprecated images (include_deprecated, --base-include-deprecated)", pin.ID, im.Name))
			}
		}
		if img.Base.Query.SSMParameter != "" {
			return images.Base{}, refuse(fmt.Sprintf("%s (%s) is not an available image of %s", pin.ID, im.Name, owners))
		}
		return images.Base{}, refuse(fmt.Sprintf("%s (%s) matches none of the base's filters (%s)", pin.ID, im.Name, filterText(q)))
	}
	return images.Base{ID: im.ID, Name: im.Name, OwnerID: im.OwnerID, Image: im}, nil
}

// ownerText is an image's owner as EC2 names it: the account, and its
// alias when it has one.
func ownerText(im images.Image) string {
	if im.OwnerAlias != "" {
		return im.OwnerID + " (" + im.OwnerAlias + ")"
	}
	return im.OwnerID
}

func filterText(q images.BaseQuery) string {
	if len(q.Filters) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(q.Filters)) {
		parts = append(parts, k+"="+q.Filters[k])
	}
	return strings.Join(parts, ", ")
}
