package bake

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// buildLocked builds img in its primary region under the build lock and
// returns the decisions that follow: Build where packer made an AMI, Copy
// from the primary elsewhere. With a Lock, whoever held it before may have
// built meanwhile, so the AMI is found again once the lock is held, and
// packer runs only if the primary still lacks it.
func (b *Baker) buildLocked(ctx context.Context, img *Image, res fingerprint.Result) ([]Decision, error) {
	fp, primary := res.Sum, img.Regions[0]
	vars, err := b.checkBuild(img, primary)
	if err != nil {
		return nil, err
	}
	initFirst, err := b.needsInit(ctx, img)
	if err != nil {
		return nil, err
	}
	if b.Locks != nil {
		release, err := b.Locks(img.RoleARN).Acquire(ctx, primary, fp)
		if err != nil {
			return nil, err
		}
		defer func() {
			// Release even when ctx is cancelled: a held lock would make
			// the next job wait for the lease to run out.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := release(rctx); err != nil {
				b.log().Warn("could not release the build lock: "+err.Error(), "hint", strings.Join(usererr.Hints(err), "; "))
			}
		}()
		matches, err := b.findAll(ctx, img, fp)
		if err != nil {
			return nil, err
		}
		if d := b.decide(img.Regions, matches); d[0].Action != Build {
			b.log().Info("another job built this fingerprint while we waited; using it")
			return d, nil
		}
	}
	amis, err := b.build(ctx, img, res, vars, initFirst)
	if err != nil {
		return nil, err
	}
	d := make([]Decision, len(img.Regions))
	for i, r := range img.Regions {
		if id, ok := amis[r]; ok {
			d[i] = Decision{Region: r, Action: Build, AMI: id}
		} else {
			d[i] = Decision{Region: r, Action: Copy, Source: primary}
		}
	}
	return d, nil
}

// needsInit says whether `packer init` must run before the build: for an
// HCL2 template that lists required_plugins. Packers before 1.7 have no
// init and reject the block, so such a build is refused before it starts.
func (b *Baker) needsInit(ctx context.Context, img *Image) (bool, error) {
	if !img.Template.RequiredPlugins {
		return false, nil
	}
	ok, version, err := b.packer().InitSupported(ctx, img.Packer)
	if err != nil {
		return false, fmt.Errorf("preparing the build: %w", err)
	}
	if !ok {
		return false, usererr.WithHint(fmt.Errorf("the template lists required_plugins, which %s cannot read", version),
			"use packer 1.7 or later (--packer), or drop the packer { required_plugins } block for packer 1.6, whose builders are built in")
	}
	return true, nil
}

// build runs packer in the primary region (after `packer init` when
// initFirst) with ami-bakery's vars, and returns region -> AMI for every
// AMI it made, each tagged with the fingerprint and provenance tags at
// once, before anything else. A template that does not declare the
// fingerprint variable gets those tags only then: said once, with how to
// make the tagging atomic.
func (b *Baker) build(ctx context.Context, img *Image, res fingerprint.Result, vars []packer.Var, initFirst bool) (map[string]string, error) {
	fp, primary := res.Sum, img.Regions[0]
	bo := img.Packer
	bo.Dir, bo.Template = img.workDir()
	bo.Vars = nil
	if img.Template.Declares(img.FingerprintVar) {
		bo.Vars = append(bo.Vars, packer.Var{Name: img.FingerprintVar, Value: fp})
	} else {
		b.log().Warn(fmt.Sprintf("the template does not declare the fingerprint variable %q: ami-bakery tags the AMI only after packer ends; if a run is killed in between, its AMI stays untagged, is not recognised and is built again", img.FingerprintVar),
			"hint", declareHint(img))
	}
	bo.Vars = append(append(append(bo.Vars, vars...), img.baseVars(primary)...), img.Packer.Vars...)
	// A source that sets no region takes packer's AWS_REGION: the build
	// region, as --region and AWS_REGION promise alike.
	if none := packer.WithoutRegion(img.Template.Select(img.Packer.Only, img.Packer.Except)); len(none) > 0 {
		bo.SetEnv = append(bo.SetEnv, "AWS_REGION="+primary, "AWS_DEFAULT_REGION="+primary)
		b.log().Debug("a source sets no region: packer runs with AWS_REGION set to the build region", "source", none[0].Name, "region", primary)
	}
	b.log().Info("no AMI has this fingerprint; running packer", "region", primary, "template", img.Template.Path)
	if initFirst {
		b.log().Info("installing the template's plugins with packer init")
		if err := b.packer().Init(ctx, bo); err != nil {
			return nil, fmt.Errorf("preparing the build: %w", err)
		}
	}
	start := time.Now()
	result, err := b.packer().Build(ctx, bo)
	if err != nil && duplicateName(err) {
		id, ok, werr := b.madeElsewhere(ctx, img, fp)
		if werr != nil {
			return nil, werr
		}
		if ok {
			return map[string]string{primary: id}, nil
		}
		if m, ferr := b.FindAMI(ctx, img, primary, fp); ferr == nil && m.Revoked != nil && b.RebuildRevoked {
			return nil, usererr.WithHint(fmt.Errorf("building the AMI again: the revoked AMI %s holds the name the template gives this definition's AMI, and EC2 keeps AMI names unique: %w", m.Revoked.ID, err),
				"deregister it first (aws ec2 deregister-image --region %s --image-id %s), or make the template's ami_name unique per build (add {{timestamp}} or timestamp())", primary, m.Revoked.ID)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building the AMI: %w", err)
	}
	amis := map[string]string{}
	for _, a := range result.Artifacts {
		for r, id := range a.AMIs {
			amis[r] = id
		}
	}
	if _, ok := amis[primary]; !ok {
		return nil, usererr.WithHint(
			fmt.Errorf("packer finished but made no AMI in %s (it made %v)", primary, sortedPairs(amis)),
			"the template's region must be the primary region; declare the variable %q and use it as the builder's region", VarRegion)
	}
	b.log().Info("packer built the AMI", "region", primary, "ami", amis[primary], "took", time.Since(start).Round(time.Millisecond).String())
	want := b.provenance(img, res)
	for r, id := range amis {
		if err := b.verifyTags(ctx, img, r, id, img.withBaseTags(img.withLineage(want, r), r)); err != nil {
			return nil, err
		}
	}
	return amis, nil
}

// madeElsewhere is called when packer failed because the AMI name is
// taken: another job, not serialised by our lock (another tool, a lock lost
// to EC2 errors), made the AMI with this fingerprint's name. It finds that
// AMI in the primary region, waiting for it if pending. ok is false when
// there is none, and packer's error stands.
func (b *Baker) madeElsewhere(ctx context.Context, img *Image, fp string) (id string, ok bool, err error) {
	primary := img.Regions[0]
	m, err := b.FindAMI(ctx, img, primary, fp)
	if err != nil || (m.Available == nil && m.Pending == nil) {
		return "", false, nil
	}
	im := m.Available
	if im == nil {
		w, err := b.Wait.WaitAvailable(ctx, b.ec2(img, primary), m.Pending.ID)
		if err != nil {
			return "", false, err
		}
		im = &w
	}
	b.log().Warn("packer found an AMI with this fingerprint's name already; using it", "region", primary, "ami", im.ID)
	return im.ID, true, nil
}

// duplicateName reports whether packer failed because the AMI name is
// taken: EC2's InvalidAMIName.Duplicate, or packer 1.6's own pre-check.
func duplicateName(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "InvalidAMIName.Duplicate") || strings.Contains(msg, "is used by an existing AMI")
}

