// Package bake decides, per region, whether the AMI for a definition exists,
// and makes it exist: reuse it, wait for a pending one, copy it from another
// region, or build it once with packer.
//
// An Image says what to bake; a Baker says how and does the work. Plan
// decides without changing anything; Bake carries the plan out: a build
// under the lock, then the waits and copies.
//
// It is orchestration only. Fingerprints come from internal/fingerprint,
// EC2 is reached through internal/images with the Baker's Clients, and
// packer through the Baker's Packer, so tests can replace the last two.
//
// Invariants: a build happens only when no region has the AMI (available
// or pending), at most once per Bake, and always in the primary region;
// every AMI packer makes and every copy carries the fingerprint tag, so the
// next bake finds it.
package bake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Variables ami-bakery passes to a template that declares them.
const (
	VarRegion   = "aws_region"
	VarSubnetID = "aws_subnet_id"
	VarEndpoint = "aws_ec2_endpoint"
)

// Tags ami-bakery adds to every AMI it builds, besides the fingerprint tag.
const (
	TagVersion   = "ami-bakery:version"
	TagAlgorithm = "ami-bakery:fingerprint-algorithm"
	TagCommit    = "ami-bakery:git-commit"
)

// Image is what to bake: one definition, the regions it must exist in, and
// how its AMI is recognised. Regions[0] is the primary region, where a
// build happens.
type Image struct {
	Spec     fingerprint.Spec
	Template *packer.Template
	Regions  []string
	Owners   []string // trusted owners; never empty
	TagKey   string   // tag that carries the fingerprint
	// ByName finds AMIs by a name containing the fingerprint instead of by
	// tag (--lookup name): for AMIs shared from another account, whose tags
	// are invisible to this one.
	ByName bool
	// FingerprintVar is the template variable that receives the fingerprint.
	FingerprintVar string
	SubnetID       string // for templates declaring aws_subnet_id
	Endpoint       string // EC2 endpoint for templates declaring aws_ec2_endpoint

	// Packer holds what is passed through to packer (path, user vars, var
	// files, only, on-error, debug, progress, env, grace). Bake adds the
	// template, directory and ami-bakery's own variables.
	Packer packer.BuildOptions
}

// Baker bakes Images. Its fields are how: the EC2 clients, packer, the
// lock, the waits and the provenance recorded on what it builds.
type Baker struct {
	// Clients returns the EC2 client for a region.
	Clients func(region string) images.EC2
	// Packer runs packer; nil means PackerCLI.
	Packer Packer
	// Lock, when set, serialises builds of the same fingerprint across
	// processes.
	Lock Locker
	// Wait waits for pending and copied AMIs.
	Wait    images.Waiter
	Log     *slog.Logger // nil discards
	Version string       // recorded in the provenance tags
	// GitCommit returns the commit of the definition's git work tree, or
	// "", for the provenance tags; called only when an AMI is built.
	GitCommit func() string
}

// Locker takes a build lock for a fingerprint in a region. Acquire waits
// while another job holds the lock, and returns with it held, or with an
// error (ctx ended while waiting, EC2 failed). It does not say whether the
// previous holder built: the Baker finds the AMI again once it holds the
// lock, and uses what the previous holder made instead of building. Call
// release whatever happens to the build.
type Locker interface {
	Acquire(ctx context.Context, region, fingerprint string) (release func(context.Context) error, err error)
}

// Packer runs packer. PackerCLI runs the real binary; tests supply a fake.
type Packer interface {
	Build(ctx context.Context, o packer.BuildOptions) (*packer.Result, error)
	// Init runs `packer init`, installing a template's required_plugins.
	Init(ctx context.Context, o packer.BuildOptions) error
	// InitSupported reports whether the packer has init (1.7+), and its
	// version line.
	InitSupported(ctx context.Context, o packer.BuildOptions) (ok bool, version string, err error)
}

// PackerCLI is the Packer that runs the packer binary named in the options,
// through internal/packer.
type PackerCLI struct{}

// Build runs `packer build`.
func (PackerCLI) Build(ctx context.Context, o packer.BuildOptions) (*packer.Result, error) {
	return packer.Build(ctx, o)
}

// Init runs `packer init`.
func (PackerCLI) Init(ctx context.Context, o packer.BuildOptions) error { return packer.Init(ctx, o) }

// InitSupported asks packer its version.
func (PackerCLI) InitSupported(ctx context.Context, o packer.BuildOptions) (bool, string, error) {
	return packer.InitSupported(ctx, o)
}

