package bake

import (
	"context"
	"errors"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/images"
)

// restore makes the AMIs prune retired available again, in every region
// whose decision is Restore: a reverted definition gets its old AMI back,
// enabled, no longer deprecated, without prune's prune-after date, and
// packer never runs (rebuilding would fail on the retired AMI's name). It
// reports whether it restored any.
func (b *Baker) restore(ctx context.Context, img *Image, ds []Decision) (bool, error) {
	errs := make([]error, len(ds))
	var wg sync.WaitGroup
	any := false
	for i := range ds {
		if ds[i].Action != Restore || ds[i].found == nil {
			continue
		}
		any = true
		wg.Go(func() {
			d := &ds[i]
			errs[i] = images.Restore(ctx, b.ec2(img, d.Region), *d.found)
			if errs[i] == nil {
				b.log().Warn("restored the AMI prune had retired for this fingerprint (a reverted definition); it is available again",
					"region", d.Region, "ami", d.AMI)
			}
		})
	}
	wg.Wait()
	return any, errors.Join(errs...)
}
