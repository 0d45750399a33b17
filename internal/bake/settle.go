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
// sure it carries the fingerprint tag.
func (b *Baker) settleOne(ctx context.Context, img *Image, fp string, d *Decision, have map[string]string) error {
	w := b.Wait
	w.Progress = func(format string, args ...any) {
		b.log().Info(fmt.Sprintf(format, args...), "region", d.Region)
	}
	client := b.Clients(d.Region)
	if d.Action == Copy {
		srcID := have[d.Source]
		src, err := images.Describe(ctx, b.Clients(d.Source), srcID)
		if err != nil {
			return err
		}
		b.log().Info("copying the AMI", "from", d.Source, "to", d.Region, "ami", srcID)
		id, err := images.Copy(ctx, client, images.CopyRequest{SourceRegion: d.Source, Source: src, Token: copyToken(fp, d.Region)})
		if err != nil {
			return err
		}
		d.AMI = id
	} else {
		b.log().Info("an AMI with this fingerprint is pending; waiting for it", "region", d.Region, "ami", d.AMI)
	}
	im, err := w.WaitAvailable(ctx, client, d.AMI)
	if err != nil {
		return fmt.Errorf("in %s: %w", d.Region, err)
	}
	if d.Action == Copy {
		// CopyImage copies tags only where the account may; make sure the
		// copy can be found by its fingerprint.
		if _, err := images.EnsureTags(ctx, client, im, img.withLineage(map[string]string{img.TagKey: fp}, d.Region)); err != nil {
			return err
		}
	}
	return nil
}

// copyToken derives CopyImage's idempotency token from what the copy is, so
// that a retry, or a second job, never makes a second copy.
func copyToken(fp, region string) string {
	sum := sha256.Sum256([]byte("ami-bakery copy\x00" + fp + "\x00" + region))
	return hex.EncodeToString(sum[:16])
}
