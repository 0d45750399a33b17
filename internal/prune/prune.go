// Package prune retires the AMIs ami-bakery built that nothing needs any
// more, in restic's shape: PlanPrune reads everything and decides, the dry
// run prints that plan, and Execute acts on the plan and on nothing else.
// It deletes only what is provably ours and provably unused. The rules,
// each with the test that fails when it is broken:
//
// What is a reference (a Source each, DefaultSources; refs_test.go
// TestReferenceKinds): an instance in any state but terminated, a stopped
// one too; every version of every launch template, its resolve:ssm: image
// id resolved (a parameter that no longer exists names nothing); an Auto
// Scaling group's launch template, its own and its mixed-instances
// policy's, and a launch configuration; every SSM parameter of the account
// whatever its name (DescribeParameters, then GetParameters: a path could
// not list the names without a leading slash), an AMI id
// (ami-[0-9a-f]{8,17}) anywhere in its value.
//
// What is ours (identity_test.go TestIdentity, TestIdentityAmbiguous): an
// AMI this account owns whose ami-bakery:image tag names an image given
// (Options.Images), whose ami-bakery:project tag is that image's project
// and whose variant (the "v" group of its ami-bakery:inputs tag,
// bake.VariantOfTags) is that image's. An AMI without the image tag is
// never ours; one without the project or inputs tag is ours only with
// AdoptUntagged (Plan.Untagged counts those left alone); one that two
// images could claim is not. Only ours are candidates; every other AMI
// stays.
//
// What is current (current_test.go TestCurrentAgreesWithBake): an AMI
// bake's lookup would find for the image's current fingerprint
// (bake.IsCurrent: the fingerprint tag, or a name containing it), in any
// state.
//
// What is kept: the current AMIs; AMIs referenced; AMIs pending, failed
// (except in delete mode: EC2 neither deprecates nor disables them) or
// protected from deregistration (rules_test.go TestStatesKept); AMIs
// public or shared with another account, or whose snapshot is, unless
// IncludeShared (TestReferenceKinds, TestIncludeShared); AMIs created or
// last launched within MinAge, and the newest Keep of each lineage and
// region (TestMinAgeAndKeep); AMIs retired by an earlier run until their
// ami-bakery:prune-after date, or with an unreadable one (TestLifecycle,
// TestStatesKept); and every ancestor (ami-bakery:parent-ami, read from
// every own AMI of the region) of an AMI that stays, transitively, whoever
// that AMI belongs to (ancestry_test.go).
//
// What a change is: deprecate or disable now and tag prune-after (now +
// Grace), and on a later run past that date delete; delete deregisters
// the AMI and deletes its snapshots, except one another AMI uses
// (execute_test.go TestSharedSnapshotSurvives). Snapshots are tagged with
// the AMI and its identity first, so a rerun after a crash deletes them,
// and only such snapshots of ours, unused and unshared (TestOrphans,
// TestDeleteMarksSnapshots). At most MaxDeletions changes are made in one
// run, each deprecation, disabling, deregistration and snapshot deletion
// counting one (TestCapCountsEveryChange).
//
// What a failure does: planning never changes anything, and any error
// while reading images, references or sharing fails the plan, so nothing
// is decided on partial knowledge (TestReferenceReadErrors). Execute
// refuses to act without the build lock, holds the lock of every lineage
// it changes (TestExecuteTakesTheLock), re-reads references, AMIs, parents
// and sharing under it and leaves alone what became used, shared, an
// ancestor or gone (TestExecuteRereads), and stops at its first error.
// Options a time.Duration cannot hold, or that make no sense, are refused
// (TestParseAge, TestOptionsRefused).
//
// property_test.go hunts, in random fleets, for any change to an AMI these
// rules keep, and checks that a second run changes nothing new.
package prune

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/autoscaling"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/images"
)

// Tags prune reads and writes; the identity tags are bake's.
const (
	TagProject    = bake.TagProject
	TagImage      = bake.TagImage
	TagInputs     = bake.TagInputs
	TagParentAMI  = bake.TagParentAMI
	TagPruneAfter = images.TagPruneAfter
	// TagPrunedFrom marks a snapshot before its AMI is deregistered, so
	// that a rerun after a crash between the two finds and deletes it.
	TagPrunedFrom = "ami-bakery:pruned-from"
)

