package images

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2's limits on the filters of one call: more values in all, or a longer
// value, is refused with FilterLimitExceeded.
const (
	MaxFilterValues      = 200
	MaxFilterValueLength = 255
)

// BatchSize is how many fingerprints one DescribeImages call of FindMany
// carries: EC2's limit less the values of the state filter (lookupStates).
const BatchSize = MaxFilterValues - 3

// Batch is a lookup of many fingerprints among the same trusted owners.
type Batch struct {
	// Owners are the trusted owners, as in Query; at least one.
	Owners []string
	// Account is the caller's own account id, which "self" stands for, as
	// in Query.
	Account string
	// TagKey selects by tag, TagKey=fingerprint; with ByName an AMI is
	// selected instead by a name that contains the fingerprint.
	TagKey string
	ByName bool
	// Fingerprints to look up; repeats count once.
	Fingerprints []string
}

// FindMany looks up every fingerprint of b at once: one DescribeImages call
// per BatchSize fingerprints (a tag:KEY or name filter with one value each,
// and the state filter), each followed across its pages. Per fingerprint it
// applies Find's rules (trusted owners checked again, the newest available
// AMI, else the newest pending one) and returns the Match, a zero Match
// when nothing was found. calls is the number of DescribeImages requests.
func FindMany(ctx context.Context, client EC2, b Batch) (matches map[string]Match, calls int, err error) {
	f, calls, err := FetchMany(ctx, client, b)
	if err != nil {
		return nil, calls, err
	}
	matches, err = f.Choose(b.Account)
	return matches, calls, err
}

// Fetched is what FetchMany found, before Choose applies Find's rules.
type Fetched struct {
	b     Batch
	fps   []string
	found map[string][]Image
}

// FetchMany makes FindMany's DescribeImages calls. It needs no account:
// b.Account is not read, so that the caller's account (an STS round trip)
// can be looked up while EC2 answers, and given to Choose.
func FetchMany(ctx context.Context, client EC2, b Batch) (*Fetched, int, error) {
	if len(b.Owners) == 0 {
		return nil, 0, errors.New("looking up images: no trusted owners given")
	}
	if !b.ByName && b.TagKey == "" {
		return nil, 0, errors.New("looking up images: neither a name nor a tag to look for")
	}
	fps := unique(b.Fingerprints)
	found := make(map[string][]Image, len(fps))
	calls := 0
	for start := 0; start < len(fps); start += BatchSize {
		chunk := fps[start:min(start+BatchSize, len(fps))]
		n, err := findChunk(ctx, client, b, chunk, found)
		calls += n
		if err != nil {
			return nil, calls, err
		}
	}
	return &Fetched{b: b, fps: fps, found: found}, calls, nil
}

// Choose applies Find's rules to what was fetched, with account as what
// "self" stands for: the owners checked again, the newest available AMI,
// else the newest pending one, per fingerprint.
func (f *Fetched) Choose(account string) (map[string]Match, error) {
	b := f.b
	if err := checkAccount(b.Owners, account); err != nil {
		return nil, err
	}
	matches := make(map[string]Match, len(f.fps))
	for _, fp := range f.fps {
		q := Query{Owners: b.Owners, Account: account, TagKey: b.TagKey, Fingerprint: fp}
		if b.ByName {
			q = Query{Owners: b.Owners, Account: account, Name: "*" + fp + "*"}
		}
		matches[fp] = choose(f.found[fp], q)
	}
	return matches, nil
}

// findChunk makes one paginated lookup for fps and files what it finds
// under the fingerprint each image carries (its tag, or the fingerprint in
// its name).
func findChunk(ctx context.Context, client EC2, b Batch, fps []string, found map[string][]Image) (int, error) {
	name, values := "tag:"+b.TagKey, fps
	if b.ByName {
		name, values = "name", make([]string, len(fps))
		for i, fp := range fps {
			values[i] = "*" + fp + "*"
		}
	}
	for _, v := range values {
		if len(v) > MaxFilterValueLength {
			return 0, fmt.Errorf("looking up images: the fingerprint %.20s... is longer than EC2's %d-character filter values", v, MaxFilterValueLength)
		}
	}
	in := &ec2.DescribeImagesInput{Owners: b.Owners, IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true), Filters: []types.Filter{
		{Name: aws.String(name), Values: values},
		{Name: aws.String("state"), Values: lookupStates},
	}}
	inChunk := make(map[string]bool, len(fps))
	for _, fp := range fps {
		inChunk[fp] = true
	}
	calls := 0
	p := ec2.NewDescribeImagesPaginator(client, in)
	for p.HasMorePages() {
		calls++
		out, err := p.NextPage(ctx)
		if err != nil {
			return calls, fmt.Errorf("looking up %d images: %w", len(fps), err)
		}
		for _, sdk := range out.Images {
			im := fromSDK(sdk)
			if !b.ByName {
				if fp := im.Tags[b.TagKey]; inChunk[fp] {
					found[fp] = append(found[fp], im)
				}
				continue
			}
			for _, fp := range fps {
				if strings.Contains(im.Name, fp) {
					found[fp] = append(found[fp], im)
				}
			}
		}
	}
	return calls, nil
}

func unique(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
