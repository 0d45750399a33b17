package prune

import (
	"cmp"
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

	"github.com/ami-bakery/ami-bakery/internal/awsapi/autoscaling"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
)

// A Source reads one kind of reference to AMIs in a region: what in the
// account may launch an AMI. Read calls use for every AMI it finds in use,
// with why in words, and must read its kind completely or return an
// error: a partial answer would make a used AMI look unused, so any error
// stops the run before anything changes.
type Source struct {
	Kind string // in errors: "reading KIND in REGION: ..."
	Read func(ctx context.Context, c Clients, region string, use func(ami, why string)) error
}

// DefaultSources are the kinds of reference prune reads when
// Options.Sources is nil. A new kind is one more entry.
var DefaultSources = []Source{
	{Kind: "instances", Read: instanceRefs},
	{Kind: "launch templates", Read: templateRefs},
	{Kind: "auto scaling groups", Read: autoScalingRefs},
	{Kind: "ssm parameters", Read: ssmRefs},
}

// References reads every kind of reference of sources (DefaultSources
// when nil) in region: what uses each AMI id found, in words, sorted. Any
// error fails it.
func References(ctx context.Context, c Clients, region string, sources []Source) (map[string][]string, error) {
	if sources == nil {
		sources = DefaultSources
	}
	return readRefs(ctx, c, region, sources)
}

// refs maps an AMI id to what uses it, in words.
type refs map[string][]string

// amiID is an AMI id anywhere in a text: inside an ARN
// (arn:aws:ec2:REGION::image/ami-...), after "image_id=", before ";", in a
// URL query, before a CR or a TAB. Matching too much only keeps more.
// Compiled on first use: every command would pay for it at start.
var amiID = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`ami-[0-9a-f]{8,17}`) })

