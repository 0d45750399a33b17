// Package autoscaling is the EC2 Auto Scaling client ami-bakery uses (prune
// reads which AMIs groups and launch configurations launch), with the SDK's
// operation names and shapes, reduced to the fields it reads, and without
// the SDK's Auto Scaling package (see package awsapi for why).
package autoscaling

import (
	"context"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi"
)

// version is the Auto Scaling API version.
const version = "2011-01-01"

// Options are accepted for the SDK's method signatures; there are none.
type Options struct{}

// Client calls Auto Scaling in one region.
type Client struct{ api *awsapi.Client }

// New returns the client that calls through api.
func New(api *awsapi.Client) *Client { return &Client{api: api} }

// NewFromConfig returns the client for cfg.Region at cfg.BaseEndpoint (as
// the SDK's NewFromConfig, with the endpoint resolved by the caller).
func NewFromConfig(cfg aws.Config, _ ...func(*Options)) *Client {
	return New(awsapi.New(cfg, "Auto Scaling", "autoscaling"))
}

// page is the query parameters of one page.
func page(next *string, max *int32) url.Values {
	v := url.Values{}
	if next != nil {
		v.Set("NextToken", *next)
	}
	if max != nil {
		v.Set("MaxRecords", strconv.Itoa(int(*max)))
	}
	return v
}

// LaunchTemplateSpecification names a launch template and its version.
type LaunchTemplateSpecification struct {
	LaunchTemplateId   *string
	LaunchTemplateName *string
	Version            *string
}

// LaunchTemplateOverrides is an override of a mixed-instances policy.
type LaunchTemplateOverrides struct {
	LaunchTemplateSpecification *LaunchTemplateSpecification
}

// LaunchTemplate is a mixed-instances policy's launch template.
type LaunchTemplate struct {
	LaunchTemplateSpecification *LaunchTemplateSpecification
	Overrides                   []LaunchTemplateOverrides `xml:"Overrides>member"`
}

// MixedInstancesPolicy is a group's mixed-instances policy.
type MixedInstancesPolicy struct {
	LaunchTemplate *LaunchTemplate
}

// AutoScalingGroup is a group and what it launches from.
type AutoScalingGroup struct {
	AutoScalingGroupName    *string
	LaunchConfigurationName *string
	LaunchTemplate          *LaunchTemplateSpecification
	MixedInstancesPolicy    *MixedInstancesPolicy
}

// LaunchConfiguration is a launch configuration and its AMI.
type LaunchConfiguration struct {
	LaunchConfigurationName *string
	ImageId                 *string
}

// DescribeAutoScalingGroupsInput asks for one page of the region's groups.
type DescribeAutoScalingGroupsInput struct {
	NextToken  *string
	MaxRecords *int32
}

// DescribeAutoScalingGroupsOutput is one page.
type DescribeAutoScalingGroupsOutput struct {
	AutoScalingGroups []AutoScalingGroup `xml:"AutoScalingGroups>member"`
	NextToken         *string
}

// DescribeAutoScalingGroups lists a page of the region's groups.
func (c *Client) DescribeAutoScalingGroups(ctx context.Context, in *DescribeAutoScalingGroupsInput, _ ...func(*Options)) (*DescribeAutoScalingGroupsOutput, error) {
	out := &DescribeAutoScalingGroupsOutput{}
	return out, c.api.Query(ctx, version, "DescribeAutoScalingGroups", page(in.NextToken, in.MaxRecords), out)
}

// DescribeLaunchConfigurationsInput asks for one page of the region's
// launch configurations.
type DescribeLaunchConfigurationsInput struct {
	NextToken  *string
	MaxRecords *int32
}

// DescribeLaunchConfigurationsOutput is one page.
type DescribeLaunchConfigurationsOutput struct {
	LaunchConfigurations []LaunchConfiguration `xml:"LaunchConfigurations>member"`
	NextToken            *string
}

// DescribeLaunchConfigurations lists a page of the region's launch
// configurations.
func (c *Client) DescribeLaunchConfigurations(ctx context.Context, in *DescribeLaunchConfigurationsInput, _ ...func(*Options)) (*DescribeLaunchConfigurationsOutput, error) {
	out := &DescribeLaunchConfigurationsOutput{}
	return out, c.api.Query(ctx, version, "DescribeLaunchConfigurations", page(in.NextToken, in.MaxRecords), out)
}
