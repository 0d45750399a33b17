package bake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file makes the AMI in every region match its source: the copies
// ami-bakery makes are encrypted as asked (copyInto), and every region's
// AMI gets the source's launch permissions, its snapshots' create-volume
// permissions and its tags (distribute). EC2's CopyImage carries none of
// the permissions, so without this a workload account that the build
// shares with could not launch the AMI outside the build region.
//
// The source is the region copies are made from (the first region with the
// AMI, usually the primary); its sharing is what packer gave it (ami_users,
// ami_org_arns, ami_ou_arns, snapshot_users). Permissions are only ever
// added, never removed, so a rerun changes nothing and a region that lost
// some is repaired. Public sharing is mirrored only with AllowPublic.

// Carry is what a region's AMI carries from its source besides the image.
type Carry struct {
	Sharing images.Sharing
	// FromTemplate: the source does not exist yet; Sharing is what the
	// template's ami_users, ami_org_arns and ami_ou_arns ask for.
	FromTemplate bool
	// PublicDropped: the source is public, but AllowPublic is not set.
	PublicDropped bool
	Key           CopyKey
}

// CopyKey is how a copy is encrypted.
type CopyKey struct {
	Encrypted bool
	// ID is the KMS key; "" with Encrypted is the destination's default
	// EBS key.
	ID string
	// From says where the key came from: "--kms-key",
	// "region_kms_key_ids" or "default".
	From string
}

func (k CopyKey) String() string {
	switch {
	case !k.Encrypted:
		return "unencrypted"
	case k.ID == "":
		return "encrypted under the default EBS key"
	}
	return fmt.Sprintf("encrypted under %s (%s)", k.ID, k.From)
}

// String says it for people, e.g. "shared with 2 accounts, 1 org;
// snapshots shared with 1 account; encrypted under alias/amis (--kms-key)".
func (c *Carry) String() string {
	parts := []string{"shared with " + c.Sharing.Launch.String()}
	if c.Sharing.Launch.Empty() {
		parts[0] = "private"
	}
	for _, v := range c.Sharing.Volumes {
		if !v.Empty() {
			parts = append(parts, "snapshots shared with "+v.String())
			break
		}
	}
	if c.Key.From != "" || c.Key.Encrypted {
		parts = append(parts, c.Key.String())
	}
	s := strings.Join(parts, "; ")
	if c.PublicDropped {
		s += "; not public although the source is (--allow-public)"
	}
	if c.FromTemplate {
		s += " (as the template asks)"
	}
	return s
}

// keyFor decides how a copy into region is encrypted: with the key given
// for the region, else, for an encrypted source, the template's
// region_kms_key_ids or the destination's default EBS key.
func (img *Image) keyFor(region string, srcEncrypted bool) CopyKey {
	if k := img.KMSKeys[region]; k != "" {
		return CopyKey{Encrypted: true, ID: k, From: "--kms-key"}
	}
	if !srcEncrypted {
		return CopyKey{}
	}
	if img.Template != nil {
		if k := img.Template.RegionKMSKey(region); k != "" {
			return CopyKey{Encrypted: true, ID: k, From: "region_kms_key_ids"}
		}
	}
	return CopyKey{Encrypted: true, From: "default"}
}

