package bake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/images"
)

// settle carries out the decisions of the given actions, Wait and Copy,
// one action after the other (Wait before Copy: a copy needs an available
// source), each across all regions at once. It fills in the AMI of each
// Copy decision.
func (b *Baker) settle(ctx context.Context, img *Image, fp string, ds []Decision, phases ...Action) error {
	for _, phase := range phases {
		have := map[string]string{}
		for _, d := range ds {
			if d.AMI != "" {
				have[d.Region] = d.AMI
			}
		}
		errs := make([]error, len(ds))
		var wg sync.WaitGroup
		for i := range ds {
			if ds[i].Action != phase {
				continue
			}
			wg.Go(func() { errs[i] = b.settleOne(ctx, img, fp, &ds[i], have) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

// settleOne waits for d's pending AMI, or copies the AMI from d.Source (have
// holds the AMI of every region that has one), waits for the copy and makes
// sure it carries the fingerprint tag. On failure d is left without an AMI.
func (b *Baker) settleOne(ctx context.Context, img *Image, fp string, d *Decision, have map[string]string) error {
	w := b.Wait
	w.Progress = func(format string, args ...any) {
		b.log().Info(fmt.Sprintf(format, args...), "region", d.Region)
	}
	client := b.ec2(img, d.Region)
	if d.Action == Copy {
		im, err := b.copyInto(ctx, img, fp, d, have[d.Source], w)
		if err != nil {
			d.AMI = ""
			return err
		}
		d.AMI, d.found = im.ID, &im
		b.log().Info("the copy is available", "region", d.Region, "ami", im.ID)
		// CopyImage copies tags only where the account may; make sure the
		// copy can be found by its fingerprint.
		if _, err = images.EnsureTags(ctx, client, im, img.withLineage(map[string]string{img.TagKey: fp}, d.Region)); err != nil {
			return err
		}
		// The base's AMI is the build region's: CopyImage copied the tag
		// that names it, which would name an AMI of another region here.
		return images.RemoveTags(ctx, client, im, TagBaseAMI)
	}
	b.log().Info("an AMI with this fingerprint is pending; waiting for it", "region", d.Region, "ami", d.AMI)
	im, err := w.WaitAvailable(ctx, client, d.AMI)
	if err != nil {
		d.AMI = ""
		return fmt.Errorf("in %s: %w", d.Region, err)
	}
	d.found = &im
	return nil
}

// copyToken derives CopyImage's idempotency token from what the copy is, so
// that a retry, or a second job, never makes a second copy: the
// fingerprint, the destination and the source AMI (a definition built
// again, after a revoke, is copied again). A copy under a chosen KMS key
// has a token of its own: changing the key after a failed copy must not
// replay that copy.
func copyToken(fp, region, source, kmsKey string) string {
	in := "ami-bakery copy\x00" + fp + "\x00" + region + "\x00" + source
	if kmsKey != "" {
		in += "\x00" + kmsKey
	}
	sum := sha256.Sum256([]byte(in))
	return hex.EncodeToString(sum[:16])
}
