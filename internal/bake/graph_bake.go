package bake

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// GraphResult is what BakeGraph did to one image.
type GraphResult struct {
	Image *Image
	// Outcome is the image's AMIs; nil when it failed or was not started.
	Outcome *Outcome
	// Err is why the image failed; nil when it was baked or not started.
	Err error
}

// GraphError is a BakeGraph that did not bake every image: which failed,
// which were baked (a rerun reuses them) and which were never started.
// It wraps every failure, so errors.Is sees through it (an interrupt stays
// an interrupt).
type GraphError struct {
	Failed, Baked, NotStarted []string
	Errs                      []error
}

func (e *GraphError) Error() string {
	msgs := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		msgs[i] = err.Error()
	}
	var done []string
	if len(e.Baked) > 0 {
		done = append(done, "baked: "+strings.Join(e.Baked, ", "))
	}
	if len(e.NotStarted) > 0 {
		done = append(done, "not started: "+strings.Join(e.NotStarted, ", "))
	}
	what := "baking the images"
	if len(e.Failed) > 0 {
		what = "baking " + strings.Join(e.Failed, ", ") + " failed"
	}
	if len(done) > 0 {
		what += " (" + strings.Join(done, "; ") + ")"
	}
	return what + ": " + strings.Join(msgs, "; ")
}

func (e *GraphError) Unwrap() []error { return e.Errs }

// BakeGraph bakes many images, parents before children: imgs must list
// every parent before its children (as project.Select orders them). It
// plans them all at once (PlanAll) and leaves the images whose AMI exists
// in every region as they are; every other image is baked by Bake's steps,
// as one image is (the lock, the waits, the copies), at most parallel at a
// time, each as soon as its parent has its AMIs. A child's ParentVar
// receives its parent's AMI in the build region, and its AMIs are tagged
// with their parent's.
//
// The first failure stops new bakes from starting; those running finish
// (or stop, when ctx is cancelled). The results are in the order of imgs
// whatever happened; err is a *GraphError when an image failed.
func (b *Baker) BakeGraph(ctx context.Context, imgs []*Image, parallel int) ([]GraphResult, error) {
	plans, err := b.PlanAll(ctx, imgs)
	if err != nil {
		return nil, err
	}
	return b.BakePlanned(ctx, imgs, plans, parallel)
}

// BakePlanned is BakeGraph with the plans already made by PlanAll, so
// that a caller can check what the plans imply (publishing targets) before
// anything is built.
func (b *Baker) BakePlanned(ctx context.Context, imgs []*Image, plans []*Plan, parallel int) ([]GraphResult, error) {
	if parallel < 1 {
		return nil, fmt.Errorf("baking the images: parallel must be at least 1, not %d", parallel)
	}
	if err := refuseRevoked(imgs, plans); err != nil {
		return nil, err
	}
	index := make(map[*Image]int, len(imgs))
	for i, img := range imgs {
		index[img] = i
	}
	results := make([]GraphResult, len(imgs))
	done := make([]chan struct{}, len(imgs))
	for i := range done {
		done[i] = make(chan struct{})
	}
	sem := make(chan struct{}, parallel)
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i, img := range imgs {
		results[i].Image = img
		wg.Go(func() {
			defer close(done[i])
			var parent *Outcome
			if img.Parent != nil {
				p := index[img.Parent]
				<-done[p]
				if parent = results[p].Outcome; parent == nil {
					return // the parent failed or never started
				}
			}
			if plans[i].UpToDate() {
				// Still carried out: tags found missing are written, and
				// copies get back sharing they lost.
				out, err := b.bakeInGraph(ctx, img, plans[i], parent, false)
				results[i].Outcome, results[i].Err = out, err
				if err != nil {
					stop.Store(true)
					results[i].Err = fmt.Errorf("%s: %w", img.Name, err)
				}
				return
			}
			sem <- struct{}{}
			defer func() { <-sem }()
			if stop.Load() || ctx.Err() != nil {
				return
			}
			out, err := b.bakeInGraph(ctx, img, plans[i], parent, true)
			if err != nil {
				stop.Store(true)
				results[i].Err = fmt.Errorf("%s: %w", img.Name, err)
				return
			}
			results[i].Outcome = out
		})
	}
	wg.Wait()
	return results, graphError(ctx, results)
}