// provenance returns the tags every AMI this Baker builds must carry: the
// fingerprint and its algorithm, its inputs' group hashes (what plan
// --explain compares), and, when known, ami-bakery's version and
// the definition's git commit.
func (b *Baker) provenance(img *Image, res fingerprint.Result) map[string]string {
	tags := map[string]string{img.TagKey: res.Sum, TagAlgorithm: string(res.Algorithm)}
	if g := fingerprint.GroupsOf(res).String(); g != "" {
		tags[TagInputs] = g
	}
	if b.Version != "" {
		tags[TagVersion] = b.Version
	}
	if b.GitCommit != nil {
		if c := b.GitCommit(); c != "" {
			tags[TagCommit] = c
		}
	}
	if img.Name != "" {
		tags[TagImage] = img.Name
	}
	if img.Build != "" {
		tags[TagBuild] = img.Build
	}
	if b.Project != nil {
		if p := b.Project(); p != "" {
			tags[TagProject] = p
		}
	}
	return tags
}

// verifyTags makes sure a freshly built AMI carries the fingerprint (so the
// next run finds it instead of building forever) and the provenance tags,
// adding those the template did not set.
func (b *Baker) verifyTags(ctx context.Context, img *Image, region, id string, want map[string]string) error {
	client := b.ec2(img, region)
	im, err := images.Describe(ctx, client, id)
	if err != nil {
		return fmt.Errorf("checking the tags of the new AMI in %s: %w", region, err)
	}
	written, err := images.EnsureTags(ctx, client, im, want)
	if err != nil {
		return fmt.Errorf("tagging the new AMI in %s: %w", region, err)
	}
	for _, k := range written {
		if k == img.TagKey && img.Template.Declares(img.FingerprintVar) {
			b.log().Warn("the template did not tag the AMI with its fingerprint; ami-bakery tagged it", "ami", id, "region", region,
				"hint", fmt.Sprintf("add \"%s\": \"{{user `%s`}}\" to the builder's tags", img.TagKey, img.FingerprintVar))
		}
	}
	return nil
}

// retag writes the fingerprint and provenance tags that the plan found
// missing on our AMIs found by their name, so that the next run finds them
// by tag. Only missing tags are written, never changed. A failure is only
// a warning: the AMI was found, and the name finds it again next time.
func (b *Baker) retag(ctx context.Context, img *Image, plan *Plan) {
	for _, u := range plan.missingTags {
		want := map[string]string{}
		for k, v := range b.provenance(img, plan.Fingerprint) {
			if _, ok := u.image.Tags[k]; !ok {
				want[k] = v
			}
		}
		written, err := images.EnsureTags(ctx, b.ec2(img, u.region), u.image, want)
		if err != nil {
			b.log().Warn("could not tag the AMI found by its name; the next run finds it by its name again",
				"region", u.region, "ami", u.image.ID, "error", err)
			continue
		}
		b.log().Warn("the AMI found by its name lacked its fingerprint tag (a tagging that failed after its build, or one EC2 does not show yet); ami-bakery tagged it",
			"region", u.region, "ami", u.image.ID, "tags", strings.Join(written, ","))
	}
}

// workDir returns where packer runs and what it is given: the template's
// directory and its base name, or for an HCL2 directory the directory and
// "."; with PackerDir, that directory and the template's path from there.
func (img *Image) workDir() (dir, template string) {
	path := img.Template.Path
	if img.PackerDir != "" {
		if rel, err := filepath.Rel(img.PackerDir, path); err == nil {
			return img.PackerDir, rel
		}
		abs, _ := filepath.Abs(path)
		return img.PackerDir, abs
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return path, "."
	}
	return filepath.Dir(path), filepath.Base(path)
}

func sortedPairs(m map[string]string) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
