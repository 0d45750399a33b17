// Package images finds, waits for and tags AMIs in EC2.
//
// It is the only package that knows EC2's image API. It talks to EC2 through
// the narrow EC2 interface below, declared with the SDK's own signatures, so
// that *ec2.Client, the SDK's paginators and test doubles all fit.
//
// Trust rule: every lookup names the owners it trusts. EC2 lets any account
// put tags on a public AMI it does not own, so a DescribeImages call without
// owners could return an attacker's image carrying our tag (CVE-2018-15869,
// "whoAMI"). Find refuses to run without owners, and re-checks every result
// against account ids it knows: "self" is checked against the caller's own
// account (Query.Account, which the caller resolves once, through STS), so
// an endpoint that ignored the Owners parameter still could not hand back
// a stranger's image.
package images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 is the part of the EC2 API that ami-bakery uses.
type EC2 interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
	CreateTags(ctx context.Context, in *ec2.CreateTagsInput, optFns ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error)
	CopyImage(ctx context.Context, in *ec2.CopyImageInput, optFns ...func(*ec2.Options)) (*ec2.CopyImageOutput, error)
	// DeregisterImage discards a failed copy (Discard).
	DeregisterImage(ctx context.Context, in *ec2.DeregisterImageInput, optFns ...func(*ec2.Options)) (*ec2.DeregisterImageOutput, error)
	// Restoring an AMI prune retired (Restore).
	EnableImage(ctx context.Context, in *ec2.EnableImageInput, optFns ...func(*ec2.Options)) (*ec2.EnableImageOutput, error)
	DisableImageDeprecation(ctx context.Context, in *ec2.DisableImageDeprecationInput, optFns ...func(*ec2.Options)) (*ec2.DisableImageDeprecationOutput, error)
	DeleteTags(ctx context.Context, in *ec2.DeleteTagsInput, optFns ...func(*ec2.Options)) (*ec2.DeleteTagsOutput, error)
	// Sharing (sharing.go).
	DescribeImageAttribute(ctx context.Context, in *ec2.DescribeImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImageAttributeOutput, error)
	ModifyImageAttribute(ctx context.Context, in *ec2.ModifyImageAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifyImageAttributeOutput, error)
	DescribeSnapshotAttribute(ctx context.Context, in *ec2.DescribeSnapshotAttributeInput, optFns ...func(*ec2.Options)) (*ec2.DescribeSnapshotAttributeOutput, error)
	ModifySnapshotAttribute(ctx context.Context, in *ec2.ModifySnapshotAttributeInput, optFns ...func(*ec2.Options)) (*ec2.ModifySnapshotAttributeOutput, error)
}

// Image is what ami-bakery needs to know of an AMI.
type Image struct {
	ID      string
	Name    string
	OwnerID string
	// OwnerAlias is EC2's alias for the owner ("amazon",
	// "aws-marketplace"), if any.
	OwnerAlias string
	State      string
	// StateReason is EC2's reason for a failed image, "code: message".
	StateReason string
	Created     time.Time
	Tags        map[string]string
	// Devices are the EBS block devices, in the image's order.
	Devices []Device
	// Deprecation is when the image is (or was) deprecated; zero when not.
	Deprecation time.Time
}

// TagPruneAfter marks an AMI that ami-bakery's prune retired
// (deprecated or disabled): after that date a later prune deletes it.
const TagPruneAfter = "ami-bakery:prune-after"

// TagRevoked marks an AMI that `ami-bakery revoke` took back: no channel
// may hold it again, and a lookup never takes it (Match.Revoked). Its value
// is when it was revoked.
const TagRevoked = "ami-bakery:revoked"

// Retired reports whether the image is one prune retired: disabled, or
// deprecated with prune's tag. A deprecation someone scheduled without it
// is theirs to keep.
func (im Image) Retired() bool {
	return im.State == string(types.ImageStateDisabled) ||
		!im.Deprecation.IsZero() && im.Tags[TagPruneAfter] != ""
}

// Query says which AMI stands for a fingerprint.
type Query struct {
	// Owners are the trusted owners, each one that ValidOwner accepts.
	// At least one is required.
	Owners []string
	// Account is the caller's own account id, which "self" stands for;
	// required when Owners names "self".
	Account string
	// TagKey and Fingerprint select by tag: TagKey=Fingerprint.
	TagKey      string
	Fingerprint string
	// Name, when set, selects by AMI name instead of by tag (the name may
	// contain EC2's * and ? wildcards). Used where tags cannot be seen, as
	// from an account the AMI is shared with.
	Name string
}

