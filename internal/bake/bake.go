// Package bake decides, per region, whether the AMI for a definition exists,
// and makes it exist: reuse, wait for a pending one, copy from another
// region, or build once with packer.
//
// It is orchestration only. Fingerprints come from internal/fingerprint,
// EC2 goes through internal/images, packer runs through internal/packer; all
// three are reached through fields of Options so tests can replace them.
// Invariants: a build happens only when no trusted region has the AMI, at
// most once per Run, and every AMI it returns carries the fingerprint tag.
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

// Options describe one bake. Regions[0] is the primary region, where a
// build happens.
type Options struct {
	Spec     fingerprint.Spec
	Template *packer.Template
	Regions  []string
	Owners   []string // trusted owners; never empty
	TagKey   string   // tag that carries the fingerprint
	// ByName looks AMIs up by a name containing the fingerprint instead of
	// by tag: for AMIs shared from another account, whose tags are
	// invisible to this one.
	ByName bool
	// FingerprintVar is the template variable that receives the fingerprint.
	FingerprintVar string
	SubnetID       string
	Endpoint       string // EC2 endpoint for templates declaring aws_ec2_endpoint

	// Packer holds what is passed through to packer (path, user vars, var
	// files, only, on-error, debug, progress, env, grace). Run adds the
	// template, directory and its own variables.
	Packer packer.BuildOptions

	Clients   func(region string) images.EC2
	RunPacker func(ctx context.Context, o packer.BuildOptions) (*packer.Result, error)
	Wait      images.Waiter
	Log       *slog.Logger
	Version   string // recorded in the provenance tags
	// GitCommit returns the commit of the definition's git work tree, or
	// "", for the provenance tags; called only when an AMI is built.
	GitCommit func() string
	// Lock, when set, serialises builds of the same fingerprint across
	// processes.
	Lock Locker
}