// readRefs reads every source in region at once. Any error fails it.
func readRefs(ctx context.Context, c Clients, region string, sources []Source) (refs, error) {
	r := refs{}
	var mu sync.Mutex
	use := func(ami, why string) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range amiID().FindAllString(ami, -1) {
			if !slices.Contains(r[id], why) {
				r[id] = append(r[id], why)
			}
		}
	}
	errs := make([]error, len(sources))
	var wg sync.WaitGroup
	for i, s := range sources {
		wg.Go(func() {
			if err := s.Read(ctx, c, region, use); err != nil {
				errs[i] = fmt.Errorf("reading %s in %s: %w", s.Kind, region, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, whys := range r {
		slices.Sort(whys)
	}
	return r, nil
}

// instanceRefs: every instance not terminated uses its AMI; a stopped one
// may be started again.
func instanceRefs(ctx context.Context, c Clients, region string, use func(ami, why string)) error {
	p := ec2.NewDescribeInstancesPaginator(c.EC2(region), &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				state := types.InstanceStateName("unknown")
				if in.State != nil {
					state = in.State.Name
				}
				if state == types.InstanceStateNameTerminated {
					continue
				}
				use(aws.ToString(in.ImageId), fmt.Sprintf("instance %s (%s)", aws.ToString(in.InstanceId), state))
			}
		}
	}
	return nil
}

// templateRefs: every version of every launch template, not only $Default
// and $Latest (an Auto Scaling group, a fleet or a person may launch any
// version), its resolve:ssm: image id resolved.
func templateRefs(ctx context.Context, c Clients, region string, use func(ami, why string)) error {
	e := c.EC2(region)
	p := ec2.NewDescribeLaunchTemplatesPaginator(e, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(200)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, lt := range out.LaunchTemplates {
			id := aws.ToString(lt.LaunchTemplateId)
			in := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: aws.String(id), MaxResults: aws.Int32(200)}
			err := versionRefs(ctx, c, region, in, func(v int64) string { return fmt.Sprintf("launch template %s version %d", id, v) }, use)
			if err != nil {
				return fmt.Errorf("describing the versions of %s: %w", id, err)
			}
		}
	}
	return nil
}

// ssmAlias prefixes a launch template's image id that names an SSM
// parameter (resolve:ssm:NAME, NAME:VERSION or NAME:LABEL).
const ssmAlias = "resolve:ssm:"

// versionRefs uses the image of every launch template version in reports
// (all pages), each named by why. Image ids given as resolve:ssm: are
// resolved here rather than with ResolveAlias: EC2 fails the whole call
// when one parameter is gone, while a version whose parameter is gone
// cannot launch anything and so uses nothing.
func versionRefs(ctx context.Context, c Clients, region string, in *ec2.DescribeLaunchTemplateVersionsInput,
	why func(version int64) string, use func(ami, why string)) error {
	aliases := map[string][]string{} // parameter -> whys
	p := ec2.NewDescribeLaunchTemplateVersionsPaginator(c.EC2(region), in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, v := range out.LaunchTemplateVersions {
			if v.LaunchTemplateData == nil {
				continue
			}
			image, w := aws.ToString(v.LaunchTemplateData.ImageId), why(aws.ToInt64(v.VersionNumber))
			if name, ok := strings.CutPrefix(image, ssmAlias); ok {
				aliases[name] = append(aliases[name], w)
				continue
			}
			use(image, w)
		}
	}
	if len(aliases) == 0 {
		return nil
	}
	values, err := getParameters(ctx, c.SSM(region), slices.Sorted(maps.Keys(aliases)))
	if err != nil {
		return fmt.Errorf("resolving %s image ids: %w", ssmAlias, err)
	}
	for name, whys := range aliases {
		for _, w := range whys {
			use(values[name], w+" ("+ssmAlias+name+")")
		}
	}
	return nil
}

// autoScalingRefs: launch configurations, and each group's launch
// template: its own, its mixed-instances policy's and the policy's
// overrides', at the version the group names.
func autoScalingRefs(ctx context.Context, c Clients, region string, use func(ami, why string)) error {
	a := c.AutoScaling(region)
	for next := (*string)(nil); ; {
		out, err := a.DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{NextToken: next})
		if err != nil {
			return err
		}
		for _, lc := range out.LaunchConfigurations {
			use(aws.ToString(lc.ImageId), "launch configuration "+aws.ToString(lc.LaunchConfigurationName))
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	for next := (*string)(nil); ; {
		out, err := a.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: next})
		if err != nil {
			return err
		}
		for _, g := range out.AutoScalingGroups {
			name := aws.ToString(g.AutoScalingGroupName)
			for _, spec := range groupTemplates(g) {
				in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{cmp.Or(aws.ToString(spec.Version), "$Default")},
					LaunchTemplateId: spec.LaunchTemplateId}
				if spec.LaunchTemplateId == nil {
					in.LaunchTemplateName = spec.LaunchTemplateName
				}
				if err := versionRefs(ctx, c, region, in, func(int64) string { return "auto scaling group " + name }, use); err != nil {
					return fmt.Errorf("describing the launch template of group %s: %w", name, err)
				}
			}
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	return nil
}

// groupTemplates lists the launch templates a group launches from: its
// own, its mixed-instances policy's and the policy's overrides'.
func groupTemplates(g autoscaling.AutoScalingGroup) []autoscaling.LaunchTemplateSpecification {
	var out []autoscaling.LaunchTemplateSpecification
	if g.LaunchTemplate != nil {
		out = append(out, *g.LaunchTemplate)
	}
	if m := g.MixedInstancesPolicy; m != nil && m.LaunchTemplate != nil {
		if s := m.LaunchTemplate.LaunchTemplateSpecification; s != nil {
			out = append(out, *s)
		}
		for _, o := range m.LaunchTemplate.Overrides {
			if o.LaunchTemplateSpecification != nil {
				out = append(out, *o.LaunchTemplateSpecification)
			}
		}
	}
	return out
}

// ssmRefs: every parameter of the account in the region, whatever its
// name (GetParametersByPath cannot list every name, so DescribeParameters
// lists them and GetParameters reads them), an AMI id anywhere in its
// value.
func ssmRefs(ctx context.Context, c Clients, region string, use func(ami, why string)) error {
	s := c.SSM(region)
	var names []string
	for next := (*string)(nil); ; {
		out, err := s.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(50), NextToken: next})
		if err != nil {
			return err
		}
		for _, prm := range out.Parameters {
			names = append(names, aws.ToString(prm.Name))
		}
		if next = out.NextToken; aws.ToString(next) == "" {
			break
		}
	}
	values, err := getParameters(ctx, s, names)
	if err != nil {
		return err
	}
	for _, name := range names {
		use(values[name], "ssm parameter "+name)
	}
	return nil
}

// maxGetParameters is how many names GetParameters takes at once.
const maxGetParameters = 10

// getParameters reads the values of names (each NAME, NAME:VERSION or
// NAME:LABEL), decrypted (a SecureString that cannot be decrypted fails
// the read). A name SSM reports invalid (gone since it was listed, or an
// alias naming no parameter) has no value; a name SSM answers neither way
// (an ARN answered by its name) is an error, never taken for gone.
func getParameters(ctx context.Context, s SSM, names []string) (map[string]string, error) {
	values := map[string]string{}
	for batch := range slices.Chunk(names, maxGetParameters) {
		out, err := s.GetParameters(ctx, &ssm.GetParametersInput{Names: batch, WithDecryption: aws.Bool(true)})
		if err != nil {
			return nil, err
		}
		got := map[string]string{}
		for _, prm := range out.Parameters {
			got[aws.ToString(prm.Name)+aws.ToString(prm.Selector)] = aws.ToString(prm.Value)
		}
		for _, name := range batch {
			v, ok := got[name]
			switch {
			case ok:
				values[name] = v
			case !slices.Contains(out.InvalidParameters, name):
				return nil, fmt.Errorf("GetParameters answered neither a value nor \"invalid\" for %s", name)
			}
		}
	}
	return values, nil
}
