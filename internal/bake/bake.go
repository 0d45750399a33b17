// Package bake decides, per region, whether the AMI for a definition exists,
// and makes it exist: reuse it, wait for a pending one, copy it from another
// region, or build it once with packer.
//
// An Image says what to bake; a Baker says how and does the work. Plan
// decides without changing anything (plan.go); Bake carries the plan out:
// a build under the lock (build.go), then the waits and copies (settle.go).
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
	"errors"
	"log/slog"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
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
	// TagInputs holds the group hashes of the fingerprint's inputs
	// (fingerprint.Groups), which plan --explain and diff compare.
	TagInputs = "ami-bakery:inputs"
	// TagImage names the image: its name in a project, or in the
	// single-template mode the template's file name without extension.
	TagImage = "ami-bakery:image"
	// A child's AMI records what it was built from: its parent's
	// fingerprint, and the parent's AMI in the AMI's own region.
	TagParentFingerprint = "ami-bakery:parent-fingerprint"
	TagParentAMI         = "ami-bakery:parent-ami"
	// TagBuild names the build an AMI was made by, when its template's
	// selection makes several (Image.Build).
	TagBuild = "ami-bakery:build"
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
	SubnetID       string // for the template's subnet variable (wiring.go)
	Endpoint       string // EC2 endpoint for the template's custom_endpoint_ec2 variable
	// RegionVar, SubnetVar and EndpointVar name template variables that
	// receive the primary region, SubnetID and Endpoint besides those the
	// template's sources use for them (--region-var, ...; wiring.go).
	RegionVar, SubnetVar, EndpointVar string
	// PackerDir is packer's working directory, against which the
	// template's relative paths and its manifest output resolve; "" is
	// the template's directory (PackerDir).
	PackerDir string

	// KMSKeys is the KMS key (id, ARN, alias or alias ARN), per
	// destination region, of the copies ami-bakery makes (--kms-key; a
	// project file's kms_keys). A region not listed uses the template's
	// region_kms_key_ids for an encrypted source, else the destination's
	// default EBS key. A key given here encrypts the copy even when the
	// source is not encrypted.
	KMSKeys map[string]string
	// AllowPublic lets the AMIs in other regions be public when the
	// source AMI is (--allow-public); without it they get the rest of the
	// source's sharing and a warning.
	AllowPublic bool

	// Packer holds what is passed through to packer (path, user vars, var
	// files, only, on-error, debug, progress, env, grace). Bake adds the
	// template, directory and ami-bakery's own variables.
	Packer packer.BuildOptions

	// In a project (bakery.hcl, internal/project): the image's name; the
	// image it is built from, whose fingerprint is part of this one's
	// (Spec.Parent, which Fingerprints and PlanAll set) and whose AMI in the build region the
	// template variable ParentVar receives; nil for a root. RoleARN is the
	// role every AWS call for the image goes through ("" for the run's own
	// credentials): its lookups, lock, build, tags, copies and publishing.
	// The Baker's clients are chosen by it, and by nothing else.
	Name      string
	Parent    *Image
	ParentVar string
	RoleARN   string
	// ParentAMIs is the parent's AMI per region, set by BakeGraph before
	// a child is baked: the build region's goes to ParentVar, and every
	// AMI of the child is tagged with the one of its region.
	ParentAMIs map[string]string
	// Base, for a root image, is the vendor image it starts from (base.go).
	Base *Base
	// Build, when the template's selection builds several AMIs, is the
	// one build this image makes (project.SplitBuilds): its AMIs are tagged
	// TagBuild. "" for a template of one build.
	Build string
	// Unresolved are the template's references to files that cannot be
	// resolved before the build ("file:line: expression (use)"): their
	// files are not in the fingerprint.
	Unresolved []string
}