// Locker takes a build lock for a fingerprint in a region. Acquire returns
// with the lock held, or with ErrLockLost if another holder built while it
// waited (the caller looks the AMI up again), or an error.
type Locker interface {
	Acquire(ctx context.Context, region, fingerprint string) (release func(context.Context) error, err error)
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

// Outcomes of a whole bake: the strongest action any region needed.
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
	Regions     []Decision
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

func (o *Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

// MakePlan fingerprints the definition and looks the AMI up in every region
// in parallel.
func MakePlan(ctx context.Context, o *Options) (*Plan, error) {
	if len(o.Regions) == 0 {
		return nil, errors.New("planning: no region given")
	}
	fp, err := fingerprint.Compute(ctx, o.Spec)
	if err != nil {
		return nil, err
	}
	o.log().Info("fingerprint computed", "fingerprint", fp.Sum, "algorithm", string(fp.Algorithm), "inputs", len(fp.Inputs))
	return o.plan(ctx, fp)
}

// plan looks up a computed fingerprint in every region and decides.
func (o *Options) plan(ctx context.Context, fp fingerprint.Result) (*Plan, error) {
	matches, err := o.lookupAll(ctx, fp.Sum)
	if err != nil {
		return nil, err
	}
	return &Plan{Fingerprint: fp, Regions: decide(o.Regions, matches)}, nil
}

// lookupAll looks up fp in every region at once.
func (o *Options) lookupAll(ctx context.Context, fp string) ([]images.Match, error) {
	matches := make([]images.Match, len(o.Regions))
	errs := make([]error, len(o.Regions))
	var wg sync.WaitGroup
	for i, r := range o.Regions {
		wg.Go(func() {
			m, err := o.lookup(ctx, r, fp)
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

// lookup finds fp's AMI in one region: by its tag, or else by a name that
// contains the fingerprint. The name is the second guard: it finds an AMI
// whose tag EC2 does not show yet (tags are eventually consistent), one
// built by a template that forgot the tag, and one shared from another
// account, whose tags are invisible here.
func (o *Options) lookup(ctx context.Context, region, fp string) (images.Match, error) {
	client := o.Clients(region)
	if !o.ByName {
		m, err := images.Find(ctx, client, images.Query{Owners: o.Owners, TagKey: o.TagKey, Fingerprint: fp})
		if err != nil || m.Available != nil || m.Pending != nil {
			return m, err
		}
	}
	m, err := images.Find(ctx, client, images.Query{Owners: o.Owners, Name: "*" + fp + "*"})
	if err != nil {
		return m, err
	}
	if im := m.Available; im != nil && !o.ByName {
		if slices.Contains(o.Owners, im.OwnerID) {
			o.log().Warn("found the AMI by its name, not its tag: it may be shared from another account, whose tags are invisible here",
				"region", region, "ami", im.ID, "owner", im.OwnerID,
				"hint", "use --lookup name when AMIs are built in another account and shared with this one")
		} else {
			o.log().Info("found the AMI by its name; its fingerprint tag is not visible (yet)", "region", region, "ami", im.ID)
		}
	}
	return m, nil
}

// decide turns lookups into decisions. A region with an available AMI
// reuses it; one with a pending AMI waits for it; a missing region copies
// from the first region (in the order given) that has one; if no region
// has one, the primary builds and the others copy from it.
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

// Run makes the AMI exist in every region and returns the ids.
func Run(ctx context.Context, o *Options) (*Outcome, error) {
	plan, err := MakePlan(ctx, o)
	if err != nil {
		return nil, err
	}
	fp := plan.Fingerprint.Sum
	// Pending AMIs are waited for first. One that fails is ignored from
	// then on (lookups skip failed images), so planning again builds or
	// copies instead.
	if err := o.settle(ctx, fp, plan.Regions, Wait); errors.Is(err, images.ErrNotAvailable) {
		o.log().Warn("a pending AMI with this fingerprint did not become available; planning again", "error", err)
		if plan, err = o.plan(ctx, plan.Fingerprint); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	out := &Outcome{Fingerprint: plan.Fingerprint, Action: Reused}
	decisions := plan.Regions

	if plan.NeedsBuild() {
		if decisions, err = o.buildLocked(ctx, fp, plan.Fingerprint); err != nil {
			return nil, err
		}
		if decisions[0].Action == Build {
			out.Action = Built
		}
	}
	if err := o.settle(ctx, fp, decisions, Wait, Copy); err != nil {
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

// buildLocked builds in the primary region under the build lock. Whoever
// held the lock before may have built meanwhile, so the lookup is repeated
// once the lock is held.
func (o *Options) buildLocked(ctx context.Context, fp string, res fingerprint.Result) ([]Decision, error) {
	primary := o.Regions[0]
	if err := o.checkTemplate(); err != nil {
		return nil, err
	}
	initFirst, err := o.needsInit(ctx)
	if err != nil {
		return nil, err
	}
	if o.Lock != nil {
		release, err := o.Lock.Acquire(ctx, primary, fp)
		if err != nil {
			return nil, err
		}
		defer func() {
			// Release even when ctx is cancelled: a held lock would make
			// the next job wait for the lease to run out.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if err := release(rctx); err != nil {
				o.log().Warn("could not release the build lock; others wait for its lease to end", "error", err)
			}
		}()
		matches, err := o.lookupAll(ctx, fp)
		if err != nil {
			return nil, err
		}
		if d := decide(o.Regions, matches); d[0].Action != Build {
			o.log().Info("another job built this fingerprint while we waited; using it")
			return d, nil
		}
	}
	amis, err := o.build(ctx, fp, res, initFirst)
	if err != nil {
		return nil, err
	}
	d := make([]Decision, len(o.Regions))
	for i, r := range o.Regions {
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
// against double builds).
func (o *Options) checkTemplate() error {
	if !o.Template.Declares(o.FingerprintVar) {
		return usererr.WithHint(
			fmt.Errorf("template %s does not declare the variable %q, so the AMI could not carry its fingerprint", o.Template.Path, o.FingerprintVar),
			"declare the variable and tag the AMI with it, e.g. in JSON: \"variables\": {%q: \"\"} and \"tags\": {%q: \"{{user `%s`}}\"}",
			o.FingerprintVar, o.TagKey, o.FingerprintVar)
	}
	for _, src := range o.Template.AmazonSources() {
		if slices.Contains(src.AMINameVars, o.FingerprintVar) {
			continue
		}
		err := fmt.Errorf("the ami_name of %s (%s) does not contain the fingerprint variable %q", src.Name, src.Pos, o.FingerprintVar)
		hint := fmt.Sprintf("name AMIs after the fingerprint, e.g. \"ami_name\": \"app-{{user `%s`}}\" (HCL2: \"app-${var.%s}\")", o.FingerprintVar, o.FingerprintVar)
		if o.ByName {
			return usererr.WithHint(fmt.Errorf("looking up by name: %w", err), "%s", hint)
		}
		o.log().Warn(err.Error()+"; concurrent or retried builds cannot be told apart by name", "hint", hint)
	}
	return nil
}

// build runs packer in the primary region and returns region -> AMI for
// every AMI it made, each verified to carry the fingerprint tag.
func (o *Options) build(ctx context.Context, fp string, res fingerprint.Result, initFirst bool) (map[string]string, error) {
	primary := o.Regions[0]
	bo := o.Packer
	bo.Dir, bo.Template = workDir(o.Template.Path)
	bo.Vars = append([]packer.Var{{Name: o.FingerprintVar, Value: fp}}, o.templateVars(primary)...)
	bo.Vars = append(bo.Vars, o.Packer.Vars...)
	o.log().Info("no AMI has this fingerprint; running packer", "region", primary, "template", o.Template.Path)
	if initFirst {
		o.log().Info("installing the template's plugins with packer init")
		if err := packer.Init(ctx, bo); err != nil {
			return nil, fmt.Errorf("preparing the build: %w", err)
		}
	}
	run := o.RunPacker
	if run == nil {
		run = packer.Build
	}
	start := time.Now()
	result, err := run(ctx, bo)
	if err != nil && duplicateName(err) {
		// Another job, not serialised by our lock (another tool, a lock
		// lost to EC2 errors), made the AMI with this fingerprint's name.
		if m, lerr := o.lookup(ctx, primary, fp); lerr == nil && (m.Available != nil || m.Pending != nil) {
			im := m.Available
			if im == nil {
				w, err := o.Wait.WaitAvailable(ctx, o.Clients(primary), m.Pending.ID)
				if err != nil {
					return nil, err
				}
				im = &w
			}
			o.log().Warn("packer found an AMI with this fingerprint's name already; using it", "region", primary, "ami", im.ID)
			return map[string]string{primary: im.ID}, nil
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
	o.log().Info("packer built the AMI", "region", primary, "ami", amis[primary], "took", time.Since(start).Round(time.Millisecond).String())
	want := o.provenance(fp, res)
	for r, id := range amis {
		if err := o.verifyTags(ctx, r, id, want); err != nil {
			return nil, err
		}
	}
	return amis, nil
}

// needsInit says whether `packer init` must run before the build: for an
// HCL2 template that lists required_plugins. Packers before 1.7 have no
// init and reject the block, so such a build is refused before it starts.
// With a stand-in for packer (tests), there is nothing to ask.
func (o *Options) needsInit(ctx context.Context) (bool, error) {
	if !o.Template.RequiredPlugins || o.RunPacker != nil {
		return false, nil
	}
	ok, version, err := packer.InitSupported(ctx, o.Packer)
	if err != nil {
		return false, fmt.Errorf("preparing the build: %w", err)
	}
	if !ok {
		return false, usererr.WithHint(fmt.Errorf("the template lists required_plugins, which %s cannot read", version),
			"use packer 1.7 or later (--packer), or drop the packer { required_plugins } block for packer 1.6, whose builders are built in")
	}
	return true, nil
}

// duplicateName reports whether packer failed because the AMI name is
// taken: EC2's InvalidAMIName.Duplicate, or packer 1.6's own pre-check.
func duplicateName(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "InvalidAMIName.Duplicate") || strings.Contains(msg, "is used by an existing AMI")
}

// templateVars are the variables ami-bakery supplies to templates that
// declare them, as the original tool did.
func (o *Options) templateVars(region string) []packer.Var {
	var vs []packer.Var
	add := func(name, value string) {
		if value != "" && o.Template.Declares(name) {
			vs = append(vs, packer.Var{Name: name, Value: value})
		}
	}
	add(VarRegion, region)
	add(VarSubnetID, o.SubnetID)
	add(VarEndpoint, o.Endpoint)
	return vs
}

func (o *Options) provenance(fp string, res fingerprint.Result) map[string]string {
	tags := map[string]string{o.TagKey: fp, TagAlgorithm: string(res.Algorithm)}
	if o.Version != "" {
		tags[TagVersion] = o.Version
	}
	if o.GitCommit != nil {
		if c := o.GitCommit(); c != "" {
			tags[TagCommit] = c
		}
	}
	return tags
}

// verifyTags makes sure a freshly built AMI carries the fingerprint (so the
// next run finds it instead of building forever) and the provenance tags.
func (o *Options) verifyTags(ctx context.Context, region, id string, want map[string]string) error {
	client := o.Clients(region)
	im, err := images.Describe(ctx, client, id)
	if err != nil {
		return fmt.Errorf("checking the tags of the new AMI in %s: %w", region, err)
	}
	written, err := images.EnsureTags(ctx, client, im, want)
	if err != nil {
		return fmt.Errorf("tagging the new AMI in %s: %w", region, err)
	}
	for _, k := range written {
		if k == o.TagKey {
			o.log().Warn("the template did not tag the AMI with its fingerprint; ami-bakery tagged it", "ami", id, "region", region,
				"hint", fmt.Sprintf("add \"%s\": \"{{user `%s`}}\" to the builder's tags", o.TagKey, o.FingerprintVar))
		}
	}
	return nil
}

// settle carries out the decisions of the given actions, one action after
// the other (Wait before Copy: a copy needs an available source), each
// across all regions at once.
func (o *Options) settle(ctx context.Context, fp string, ds []Decision, phases ...Action) error {
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
			wg.Go(func() { errs[i] = o.settleOne(ctx, fp, &ds[i], have) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
	}
	return nil
}

func (o *Options) settleOne(ctx context.Context, fp string, d *Decision, have map[string]string) error {
	w := o.Wait
	w.Progress = func(format string, args ...any) {
		o.log().Info(fmt.Sprintf(format, args...), "region", d.Region)
	}
	client := o.Clients(d.Region)
	if d.Action == Copy {
		srcID := have[d.Source]
		src, err := images.Describe(ctx, o.Clients(d.Source), srcID)
		if err != nil {
			return err
		}
		o.log().Info("copying the AMI", "from", d.Source, "to", d.Region, "ami", srcID)
		id, err := images.Copy(ctx, client, images.CopyRequest{SourceRegion: d.Source, Source: src, Token: copyToken(fp, d.Region)})
		if err != nil {
			return err
		}
		d.AMI = id
	} else {
		o.log().Info("an AMI with this fingerprint is pending; waiting for it", "region", d.Region, "ami", d.AMI)
	}
	im, err := w.WaitAvailable(ctx, client, d.AMI)
	if err != nil {
		return fmt.Errorf("in %s: %w", d.Region, err)
	}
	if d.Action == Copy {
		// CopyImage copies tags only where the account may; make sure the
		// copy can be found by its fingerprint.
		if _, err := images.EnsureTags(ctx, client, im, map[string]string{o.TagKey: fp}); err != nil {
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