// EC2 is the part of the EC2 API prune uses, with the SDK's signatures.
type EC2 interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	DescribeImageAttribute(ctx context.Context, in *ec2.DescribeImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
	DescribeInstances(ctx context.Context, in *ec2.DescribeInstancesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeInstancesOutput, error)
	DescribeLaunchTemplates(ctx context.Context, in *ec2.DescribeLaunchTemplatesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error)
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	DescribeSnapshots(ctx context.Context, in *ec2.DescribeSnapshotsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotsOutput, error)
	DescribeSnapshotAttribute(ctx context.Context, in *ec2.DescribeSnapshotAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	EnableImageDeprecation(ctx context.Context, in *ec2.EnableImageDeprecationInput, optFns ...func(*ec2.Options)) (*ec2.EnableImageDeprecationOutput, error)
	DisableImage(ctx context.Context, in *ec2.DisableImageInput, optFns ...func(*ec2.Options)) (*ec2.DisableImageOutput, error)
	DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, optFns ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
	DeleteSnapshot(ctx context.Context, in *ec2.DeleteSnapshotInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSnapshotOutput, error)
}

// SSM is the part of the SSM API prune uses.
type SSM interface {
	DescribeParameters(ctx context.Context, in *ssm.DescribeParametersInput, optFns ...func(*ssm.Options)) (*ssm.DescribeParametersOutput, error)
	GetParameters(ctx context.Context, in *ssm.GetParametersInput, optFns ...func(*ssm.Options)) (*ssm.GetParametersOutput, error)
}

// AutoScaling is the part of the Auto Scaling API prune uses.
type AutoScaling interface {
	DescribeAutoScalingGroups(ctx context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error)
	DescribeLaunchConfigurations(ctx context.Context, in *autoscaling.DescribeLaunchConfigurationsInput, optFns ...func(*autoscaling.Options)) (*autoscaling.DescribeLaunchConfigurationsOutput, error)
}

// Clients gives each service's client for a region.
type Clients struct {
	EC2         func(region string) EC2
	SSM         func(region string) SSM
	AutoScaling func(region string) AutoScaling
}

// Mode is what happens to an AMI nothing needs.
type Mode string

// The modes.
const (
	ModeDeprecate Mode = "deprecate"
	ModeDisable   Mode = "disable"
	ModeDelete    Mode = "delete"
)

// Decision is what the plan does with one AMI.
type Decision string

// The decisions.
const (
	Keep      Decision = "keep"
	Deprecate Decision = "deprecate"
	Disable   Decision = "disable"
	Delete    Decision = "delete"
)

// Current is one lineage whose AMIs are candidates: an image of a
// project, in one variant, with its current fingerprint and the tag that
// carries it. An AMI belongs to it when its ami-bakery:project tag is
// Project, its ami-bakery:image tag Name, and the variant its
// ami-bakery:inputs tag records (bake.VariantOfTags) Variant.
type Current struct {
	Project string // as bake writes it in ami-bakery:project
	Name    string // the image, as in ami-bakery:image
	Variant string // bake.Variant of the image's fingerprint
	// Fingerprint is the current fingerprint, TagKey the tag carrying it
	// (--tag-key).
	Fingerprint, TagKey string
}

// key names the lineage in maps.
func (c Current) key() string { return c.Project + "\x00" + c.Name + "\x00" + c.Variant }

// Options say what to prune and how.
type Options struct {
	Images  []Current // the images whose AMIs are candidates
	Regions []string
	Keep    int // newest AMIs kept per image and region
	MinAge  time.Duration
	Grace   time.Duration // deprecate: how long before a later run deletes
	Mode    Mode
	// IncludeShared prunes AMIs shared with other accounts or public too.
	IncludeShared bool
	// AdoptUntagged takes an AMI of one of the images (its
	// ami-bakery:image tag) that lacks the ami-bakery:project or the
	// ami-bakery:inputs tag (one built before they existed) for the
	// lineage's; without it such an AMI is left alone and counted
	// (Plan.Untagged). An AMI that names another project or variant is
	// never taken.
	AdoptUntagged bool
	// Sources are the kinds of reference read; nil means DefaultSources.
	Sources []Source
	Now     time.Time
}

// validate refuses Options that would make time arithmetic or the rules
// meaningless.
func (o Options) validate() error {
	switch {
	case o.Mode != ModeDeprecate && o.Mode != ModeDisable && o.Mode != ModeDelete:
		return fmt.Errorf("planning a prune: unknown mode %q", o.Mode)
	case o.Keep < 0 || o.MinAge < 0 || o.Grace < 0:
		return fmt.Errorf("planning a prune: negative keep (%d), minimum age (%s) or grace (%s)", o.Keep, o.MinAge, o.Grace)
	case o.Now.IsZero():
		return errors.New("planning a prune: no time given (Options.Now)")
	}
	for _, c := range o.Images {
		if c.Name == "" || c.Fingerprint == "" || c.TagKey == "" {
			return fmt.Errorf("planning a prune: image %q lacks a name, a fingerprint or a tag key", c.Name)
		}
	}
	return nil
}

func (o Options) sources() []Source {
	if o.Sources == nil {
		return DefaultSources
	}
	return o.Sources
}