// Baker bakes Images. Its fields are how: the AWS clients, packer, the
// lock, the waits and the provenance recorded on what it builds.
//
// Every AWS client is chosen by the image's role (Image.RoleARN; "" is the
// run's own credentials), through Clients, SSMClients, Account and Locks:
// no step reaches for another account behind the image's back.
type Baker struct {
	// Clients returns the EC2 client of a role in a region.
	Clients func(role, region string) images.EC2
	// Account returns the account id a role's calls act as (STS
	// GetCallerIdentity, resolved once per run and role): what "self" in
	// Image.Owners stands for when the owner of every AMI found is checked
	// again.
	Account func(ctx context.Context, role string) (string, error)
	// SSMClients returns the SSM client of a role in a region: for bases
	// read from a public parameter.
	SSMClients func(role, region string) images.SSM
	// Packer runs packer; nil means PackerCLI.
	Packer Packer
	// Locks, when set, returns the build lock of a role's account, which
	// serialises builds of the same fingerprint across processes.
	Locks func(role string) Locker
	// Wait waits for pending and copied AMIs.
	Wait    images.Waiter
	Log     *slog.Logger // nil discards
	Version string       // recorded in the provenance tags
	// Project returns the project's identity (project.Identity), tagged
	// TagProject on what it builds; nil or "" tags nothing. Called only
	// when an AMI is built.
	Project func() string
	// NameLogs makes every log line of an image's steps name the image,
	// as a project's do.
	NameLogs bool
	// GitCommit returns the commit of the definition's git work tree, or
	// "", for the provenance tags; called only when an AMI is built.
	GitCommit func() string
	// RebuildRevoked builds a definition whose AMI was revoked anew, as if
	// it had none (--rebuild-revoked); without it, bake refuses.
	RebuildRevoked bool
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
	// Restore: prune retired our AMI of this fingerprint (deprecated or
	// disabled it): it is made available again, never built anew.
	Restore Action = "restore"
	// Revoked: the only AMI of this fingerprint was revoked (ami-bakery
	// revoke): bake refuses, unless Baker.RebuildRevoked.
	Revoked Action = "revoked"
)

// Outcomes of a whole bake: Built when it ran packer, else Copied when some
// region got a copy, else Reused (waiting for a pending AMI is a reuse).
const (
	Reused   Action = "reused"
	Copied   Action = "copied"
	Built    Action = "built"
	Restored Action = "restored" // some region's AMI was restored, none built or copied
)

// Decision says what happens in one region.
type Decision struct {
	Region string `json:"region"`
	Action Action `json:"action"`
	AMI    string `json:"ami,omitempty"`
	Source string `json:"source_region,omitempty"` // for copy
	// Carries is what the region's AMI carries from its source, besides
	// the image: sharing and encryption (distribute.go). It is set by Plan
	// for copies, and by Bake for every region once it shares like its
	// source. It is not part of any JSON output.
	Carries *Carry `json:"-"`
	// found is the AMI as last described, when known.
	found *images.Image
}

// Plan is the decision for every region, made without changing anything.
type Plan struct {
	Fingerprint fingerprint.Result
	Regions     []Decision  // in the order of Image.Regions
	Base        *BaseStatus // the image's base, if it has one
	// missingTags are our AMIs found by their name that lack the fingerprint
	// tag (a tagging that failed after a build, or one EC2 does not show
	// yet); Bake tags them.
	missingTags []missingTag
}

type missingTag struct {
	region string
	image  images.Image
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

// Bake makes img's AMI exist in every region and returns the ids: BakeGraph
// of a one-image graph, the one way an image is baked.
func (b *Baker) Bake(ctx context.Context, img *Image) (*Outcome, error) {
	res, err := b.BakeGraph(ctx, []*Image{img}, 1)
	if err != nil {
		return nil, err
	}
	return res[0].Outcome, nil
}

// carryOut makes plan happen: the waits, a build under the lock when no
// region has the AMI, then the copies.
func (b *Baker) carryOut(ctx context.Context, img *Image, plan *Plan) (*Outcome, error) {
	var err error
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
	b.retag(ctx, img, plan)
	out := &Outcome{Fingerprint: plan.Fingerprint, Action: Reused}
	decisions := plan.Regions
	if restored, err := b.restore(ctx, img, decisions); err != nil {
		return nil, err
	} else if restored {
		out.Action = Restored
	}

	if plan.NeedsBuild() {
		if decisions, err = b.buildLocked(ctx, img, plan.Fingerprint); err != nil {
			return nil, err
		}
		if decisions[0].Action == Build {
			out.Action = Built
		}
	}
	// A region that fails does not undo the others: their copies are
	// kept, shared like the source, and reported; the next bake reuses them.
	settleErr := b.settle(ctx, img, fp, decisions, Wait, Copy)
	if err := errors.Join(settleErr, b.distribute(ctx, img, decisions)); err != nil {
		b.reportKept(decisions)
		return nil, err
	}
	for _, d := range decisions {
		if d.Action == Copy && (out.Action == Reused || out.Action == Restored) {
			out.Action = Copied
		}
	}
	out.Regions = decisions
	return out, nil
}

// ec2 returns the EC2 client of img's role in region.
func (b *Baker) ec2(img *Image, region string) images.EC2 { return b.Clients(img.RoleARN, region) }

// account returns the account img's calls act as.
func (b *Baker) account(ctx context.Context, img *Image) (string, error) {
	return b.Account(ctx, img.RoleARN)
}

// imageLog is the log of img's steps: each line names the image, in a
// project (NameLogs).
func (b *Baker) imageLog(img *Image) *slog.Logger {
	if img.Name == "" || !b.NameLogs {
		return b.log()
	}
	return b.log().With("image", img.Name)
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