// isAccountID reports whether s is an account id: 12 digits. A loop, not
// a regexp: compiling ^[0-9]{12}$ was a visible share of the no-op's CPU
// (issue 25).
func isAccountID(s string) bool {
	return len(s) == 12 && strings.Trim(s, "0123456789") == ""
}

// ValidOwner reports whether s is an owner EC2 accepts in DescribeImages.
func ValidOwner(s string) bool {
	return s == "self" || s == "amazon" || s == "aws-marketplace" || isAccountID(s)
}

// Match is the result of a lookup: the AMI to use, if any, and a pending
// AMI to wait for when no available one exists yet.
type Match struct {
	Available *Image // newest available match
	Pending   *Image // newest pending match, set only when Available is nil
	// Retired is the newest of the caller's own matches that prune retired
	// (Image.Retired), set only when there is neither: restored instead
	// of built again.
	Retired *Image
	// Revoked is the newest revoked match (TagRevoked), set only when
	// there is nothing else: bake refuses to build it again unless told.
	Revoked *Image
}

// Found reports whether the match names an AMI, in any of its states.
// A revoked AMI is not found.
func (m Match) Found() bool { return m.Available != nil || m.Pending != nil || m.Retired != nil }

// Find looks up the AMIs matching q among the trusted owners' images, across
// all pages, and picks the newest available one (ties broken by the smaller
// image id, so every caller agrees). Images in other states (failed,
// deregistered, disabled) are ignored.
func Find(ctx context.Context, client EC2, q Query) (Match, error) {
	if len(q.Owners) == 0 {
		return Match{}, errors.New("looking up images: no trusted owners given")
	}
	if err := checkAccount(q.Owners, q.Account); err != nil {
		return Match{}, err
	}
	in := &ec2.DescribeImagesInput{Owners: q.Owners, IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true)}
	switch {
	case q.Name != "":
		in.Filters = []types.Filter{{Name: aws.String("name"), Values: []string{q.Name}}}
	case q.TagKey != "" && q.Fingerprint != "":
		in.Filters = []types.Filter{{Name: aws.String("tag:" + q.TagKey), Values: []string{q.Fingerprint}}}
	default:
		return Match{}, errors.New("looking up images: neither a name nor a tag to look for")
	}
	in.Filters = append(in.Filters, types.Filter{Name: aws.String("state"), Values: lookupStates})

	var all []Image
	p := ec2.NewDescribeImagesPaginator(client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return Match{}, fmt.Errorf("looking up images: %w", err)
		}
		for _, im := range out.Images {
			all = append(all, fromSDK(im))
		}
	}
	return choose(all, q), nil
}

// choose applies the selection rules to what EC2 returned. It re-checks what
// the filters should already guarantee, so that a filter EC2 ignored can
// never let a stranger's image through.
func choose(all []Image, q Query) Match {
	var avail, pending, retired, revoked []Image
	for _, im := range all {
		if !trusted(im, q) {
			continue
		}
		if q.Name == "" && im.Tags[q.TagKey] != q.Fingerprint {
			continue
		}
		own := q.Account != "" && im.OwnerID == q.Account
		switch {
		case im.Tags[TagRevoked] != "":
			revoked = append(revoked, im)
		case own && im.Retired() && (im.State == string(types.ImageStateAvailable) || im.State == string(types.ImageStateDisabled)):
			retired = append(retired, im)
		case im.State == string(types.ImageStateAvailable):
			avail = append(avail, im)
		case im.State == string(types.ImageStatePending):
			pending = append(pending, im)
		}
	}
	var m Match
	switch {
	case len(avail) > 0:
		m.Available = newest(avail)
	case len(pending) > 0:
		m.Pending = newest(pending)
	case len(retired) > 0:
		m.Retired = newest(retired)
	case len(revoked) > 0:
		m.Revoked = newest(revoked)
	}
	return m
}

// lookupStates are the states a lookup asks for: an AMI being made, one
// made, and one of ours that prune disabled, to restore.
var lookupStates = []string{ // 3: BatchSize counts them
	string(types.ImageStateAvailable), string(types.ImageStatePending), string(types.ImageStateDisabled)}