// Action is what happens in one region (Reuse, Wait, Copy, Build), or, for
// a whole bake, what happened (Reused, Copied, Built). The values are part
// of the --json output and the GitHub outputs.
type Action string

// Actions decided per region by a plan.
const (
	Reuse Action = "reuse" // an available AMI has the fingerprint
	Wait  Action = "wait"  // a pending AMI has it: wait for it
	Copy  Action = "copy"  // another region has it: CopyImage from there
	Build Action = "build" // no region has it: packer builds it
)

// Outcomes of a whole bake: Built when it ran packer, else Copied when some
// region got a copy, else Reused (waiting for a pending AMI is a reuse).
const (
	Reused Action = "reused"
	Copied Action = "copied"
	Built  Action = "built"
)

// Decision says what happens in one region.
type Decision struct {
	Region string `json:"region"`
	Action Action `json:"action"`
	AMI    string `json:"ami,omitempty"`
	Source string `json:"source_region,omitempty"` // for copy
}

// Plan is the decision for every region, made without changing anything.
type Plan struct {
	Fingerprint fingerprint.Result
	Regions     []Decision // in the order of Image.Regions
}

// NeedsBuild reports whether any region needs a build.
func (p *Plan) NeedsBuild() bool {
	for _, d := range p.Regions {
		if d.Action == Build {
			return true
		}
	}
	return false
}

// UpToDate reports whether every region already has an available AMI.
func (p *Plan) UpToDate() bool {
	for _, d := range p.Regions {
		if d.Action != Reuse {
			return false
		}
	}
	return true
}

// Outcome is what a bake produced.
type Outcome struct {
	Fingerprint fingerprint.Result
	Action      Action     // Reused, Copied or Built
	Regions     []Decision // final AMI per region, in the order asked
}

// AMIs returns the region -> AMI id map.
func (o *Outcome) AMIs() map[string]string {
	m := make(map[string]string, len(o.Regions))
	for _, d := range o.Regions {
		m[d.Region] = d.AMI
	}
	return m
}

// Primary returns the AMI id in the primary region.
func (o *Outcome) Primary() string { return o.Regions[0].AMI }

// Bake makes img's AMI exist in every region and returns the ids.
func (b *Baker) Bake(ctx context.Context, img *Image) (*Outcome, error) {
	plan, err := b.Plan(ctx, img)
	if err != nil {
		return nil, err
	}
	fp := plan.Fingerprint.Sum
	// Pending AMIs are waited for first. One that fails is ignored from
	// then on (finding skips failed images), so planning again builds or
	// copies instead.
	if err := b.settle(ctx, img, fp, plan.Regions, Wait); errors.Is(err, images.ErrNotAvailable) {
		b.log().Warn("a pending AMI with this fingerprint did not become available; planning again", "error", err)
		if plan, err = b.plan(ctx, img, plan.Fingerprint); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	out := &Outcome{Fingerprint: plan.Fingerprint, Action: Reused}
	decisions := plan.Regions

	if plan.NeedsBuild() {
		if decisions, err = b.buildLocked(ctx, img, plan.Fingerprint); err != nil {
			return nil, err
		}
		if decisions[0].Action == Build {
			out.Action = Built
		}
	}
	if err := b.settle(ctx, img, fp, decisions, Wait, Copy); err != nil {
		return nil, err
	}
	for _, d := range decisions {
		if d.Action == Copy && out.Action == Reused {
			out.Action = Copied
		}
	}
	out.Regions = decisions
	return out, nil
}

func (b *Baker) log() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}

func (b *Baker) packer() Packer {
	if b.Packer == nil {
		return PackerCLI{}
	}
	return b.Packer
}

// Plan fingerprints img's definition, finds its AMI in every region in
// parallel and decides what each region needs. It changes nothing.
func (b *Baker) Plan(ctx context.Context, img *Image) (*Plan, error) {
	if len(img.Regions) == 0 {
		return nil, errors.New("planning: no region given")
	}
	fp, err := fingerprint.Compute(ctx, img.Spec)
	if err != nil {
		return nil, err
	}
	b.log().Info("fingerprint computed", "fingerprint", fp.Sum, "algorithm", string(fp.Algorithm), "inputs", len(fp.Inputs))
	return b.plan(ctx, img, fp)
}