// bakeInGraph bakes one image of a graph whose parent (if any) has its
// AMIs: unless the batched plan found every AMI (fresh), it looks again
// (the batched plan may be stale: another job may have built it
// meanwhile), then carries out what is left.
func (b *Baker) bakeInGraph(ctx context.Context, img *Image, batched *Plan, parent *Outcome, lookAgain bool) (*Outcome, error) {
	ib := *b
	ib.Log = b.imageLog(img)
	child := *img
	if parent != nil {
		child.ParentAMIs = parent.AMIs()
		child.Packer.Vars = append(slices.Clone(img.Packer.Vars),
			packer.Var{Name: img.ParentVar, Value: child.ParentAMIs[img.Regions[0]]})
	}
	plan := batched
	if lookAgain {
		var err error
		if plan, err = ib.plan(ctx, &child, batched.Fingerprint); err != nil {
			return nil, err
		}
	}
	return ib.carryOut(ctx, &child, plan)
}

// graphError sums up the failures of a graph's bake, or returns nil when
// every image has its AMIs. Images left unstarted because ctx ended are a
// failure too, even if no bake was running to fail.
func graphError(ctx context.Context, results []GraphResult) error {
	if len(results) == 1 && results[0].Err != nil {
		// One image: its own error, as the single-template mode says it.
		return errors.Unwrap(results[0].Err)
	}
	e := &GraphError{}
	for _, r := range results {
		switch {
		case r.Err != nil:
			e.Failed = append(e.Failed, r.Image.Name)
			e.Errs = append(e.Errs, r.Err)
		case r.Outcome != nil:
			if r.Outcome.Action != Reused {
				e.Baked = append(e.Baked, r.Image.Name)
			}
		default:
			e.NotStarted = append(e.NotStarted, r.Image.Name)
		}
	}
	if len(e.Errs) == 0 && len(e.NotStarted) > 0 {
		cause := context.Cause(ctx)
		if cause == nil {
			cause = errors.New("their parents have no AMI")
		}
		e.Errs = append(e.Errs, fmt.Errorf("stopped: %w", cause))
	}
	if len(e.Errs) == 0 {
		return nil
	}
	return e
}

// withLineage adds to tags, for an AMI of img in region, the tags that say
// what it is: the image's name and, for a child, its parent's fingerprint
// and its parent's AMI in that region. It returns tags.
func (img *Image) withLineage(tags map[string]string, region string) map[string]string {
	tags = maps.Clone(tags)
	if img.Name != "" {
		tags[TagImage] = img.Name
	}
	if img.Parent != nil && img.Spec.Parent != "" {
		tags[TagParentFingerprint] = img.Spec.Parent
	}
	if id := img.ParentAMIs[region]; id != "" {
		tags[TagParentAMI] = id
	}
	return tags
}

// refuseRevoked stops a bake, before anything is built, when an image's
// definition has only a revoked AMI in some region: building it again
// would bring back what was taken back.
func refuseRevoked(imgs []*Image, plans []*Plan) error {
	var errs []error
	for i, p := range plans {
		for _, d := range p.Regions {
			if d.Action != Revoked {
				continue
			}
			what := "the definition's AMI"
			if imgs[i].Name != "" {
				what = "image " + imgs[i].Name + "'s AMI"
			}
			errs = append(errs, fmt.Errorf("%s in %s, %s (fingerprint %s), was revoked", what, d.Region, d.AMI, p.Fingerprint.Sum))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return usererr.Gate(usererr.WithHint(errors.Join(errs...),
		"change the definition (a new fingerprint builds a new AMI), or build this definition again with --rebuild-revoked"))
}