// checkAccount refuses a lookup among "self" whose account is unknown:
// without it, the owner of what EC2 returns could not be checked again.
func checkAccount(owners []string, account string) error {
	if slices.Contains(owners, "self") && !isAccountID(account) {
		return fmt.Errorf("looking up images: the caller's account id is unknown (%q), so images owned by \"self\" cannot be checked", account)
	}
	return nil
}

// trusted reports whether im is owned by a trusted owner, judged by what
// the image says of itself, not by the Owners parameter EC2 was sent:
// "self" stands for q.Account, an account id for itself, and the aliases
// "amazon" and "aws-marketplace" match EC2's owner alias, as in EC2's own
// Owners filter.
func trusted(im Image, q Query) bool {
	if im.OwnerID == "" {
		return false
	}
	for _, o := range q.Owners {
		switch o {
		case "self":
			if im.OwnerID == q.Account {
				return true
			}
		case "amazon", "aws-marketplace":
			if im.OwnerAlias == o {
				return true
			}
		default:
			if o == im.OwnerID {
				return true
			}
		}
	}
	return false
}

func newest(ims []Image) *Image {
	sort.Slice(ims, func(i, j int) bool {
		if !ims[i].Created.Equal(ims[j].Created) {
			return ims[i].Created.After(ims[j].Created)
		}
		return ims[i].ID < ims[j].ID
	})
	im := ims[0]
	return &im
}

func fromSDK(im types.Image) Image {
	out := Image{
		ID:         aws.ToString(im.ImageId),
		Name:       aws.ToString(im.Name),
		OwnerID:    aws.ToString(im.OwnerId),
		OwnerAlias: aws.ToString(im.ImageOwnerAlias),
		State:      string(im.State),
		Tags:       make(map[string]string, len(im.Tags)),
	}
	if t, err := time.Parse(time.RFC3339, aws.ToString(im.CreationDate)); err == nil {
		out.Created = t
	}
	if t, err := time.Parse(time.RFC3339, aws.ToString(im.DeprecationTime)); err == nil {
		out.Deprecation = t
	}
	for _, t := range im.Tags {
		out.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	if r := im.StateReason; r != nil {
		out.StateReason = aws.ToString(r.Message)
		if code := aws.ToString(r.Code); !strings.HasPrefix(out.StateReason, code) {
			out.StateReason = code + ": " + out.StateReason
		}
	}
	out.Devices = devicesFromSDK(im.BlockDeviceMappings)
	return out
}

// Describe returns one image by id, or an error if EC2 does not know it.
func Describe(ctx context.Context, client EC2, id string) (Image, error) {
	out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		return Image{}, fmt.Errorf("describing image %s: %w", id, err)
	}
	if len(out.Images) != 1 {
		return Image{}, fmt.Errorf("describing image %s: EC2 returned %d images", id, len(out.Images))
	}
	return fromSDK(out.Images[0]), nil
}

// ErrNotAvailable is wrapped by WaitAvailable's error when the image ended in
// a state other than available (failed, deregistered, ...).
var ErrNotAvailable = errors.New("the image will not become available")

// Progress receives a line for people while something is waited on.
type Progress func(format string, args ...any)

// Waiter says how to wait for an image: how often to poll, for how long at
// most, and how often to tell people that the wait goes on.
type Waiter struct {
	Poll, Timeout, ReportEvery time.Duration
	Progress                   Progress
}

