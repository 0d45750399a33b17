package images

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file resolves a root image's base: the vendor image it starts from
// (a project's base block, the --base-* flags), newest first, so that a new
// vendor release changes the fingerprint.

// BaseQuery says which vendor image a root image is built from: the newest
// available image among Owners matching Filters, or the image id held by
// the SSM parameter SSMParameter (a public parameter such as
// /aws/service/canonical/..., whose value differs per region).
type BaseQuery struct {
	Owners            []string          // required for a search: never an owner-less one
	Account           string            // the caller's account, for "self"
	Filters           map[string]string // EC2 filter name -> value (wildcards allowed)
	IncludeDeprecated bool
	SSMParameter      string
}

// Base is a resolved base image in one region.
type Base struct {
	ID, Name, OwnerID string
	Image             Image
}

// Identity is what enters the fingerprint: owner and name, identical in
// every region for a vendor's release; the id where the image has no name.
func (b Base) Identity() string {
	if b.Name == "" {
		return b.ID
	}
	return b.OwnerID + "/" + b.Name
}

// SSM is the part of the SSM API that resolving a base uses.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

var imageID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^ami-[0-9a-f]{8,17}$`) })

// ResolveBase finds the base in one region: across every page of
// DescribeImages among the owners, with the filters and state available,
// the newest CreationDate, ties broken by the smaller id. Deprecated images
// count only with IncludeDeprecated; when only deprecated images match,
// the error says so.
func ResolveBase(ctx context.Context, client EC2, region string, q BaseQuery) (Base, error) {
	if len(q.Owners) == 0 {
		return Base{}, usererr.WithHint(errors.New("resolving the base image: no owners given"),
			"name the vendor's account in the base's owners (e.g. 099720109477 for Canonical, amazon): an owner-less search could return anyone's image")
	}
	if err := checkAccount(q.Owners, q.Account); err != nil {
		return Base{}, err
	}
	found, err := searchBase(ctx, client, q, q.IncludeDeprecated)
	if err != nil {
		return Base{}, fmt.Errorf("resolving the base image in %s: %w", region, err)
	}
	if found != nil {
		return Base{ID: found.ID, Name: found.Name, OwnerID: found.OwnerID, Image: *found}, nil
	}
	what := fmt.Sprintf("no available image among owners %s matches the filters %s in %s",
		strings.Join(q.Owners, ","), describeFilters(q.Filters), region)
	if !q.IncludeDeprecated {
		if dep, err := searchBase(ctx, client, q, true); err == nil && dep != nil {
			return Base{}, usererr.WithHint(fmt.Errorf("resolving the base image: %s but the deprecated %s (%s)", what, dep.ID, dep.Name),
				"set include_deprecated = true (--base-include-deprecated) to build on a deprecated image, or widen the filters")
		}
	}
	return Base{}, usererr.WithHint(fmt.Errorf("resolving the base image: %s", what),
		"check the owners, the filters and the region: aws ec2 describe-images --owners OWNER --filters Name=name,Values=PATTERN")
}

// searchBase runs the query that resolves a base, narrowed further by
// extra filters, and returns its newest trusted available match or nil.
func searchBase(ctx context.Context, client EC2, q BaseQuery, includeDeprecated bool, extra ...types.Filter) (*Image, error) {
	in := &ec2.DescribeImagesInput{Owners: q.Owners, IncludeDeprecated: aws.Bool(includeDeprecated)}
	for _, k := range slices.Sorted(maps.Keys(q.Filters)) {
		in.Filters = append(in.Filters, types.Filter{Name: aws.String(k), Values: []string{q.Filters[k]}})
	}
	in.Filters = append(in.Filters, types.Filter{Name: aws.String("state"), Values: []string{"available"}})
	in.Filters = append(in.Filters, extra...)
	var avail []Image
	p := ec2.NewDescribeImagesPaginator(client, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describing images: %w", err)
		}
		for _, sdk := range out.Images {
			im := fromSDK(sdk)
			if trusted(im, Query{Owners: q.Owners, Account: q.Account}) && im.State == string(types.ImageStateAvailable) {
				avail = append(avail, im)
			}
		}
	}
	if len(avail) == 0 {
		return nil, nil
	}
	return newest(avail), nil
}

func describeFilters(f map[string]string) string {
	if len(f) == 0 {
		return "(none)"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(f)) {
		parts = append(parts, k+"="+f[k])
	}
	return strings.Join(parts, ", ")
}

// ResolveBaseSSM reads the image id from an SSM parameter in one region
// and describes that image for its name and owner.
func ResolveBaseSSM(ctx context.Context, params SSM, client EC2, region, name string) (Base, error) {
	out, err := params.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return Base{}, usererr.WithHint(fmt.Errorf("resolving the base image from the SSM parameter %s in %s: %w", name, region, err),
			"check the parameter's name: aws ssm get-parameter --name %s --region %s", name, region)
	}
	id := ""
	if out.Parameter != nil {
		id = aws.ToString(out.Parameter.Value)
	}
	if !imageID().MatchString(id) {
		return Base{}, usererr.WithHint(fmt.Errorf("resolving the base image: the SSM parameter %s in %s holds %q, not an image id", name, region, id),
			"name a parameter whose value is an AMI id, such as /aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id")
	}
	im, err := Describe(ctx, client, id)
	if err != nil {
		return Base{}, fmt.Errorf("resolving the base image from the SSM parameter %s in %s: %w", name, region, err)
	}
	if im.State != string(types.ImageStateAvailable) {
		return Base{}, fmt.Errorf("resolving the base image: %s from the SSM parameter %s in %s is %s, not available", id, name, region, im.State)
	}
	return Base{ID: im.ID, Name: im.Name, OwnerID: im.OwnerID, Image: im}, nil
}

// The checks of a pinned base (a lock file's entry, which is only text)
// need EC2's own view of one image; these are the queries, and the bake
// package decides what passes.

// DescribePinned describes image id in whatever state, disabled and
// deprecated included, so that a check can say what is wrong with it. An
// id EC2 does not know (or does not show this account) is an error that
// IsMissing reports.
func DescribePinned(ctx context.Context, client EC2, id string) (Image, error) {
	out, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id},
		IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true)})
	if err != nil {
		return Image{}, fmt.Errorf("describing image %s: %w", id, err)
	}
	for _, im := range out.Images {
		if aws.ToString(im.ImageId) == id {
			return fromSDK(im), nil
		}
	}
	return Image{}, fmt.Errorf("describing image %s: %w", id, errMissing)
}

var errMissing = errors.New("EC2 returned no such image")

// IsMissing reports whether err says that an image id does not exist:
// EC2's InvalidAMIID.NotFound or .Malformed, or an empty answer.
func IsMissing(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode() == "InvalidAMIID.NotFound" || ae.ErrorCode() == "InvalidAMIID.Malformed"
	}
	return errors.Is(err, errMissing)
}

// Owns reports whether im is owned by one of q's owners, by the rule every
// lookup applies (trusted): "self" is q.Account, "amazon" and
// "aws-marketplace" EC2's owner alias, an account id itself.
func (q BaseQuery) Owns(im Image) bool {
	return trusted(im, Query{Owners: q.Owners, Account: q.Account})
}

// BaseMatches reports whether image id is a match of q by EC2's own
// judgement: the query that resolves the base (owners, filters, state
// available, deprecated images only with includeDeprecated), narrowed to
// the one image by the image-id filter. A filter, not the ImageIds
// parameter, so that EC2 treats it as the listing resolution makes: named
// by id, EC2 would show a deprecated or disabled image whatever was asked.
func BaseMatches(ctx context.Context, client EC2, q BaseQuery, id string, includeDeprecated bool) (bool, error) {
	if len(q.Owners) == 0 {
		return false, errors.New("checking a base image: no owners given")
	}
	if err := checkAccount(q.Owners, q.Account); err != nil {
		return false, err
	}
	found, err := searchBase(ctx, client, q, includeDeprecated, types.Filter{Name: aws.String("image-id"), Values: []string{id}})
	if err != nil {
		return false, fmt.Errorf("checking the base image %s: %w", id, err)
	}
	return found != nil && found.ID == id, nil
}
