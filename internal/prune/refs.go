package prune

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
)

// refs maps an AMI id to what uses it, in words.
type refs map[string][]string

func (r refs) add(ami, why string) {
	if strings.HasPrefix(ami, "ami-") {
		r[ami] = append(r[ami], why)
	}
}

// readRefs reads every reference to an AMI in region: non-terminated
// instances, the $Default and $Latest versions of every launch template
// (resolve:ssm: resolved), Auto Scaling groups and launch configurations,
// and SSM parameters under paths. Any error fails it: a partial answer
// would make a used AMI look unused.
func readRefs(ctx context.Context, c Clients, region string, paths []string) (refs, error) {
	r := refs{}
	e := c.EC2(region)
	if err := instanceRefs(ctx, e, r); err != nil {
		return nil, fmt.Errorf("reading instances in %s: %w", region, err)
	}
	if err := templateRefs(ctx, e, r); err != nil {
		return nil, fmt.Errorf("reading launch templates in %s: %w", region, err)
	}
	if err := autoScalingRefs(ctx, c.AutoScaling(region), e, r); err != nil {
		return nil, fmt.Errorf("reading auto scaling groups in %s: %w", region, err)
	}
	for _, p := range paths {
		if err := ssmRefs(ctx, c.SSM(region), p, r); err != nil {
			return nil, fmt.Errorf("reading ssm parameters under %s in %s: %w", p, region, err)
		}
	}
	return r, nil
}

func instanceRefs(ctx context.Context, e EC2, r refs) error {
	p := ec2.NewDescribeInstancesPaginator(e, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, res := range out.Reservations {
			for _, in := range res.Instances {
				if in.State != nil && in.State.Name == types.InstanceStateNameTerminated {
					continue
				}
				state := ""
				if in.State != nil {
					state = string(in.State.Name)
				}
				r.add(aws.ToString(in.ImageId), fmt.Sprintf("instance %s (%s)", aws.ToString(in.InstanceId), state))
			}
		}
	}
	return nil
}

func templateRefs(ctx context.Context, e EC2, r refs) error {
	p := ec2.NewDescribeLaunchTemplatesPaginator(e, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(200)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, lt := range out.LaunchTemplates {
			if err := versionRefs(ctx, e, aws.ToString(lt.LaunchTemplateId), []string{"$Default", "$Latest"}, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// versionRefs adds the image of each of a launch template's versions.
func versionRefs(ctx context.Context, e EC2, id string, versions []string, r refs) error {
	out, err := e.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: aws.String(id), Versions: versions, ResolveAlias: aws.Bool(true),
	})
	if err != nil {
		return fmt.Errorf("describing versions of %s: %w", id, err)
	}
	for _, v := range out.LaunchTemplateVersions {
		if v.LaunchTemplateData == nil {
			continue
		}
		r.add(aws.ToString(v.LaunchTemplateData.ImageId),
			fmt.Sprintf("launch template %s version %d", id, aws.ToInt64(v.VersionNumber)))
	}
	return nil
}

func autoScalingRefs(ctx context.Context, a AutoScaling, e EC2, r refs) error {
	lcs := autoscaling.NewDescribeLaunchConfigurationsPaginator(a, &autoscaling.DescribeLaunchConfigurationsInput{})
	for lcs.HasMorePages() {
		out, err := lcs.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, lc := range out.LaunchConfigurations {
			r.add(aws.ToString(lc.ImageId), "launch configuration "+aws.ToString(lc.LaunchConfigurationName))
		}
	}
	groups := autoscaling.NewDescribeAutoScalingGroupsPaginator(a, &autoscaling.DescribeAutoScalingGroupsInput{})
	for groups.HasMorePages() {
		out, err := groups.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, g := range out.AutoScalingGroups {
			for _, spec := range groupTemplates(g) {
				if err := groupTemplateRefs(ctx, e, aws.ToString(g.AutoScalingGroupName), spec, r); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// groupTemplates lists the launch templates a group launches from: its
// own, its mixed-instances policy's and the policy's overrides'.
func groupTemplates(g astypes.AutoScalingGroup) []astypes.LaunchTemplateSpecification {
	var out []astypes.LaunchTemplateSpecification
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

func groupTemplateRefs(ctx context.Context, e EC2, group string, s astypes.LaunchTemplateSpecification, r refs) error {
	version := aws.ToString(s.Version)
	if version == "" {
		version = "$Default"
	}
	in := &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{version}, ResolveAlias: aws.Bool(true)}
	if s.LaunchTemplateId != nil {
		in.LaunchTemplateId = s.LaunchTemplateId
	} else {
		in.LaunchTemplateName = s.LaunchTemplateName
	}
	out, err := e.DescribeLaunchTemplateVersions(ctx, in)
	if err != nil {
		return fmt.Errorf("describing the launch template of group %s: %w", group, err)
	}
	for _, v := range out.LaunchTemplateVersions {
		if v.LaunchTemplateData != nil {
			r.add(aws.ToString(v.LaunchTemplateData.ImageId), "auto scaling group "+group)
		}
	}
	return nil
}

func ssmRefs(ctx context.Context, s SSM, path string, r refs) error {
	p := ssm.NewGetParametersByPathPaginator(s, &ssm.GetParametersByPathInput{Path: aws.String(path), Recursive: aws.Bool(true)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, prm := range out.Parameters {
			for _, f := range strings.FieldsFunc(aws.ToString(prm.Value), func(c rune) bool {
				return c == ',' || c == ' ' || c == '\n' || c == '"'
			}) {
				r.add(f, "ssm parameter "+aws.ToString(prm.Name))
			}
		}
	}
	return nil
}