// plan finds a computed fingerprint's AMI in every region and decides.
func (b *Baker) plan(ctx context.Context, img *Image, fp fingerprint.Result) (*Plan, error) {
	matches, err := b.findAll(ctx, img, fp.Sum)
	if err != nil {
		return nil, err
	}
	return &Plan{Fingerprint: fp, Regions: decide(img.Regions, matches)}, nil
}

// findAll finds fp's AMI in every region of img at once.
func (b *Baker) findAll(ctx context.Context, img *Image, fp string) ([]images.Match, error) {
	matches := make([]images.Match, len(img.Regions))
	errs := make([]error, len(img.Regions))
	var wg sync.WaitGroup
	for i, r := range img.Regions {
		wg.Go(func() {
			m, err := b.find(ctx, img, r, fp)
			if err != nil {
				err = fmt.Errorf("in %s: %w", r, err)
			}
			matches[i], errs[i] = m, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return matches, nil
}

// find finds fp's AMI in one region: by its tag, or else by a name that
// contains the fingerprint. The name is the second guard: it finds an AMI
// whose tag EC2 does not show yet (tags are eventually consistent), one
// built by a template that forgot the tag, and one shared from another
// account, whose tags are invisible here. With img.ByName only the name
// is used.
func (b *Baker) find(ctx context.Context, img *Image, region, fp string) (images.Match, error) {
	client := b.Clients(region)
	if !img.ByName {
		m, err := images.Find(ctx, client, images.Query{Owners: img.Owners, TagKey: img.TagKey, Fingerprint: fp})
		if err != nil || m.Available != nil || m.Pending != nil {
			return m, err
		}
	}
	m, err := images.Find(ctx, client, images.Query{Owners: img.Owners, Name: "*" + fp + "*"})
	if err != nil {
		return m, err
	}
	if im := m.Available; im != nil && !img.ByName {
		if slices.Contains(img.Owners, im.OwnerID) {
			b.log().Warn("found the AMI by its name, not its tag: it may be shared from another account, whose tags are invisible here",
				"region", region, "ami", im.ID, "owner", im.OwnerID,
				"hint", "use --lookup name when AMIs are built in another account and shared with this one")
		} else {
			b.log().Info("found the AMI by its name; its fingerprint tag is not visible (yet)", "region", region, "ami", im.ID)
		}
	}
	return m, nil
}

// decide turns what was found into decisions. A region with an available
// AMI reuses it; one with a pending AMI waits for it; a region with neither
// copies from the first region (in the order given) that has one; if no
// region has one, the primary builds and the others copy from it.
func decide(regions []string, matches []images.Match) []Decision {
	source := ""
	for i, m := range matches {
		if m.Available != nil || m.Pending != nil {
			source = regions[i]
			break
		}
	}
	out := make([]Decision, len(regions))
	for i, r := range regions {
		m := matches[i]
		switch {
		case m.Available != nil:
			out[i] = Decision{Region: r, Action: Reuse, AMI: m.Available.ID}
		case m.Pending != nil:
			out[i] = Decision{Region: r, Action: Wait, AMI: m.Pending.ID}
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

// buildLocked builds img in its primary region under the build lock and
// returns the decisions that follow: Build where packer made an AMI, Copy
// from the primary elsewhere. Whoever held the lock before may have built
// meanwhile, so the AMI is found again once the lock is held, and a build
// happens only if it is still missing.
func (b *Baker) buildLocked(ctx context.Context, img *Image, res fingerprint.Result) ([]Decision, error) {
	fp, primary := res.Sum, img.Regions[0]
	if err := b.checkTemplate(img); err != nil {
		return nil, err
	}
	initFirst, err := b.needsInit(ctx, img)
	if err != nil {
		return nil, err
	}
	if b.Lock != nil {
		release, err := b.Lock.Acquire(ctx, primary, fp)
		if err != nil {
			return nil, err
		}
		defer func() {
			// Release even when ctx is cancelled: a held lock would make
			// the next job wait for the lease to run out.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := release(rctx); err != nil {
				b.log().Warn("could not release the build lock; others wait for its lease to end", "error", err)
			}
		}()
		matches, err := b.findAll(ctx, img, fp)
		if err != nil {
			return nil, err
		}
		if d := decide(img.Regions, matches); d[0].Action != Build {
			b.log().Info("another job built this fingerprint while we waited; using it")
			return d, nil
		}
	}
	amis, err := b.build(ctx, img, res, initFirst)
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

// checkTemplate refuses a build whose AMI could never be found again, and
// warns when the AMI name does not carry the fingerprint (the second guard
// against double builds); with img.ByName that is refused too.
func (b *Baker) checkTemplate(img *Image) error {
	v := img.FingerprintVar
	if !img.Template.Declares(v) {
		return usererr.WithHint(
			fmt.Errorf("template %s does not declare the variable %q, so the AMI could not carry its fingerprint", img.Template.Path, v),
			"declare the variable and tag the AMI with it, e.g. in JSON: \"variables\": {%q: \"\"} and \"tags\": {%q: \"{{user `%s`}}\"}",
			v, img.TagKey, v)
	}
	for _, src := range img.Template.AmazonSources() {
		if slices.Contains(src.AMINameVars, v) {
			continue
		}
		err := fmt.Errorf("the ami_name of %s (%s) does not contain the fingerprint variable %q", src.Name, src.Pos, v)
		hint := fmt.Sprintf("name AMIs after the fingerprint, e.g. \"ami_name\": \"app-{{user `%s`}}\" (HCL2: \"app-${var.%s}\")", v, v)
		if img.ByName {
			return usererr.WithHint(fmt.Errorf("looking up by name: %w", err), "%s", hint)
		}
		b.log().Warn(err.Error()+"; concurrent or retried builds cannot be told apart by name", "hint", hint)
	}
	return nil
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
// initFirst) and returns region -> AMI for every AMI it made, each checked
// to carry the fingerprint and provenance tags.
func (b *Baker) build(ctx context.Context, img *Image, res fingerprint.Result, initFirst bool) (map[string]string, error) {
	fp, primary := res.Sum, img.Regions[0]
	bo := img.Packer
	bo.Dir, bo.Template = workDir(img.Template.Path)
	bo.Vars = append([]packer.Var{{Name: img.FingerprintVar, Value: fp}}, img.templateVars(primary)...)
	bo.Vars = append(bo.Vars, img.Packer.Vars...)
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
		if err := b.verifyTags(ctx, img, r, id, want); err != nil {
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
	m, err := b.find(ctx, img, primary, fp)
	if err != nil || (m.Available == nil && m.Pending == nil) {
		return "", false, nil
	}
	im := m.Available
	if im == nil {
		w, err := b.Wait.WaitAvailable(ctx, b.Clients(primary), m.Pending.ID)
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

// templateVars are the variables ami-bakery supplies to templates that
// declare them, as the original tool did.
func (img *Image) templateVars(region string) []packer.Var {
	var vs []packer.Var
	add := func(name, value string) {
		if value != "" && img.Template.Declares(name) {
			vs = append(vs, packer.Var{Name: name, Value: value})
		}
	}
	add(VarRegion, region)
	add(VarSubnetID, img.SubnetID)
	add(VarEndpoint, img.Endpoint)
	return vs
}

// provenance returns the tags every AMI this Baker builds must carry: the
// fingerprint, its algorithm, ami-bakery's version and the git commit.
func (b *Baker) provenance(img *Image, res fingerprint.Result) map[string]string {
	tags := map[string]string{img.TagKey: res.Sum, TagAlgorithm: string(res.Algorithm)}
	if b.Version != "" {
		tags[TagVersion] = b.Version
	}
	if b.GitCommit != nil {
		if c := b.GitCommit(); c != "" {
			tags[TagCommit] = c
		}
	}
	return tags
}

// verifyTags makes sure a freshly built AMI carries the fingerprint (so the
// next run finds it instead of building forever) and the provenance tags,
// adding those the template did not set.
func (b *Baker) verifyTags(ctx context.Context, img *Image, region, id string, want map[string]string) error {
	client := b.Clients(region)
	im, err := images.Describe(ctx, client, id)
	if err != nil {
		return fmt.Errorf("checking the tags of the new AMI in %s: %w", region, err)
	}
	written, err := images.EnsureTags(ctx, client, im, want)
	if err != nil {
		return fmt.Errorf("tagging the new AMI in %s: %w", region, err)
	}
	for _, k := range written {
		if k == img.TagKey {
			b.log().Warn("the template did not tag the AMI with its fingerprint; ami-bakery tagged it", "ami", id, "region", region,
				"hint", fmt.Sprintf("add \"%s\": \"{{user `%s`}}\" to the builder's tags", img.TagKey, img.FingerprintVar))
		}
	}
	return nil
}

// workDir returns where packer runs and what it is given: the template's
// directory and its base name, or for an HCL2 directory the directory and ".".
func workDir(path string) (dir, template string) {
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
		if _, err := images.EnsureTags(ctx, client, im, map[string]string{img.TagKey: fp}); err != nil {
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