// copyInto copies the source AMI srcID into d's region, encrypted as
// keyFor says, and waits for the copy. A copy that fails is deregistered,
// so that its name is free for the next try. Its token stays spent: when
// CopyImage hands back such a discarded copy (a rerun after the key policy
// was fixed), the copy is asked for once more under a token of its own.
func (b *Baker) copyInto(ctx context.Context, img *Image, fp string, d *Decision, srcID string, w images.Waiter) (images.Image, error) {
	src, err := images.Describe(ctx, b.ec2(img, d.Source), srcID)
	if err != nil {
		return images.Image{}, err
	}
	key := img.keyFor(d.Region, src.Encrypted())
	if key.Encrypted && key.ID == "" {
		b.log().Info("the copy is encrypted under the destination's default EBS key (aws/ebs)", "region", d.Region,
			"hint", fmt.Sprintf("give --kms-key %s=KEY to choose the key", d.Region))
	}
	client := b.ec2(img, d.Region)
	req := images.CopyRequest{SourceRegion: d.Source, Source: src, Token: copyToken(fp, d.Region, srcID, key.ID), Encrypted: key.Encrypted, KMSKeyID: key.ID}
	for attempt := 0; ; attempt++ {
		b.log().Info("copying the AMI", "from", d.Source, "to", d.Region, "ami", srcID, "encryption", key.String())
		id, err := images.Copy(ctx, client, req)
		if err != nil {
			return images.Image{}, copyError(d.Region, key, err, strings.Contains(strings.ToLower(err.Error()), "kms"))
		}
		im, err := w.WaitAvailable(ctx, client, id)
		switch {
		case err == nil:
			return im, nil
		case attempt == 0 && images.IsNotFound(err):
			b.log().Info("CopyImage handed back an earlier copy that failed and was discarded; copying again", "region", d.Region, "discarded", id)
			req.Token = copyToken(fp, d.Region+"\x00"+id, srcID, key.ID)
			continue
		case errors.Is(err, images.ErrNotAvailable):
			if derr := images.Discard(ctx, client, id); derr != nil {
				b.log().Warn("could not discard the failed copy; its name blocks the next copy until it is deregistered", "region", d.Region, "ami", id, "error", derr)
			}
			return images.Image{}, copyError(d.Region, key, err, true)
		}
		return images.Image{}, copyError(d.Region, key, err, false)
	}
}

// copyError says which region and key a failed copy was for; a failure
// that may be the key's gets the hint of what the key needs.
func copyError(region string, key CopyKey, err error, keyReason bool) error {
	if !key.Encrypted || !keyReason {
		return fmt.Errorf("in %s: %w", region, err)
	}
	name := key.ID
	if name == "" {
		name = "the default EBS key (alias/aws/ebs)"
	}
	return usererr.WithHint(fmt.Errorf("in %s: copying the AMI encrypted under KMS key %s (%s) failed: %w", region, name, key.From, err),
		"the key must exist in %s, be enabled and not pending deletion, and both its key policy and the caller's IAM policy must allow "+
			"kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:Encrypt, kms:GenerateDataKeyWithoutPlaintext and kms:ReEncrypt* on it; "+
			"or give another key with --kms-key %s=KEY", region, region)
}

// sourceIndex is the region copies come from: the Source of the first
// copy, else the primary.
func sourceIndex(ds []Decision) int {
	for _, d := range ds {
		if d.Action == Copy {
			for i := range ds {
				if ds[i].Region == d.Source {
					return i
				}
			}
		}
	}
	return 0
}

// imageOf returns d's AMI as described, describing it if not known yet.
func (b *Baker) imageOf(ctx context.Context, img *Image, d *Decision) (images.Image, error) {
	if d.found != nil && d.found.ID == d.AMI {
		return *d.found, nil
	}
	im, err := images.Describe(ctx, b.ec2(img, d.Region), d.AMI)
	if err != nil {
		return images.Image{}, fmt.Errorf("in %s: %w", d.Region, err)
	}
	d.found = &im
	return im, nil
}