// WaitAvailable polls an image until it is available. A failed or vanished
// image, the timeout or ctx ends the wait with an error.
func (w Waiter) WaitAvailable(ctx context.Context, client EC2, id string) (Image, error) {
	poll := w.Poll
	if poll <= 0 {
		poll = 5 * time.Second
	}
	start := time.Now()
	lastReport := start
	var deadline <-chan time.Time
	if w.Timeout > 0 {
		t := time.NewTimer(w.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		im, err := Describe(ctx, client, id)
		if err != nil {
			return Image{}, fmt.Errorf("waiting for %s: %w", id, err)
		}
		switch im.State {
		case string(types.ImageStateAvailable):
			return im, nil
		case string(types.ImageStatePending):
		default:
			return Image{}, fmt.Errorf("waiting for %s: image is %s%s: %w", id, im.State, reason(im), ErrNotAvailable)
		}
		if w.Progress != nil && w.ReportEvery > 0 && time.Since(lastReport) >= w.ReportEvery {
			w.Progress("waiting for %s: %s after %s", id, im.State, time.Since(start).Round(time.Second))
			lastReport = time.Now()
		}
		select {
		case <-ctx.Done():
			return Image{}, fmt.Errorf("waiting for %s: %w", id, ctx.Err())
		case <-deadline:
			return Image{}, fmt.Errorf("waiting for %s: still %s after %s", id, im.State, w.Timeout)
		case <-time.After(poll):
		}
	}
}

// CopyRequest asks for a copy of an image into the client's region.
type CopyRequest struct {
	SourceRegion string
	Source       Image
	// Token makes the copy idempotent: EC2 returns the same copy for the
	// same token, so a retry never makes two.
	Token string
	// Encrypted asks for an encrypted copy, under KMSKeyID or, when that
	// is empty, the destination's default EBS key.
	Encrypted bool
	KMSKeyID  string
}

// Copy starts copying an image into dst's region, tags included, and
// returns the new image id (the copy is pending until it completes).
func Copy(ctx context.Context, dst EC2, r CopyRequest) (string, error) {
	in := &ec2.CopyImageInput{
		SourceRegion:  aws.String(r.SourceRegion),
		SourceImageId: aws.String(r.Source.ID),
		Name:          aws.String(r.Source.Name),
		ClientToken:   aws.String(r.Token),
		CopyImageTags: aws.Bool(true),
	}
	if r.Encrypted {
		in.Encrypted = aws.Bool(true)
		if r.KMSKeyID != "" {
			in.KmsKeyId = aws.String(r.KMSKeyID)
		}
	}
	out, err := dst.CopyImage(ctx, in)
	if err != nil {
		return "", fmt.Errorf("copying %s from %s: %w", r.Source.ID, r.SourceRegion, err)
	}
	return aws.ToString(out.ImageId), nil
}

// EnsureTags makes sure im carries every tag in want, writing only the ones
// that are missing or different. It returns the keys it had to write.
func EnsureTags(ctx context.Context, client EC2, im Image, want map[string]string) ([]string, error) {
	var tags []types.Tag
	var keys []string
	for k, v := range want {
		if cur, ok := im.Tags[k]; ok && cur == v {
			continue
		}
		tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		keys = append(keys, k)
	}
	if len(tags) == 0 {
		return nil, nil
	}
	sort.Strings(keys)
	sort.Slice(tags, func(i, j int) bool { return *tags[i].Key < *tags[j].Key })
	if _, err := client.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{im.ID}, Tags: tags}); err != nil {
		return nil, fmt.Errorf("tagging %s with %s: %w", im.ID, strings.Join(keys, ", "), err)
	}
	return keys, nil
}

// Restore undoes what prune did to im (Image.Retired): it enables a
// disabled AMI, cancels its deprecation and removes prune's prune-after
// date, so that the next prune judges it afresh. Enabling gives back no
// sharing: a disabled AMI lost its launch permissions, and bake's copies
// step shares it like its source again where it has one.
func Restore(ctx context.Context, client EC2, im Image) error {
	if im.State == string(types.ImageStateDisabled) {
		if _, err := client.EnableImage(ctx, &ec2.EnableImageInput{ImageId: aws.String(im.ID)}); err != nil {
			return fmt.Errorf("restoring %s: enabling it: %w", im.ID, err)
		}
	}
	if !im.Deprecation.IsZero() {
		if _, err := client.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: aws.String(im.ID)}); err != nil {
			return fmt.Errorf("restoring %s: cancelling its deprecation: %w", im.ID, err)
		}
	}
	if _, ok := im.Tags[TagPruneAfter]; ok {
		if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{im.ID}, Tags: []types.Tag{{Key: aws.String(TagPruneAfter)}}}); err != nil {
			return fmt.Errorf("restoring %s: removing %s: %w", im.ID, TagPruneAfter, err)
		}
	}
	return nil
}

// RemoveTags deletes the tags keys of im that it carries.
func RemoveTags(ctx context.Context, client EC2, im Image, keys ...string) error {
	var tags []types.Tag
	for _, k := range keys {
		if _, ok := im.Tags[k]; ok {
			tags = append(tags, types.Tag{Key: aws.String(k)})
		}
	}
	if len(tags) == 0 {
		return nil
	}
	if _, err := client.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{im.ID}, Tags: tags}); err != nil {
		return fmt.Errorf("removing tags of %s: %w", im.ID, err)
	}
	return nil
}