// distribute gives the AMI of every region the sharing and tags of the
// source AMI, adding only what is missing, in all regions at once. It
// leaves alone regions without an AMI (a failed copy) and AMIs of other
// accounts (found with --lookup name), which only their owner may share.
func (b *Baker) distribute(ctx context.Context, img *Image, ds []Decision) error {
	si := sourceIndex(ds)
	if len(ds) < 2 || ds[si].AMI == "" {
		return nil
	}
	account, err := b.account(ctx, img)
	if err != nil {
		return err
	}
	src, err := b.imageOf(ctx, img, &ds[si])
	if err != nil || src.OwnerID != account {
		return err
	}
	sharing, err := images.ReadSharing(ctx, b.ec2(img, ds[si].Region), src)
	if err != nil {
		return fmt.Errorf("in %s: %w", ds[si].Region, err)
	}
	carry := Carry{Sharing: sharing}
	if sharing.Public() && !img.AllowPublic {
		carry.Sharing, carry.PublicDropped = sharing.WithoutPublic(), true
		b.log().Warn("the source AMI is public; its copies are not made public", "region", ds[si].Region, "ami", src.ID,
			"hint", "pass --allow-public (AMI_BAKERY_ALLOW_PUBLIC) to make them public too")
	}
	ds[si].Carries = &Carry{Sharing: sharing, Key: CopyKey{Encrypted: src.Encrypted()}}
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	for i := range ds {
		if i == si || ds[i].AMI == "" {
			continue
		}
		wg.Go(func() { errs[i] = b.shareLike(ctx, img, &ds[i], src, carry, account) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// shareLike gives d's AMI the source's tags and sharing (carry.Sharing).
func (b *Baker) shareLike(ctx context.Context, img *Image, d *Decision, src images.Image, carry Carry, account string) error {
	im, err := b.imageOf(ctx, img, d)
	if err != nil || im.OwnerID != account {
		return err
	}
	client := b.ec2(img, d.Region)
	if _, err := images.EnsureTags(ctx, client, im, img.withLineage(userTags(src.Tags), d.Region)); err != nil {
		return fmt.Errorf("in %s: %w", d.Region, err)
	}
	added, err := images.Grant(ctx, client, im, carry.Sharing)
	if err != nil {
		err = fmt.Errorf("in %s: %w", d.Region, err)
		if strings.Contains(err.Error(), "default key") {
			return usererr.WithHint(err, "EC2 does not share snapshots encrypted under the default EBS key; give --kms-key %s=KEY with a customer managed key that the accounts may use", d.Region)
		}
		return err
	}
	carry.Key = CopyKey{Encrypted: im.Encrypted()}
	if d.Action == Copy {
		carry.Key = img.keyFor(d.Region, src.Encrypted())
	}
	d.Carries = &carry
	switch {
	case added.Empty():
	case d.Action == Copy:
		b.log().Info("shared the copy like its source", "region", d.Region, "ami", im.ID, "shared", carry.String())
	default:
		b.log().Warn("the AMI lacked some of its source's sharing; added it", "region", d.Region, "ami", im.ID,
			"added", (&Carry{Sharing: added}).String())
	}
	return nil
}

// userTags are the tags a copy should carry: all but AWS's own (aws:*),
// which no one may write, and the provenance that names AMIs of the
// source's region (its parent's and its base's AMI there): every AMI
// carries its own region's (withLineage).
func userTags(tags map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range tags {
		if !strings.HasPrefix(k, "aws:") && k != TagParentAMI && k != TagBaseAMI {
			out[k] = v
		}
	}
	return out
}

// reportKept says, after a failure, which regions have their AMI anyway.
func (b *Baker) reportKept(ds []Decision) {
	for _, d := range ds {
		if d.AMI != "" {
			b.log().Info("this region has its AMI; the next bake reuses it", "region", d.Region, "ami", d.AMI, "action", string(d.Action))
		} else {
			b.log().Warn("this region has no AMI yet", "region", d.Region)
		}
	}
}

// describeCopies sets, for plan, what each copy will carry: the source's
// sharing and encryption when the source exists and is ours, or what the
// template asks for when it is to be built.
func (b *Baker) describeCopies(ctx context.Context, img *Image, ds []Decision) error {
	si := sourceIndex(ds)
	if ds[si].Action == Copy || !hasCopy(ds) {
		return nil
	}
	account, err := b.account(ctx, img)
	if err != nil {
		return err
	}
	var carry Carry
	encrypted := false
	switch src := ds[si].found; {
	case src != nil && src.OwnerID == account:
		s, err := images.ReadSharing(ctx, b.ec2(img, ds[si].Region), *src)
		if err != nil {
			return fmt.Errorf("in %s: %w", ds[si].Region, err)
		}
		carry.Sharing, encrypted = s, src.Encrypted()
	case ds[si].Action == Build && img.Template != nil:
		carry.FromTemplate = true
		for _, s := range img.Template.AmazonSources() {
			dist := s.Distribution
			carry.Sharing.Launch = images.Permissions{Accounts: dist.Users, Orgs: dist.OrgARNs, OUs: dist.OUARNs}
			encrypted = dist.EncryptBoot
			break
		}
	default:
		return nil
	}
	if carry.Sharing.Public() && !img.AllowPublic {
		carry.Sharing, carry.PublicDropped = carry.Sharing.WithoutPublic(), true
	}
	for i := range ds {
		if ds[i].Action == Copy {
			c := carry
			c.Key = img.keyFor(ds[i].Region, encrypted)
			ds[i].Carries = &c
		}
	}
	return nil
}

func hasCopy(ds []Decision) bool {
	for _, d := range ds {
		if d.Action == Copy {
			return true
		}
	}
	return false
}
