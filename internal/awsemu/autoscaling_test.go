package awsemu

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// asFixture has a launch template "app" (two versions) in accountA.
func asFixture(t *testing.T) (*TestServer, *autoscaling.Client, string) {
	t.Helper()
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.EC2(accountA, region)
	id := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("app"),
		LaunchTemplateData: requestData(SeedImageID(region, SeedUbuntu))}))(t).LaunchTemplate.LaunchTemplateId
	must(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: id,
		LaunchTemplateData: requestData(SeedImageID(region, SeedDebian))}))(t)
	return s, s.AutoScaling(accountA, region), aws.ToString(id)
}

func group(name string, set func(*autoscaling.CreateAutoScalingGroupInput)) *autoscaling.CreateAutoScalingGroupInput {
	in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0),
		MaxSize: aws.Int32(2), AvailabilityZones: []string{"us-east-1a"}}
	set(in)
	return in
}

func TestAutoScalingGroups(t *testing.T) {
	ctx := context.Background()
	_, as, ltID := asFixture(t)
	must(as.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("legacy"),
		ImageId: aws.String(SeedImageID(region, SeedUbuntu)), InstanceType: aws.String("t3.micro"), SecurityGroups: []string{"sg-1"}}))(t)
	must(as.CreateAutoScalingGroup(ctx, group("by-config", func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.LaunchConfigurationName = aws.String("legacy")
	})))(t)
	must(as.CreateAutoScalingGroup(ctx, group("by-template", func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("$Latest")}
		in.Tags = []astypes.Tag{{Key: aws.String("team"), Value: aws.String("web"), PropagateAtLaunch: aws.Bool(true)}}
	})))(t)
	must(as.CreateAutoScalingGroup(ctx, group("mixed", func(in *autoscaling.CreateAutoScalingGroupInput) {
		in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(ltID)},
			Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.large"),
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("1")}}},
		}}
	})))(t)
	groups := must(as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{}))(t).AutoScalingGroups
	var got []string
	for _, g := range groups {
		src := aws.ToString(g.LaunchConfigurationName)
		if lt := g.LaunchTemplate; lt != nil {
			src = aws.ToString(lt.LaunchTemplateId) + "/" + aws.ToString(lt.LaunchTemplateName) + "@" + aws.ToString(lt.Version)
		}
		if m := g.MixedInstancesPolicy; m != nil {
			o := m.LaunchTemplate.Overrides[0]
			src = aws.ToString(m.LaunchTemplate.LaunchTemplateSpecification.LaunchTemplateName) + "@" +
				aws.ToString(m.LaunchTemplate.LaunchTemplateSpecification.Version) + "+" + aws.ToString(o.InstanceType) + ":" +
				aws.ToString(o.LaunchTemplateSpecification.LaunchTemplateId) + "@" + aws.ToString(o.LaunchTemplateSpecification.Version)
		}
		got = append(got, aws.ToString(g.AutoScalingGroupName)+"="+src)
	}
	want := fmt.Sprintf("[by-config=legacy by-template=%s/app@$Latest mixed=app@$Default+t3.large:%s@1]", ltID, ltID)
	if fmt.Sprint(got) != want {
		t.Fatalf("groups:\n got %v\nwant %s", got, want)
	}
	if tg := groups[1].Tags; len(tg) != 1 || aws.ToString(tg[0].Key) != "team" {
		t.Fatalf("tags: %+v", tg)
	}
	lcs := must(as.DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{LaunchConfigurationNames: []string{"legacy", "gone"}}))(t)
	if len(lcs.LaunchConfigurations) != 1 || aws.ToString(lcs.LaunchConfigurations[0].ImageId) != SeedImageID(region, SeedUbuntu) {
		t.Fatalf("launch configurations: %+v", lcs.LaunchConfigurations)
	}
	_, err := as.DeleteLaunchConfiguration(ctx, &autoscaling.DeleteLaunchConfigurationInput{LaunchConfigurationName: aws.String("legacy")})
	wantCode(t, err, "ResourceInUse")
	must(as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("by-config"), ForceDelete: aws.Bool(true)}))(t)
	must(as.DeleteLaunchConfiguration(ctx, &autoscaling.DeleteLaunchConfigurationInput{LaunchConfigurationName: aws.String("legacy")}))(t)
}

func TestAutoScalingErrors(t *testing.T) {
	ctx := context.Background()
	s, as, _ := asFixture(t)
	lc := func(name, image string) error {
		_, err := as.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String(name),
			ImageId: aws.String(image), InstanceType: aws.String("t3.micro")})
		return err
	}
	asg := func(set func(*autoscaling.CreateAutoScalingGroupInput)) error {
		_, err := as.CreateAutoScalingGroup(ctx, group("g", set))
		return err
	}
	if err := lc("lc", SeedImageID(region, SeedUbuntu)); err != nil {
		t.Fatal(err)
	}
	if err := asg(func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchConfigurationName = aws.String("lc") }); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		code string
	}{
		{"launch configuration exists", lc("lc", SeedImageID(region, SeedUbuntu)), "AlreadyExists"},
		{"image missing", lc("lc2", "ami-0123456789abcdef0"), "ValidationError"},
		{"group exists", asg(func(in *autoscaling.CreateAutoScalingGroupInput) { in.LaunchConfigurationName = aws.String("lc") }), "AlreadyExists"},
		{"no launch source", asg(func(in *autoscaling.CreateAutoScalingGroupInput) { in.AutoScalingGroupName = aws.String("g2") }), "ValidationError"},
		{"missing launch configuration", asg(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.AutoScalingGroupName, in.LaunchConfigurationName = aws.String("g2"), aws.String("nope")
		}), "ValidationError"},
		{"missing template version", asg(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.AutoScalingGroupName = aws.String("g2")
			in.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("9")}
		}), "ValidationError"},
		{"desired above max", asg(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.AutoScalingGroupName, in.LaunchConfigurationName, in.DesiredCapacity = aws.String("g2"), aws.String("lc"), aws.Int32(5)
		}), "ValidationError"},
		{"unmodelled parameter", asg(func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.AutoScalingGroupName, in.LaunchConfigurationName = aws.String("g2"), aws.String("lc")
			in.HealthCheckType = aws.String("ELB")
		}), "ValidationError"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.err, tc.code) })
	}
	_, err := as.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{AutoScalingGroupName: aws.String("nope")})
	wantCode(t, err, "ValidationError")
	_, err = as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(101)})
	wantCode(t, err, "ValidationError")
	_, err = as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: aws.String("!")})
	wantCode(t, err, "InvalidNextToken")
	_, err = as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{Filters: []astypes.Filter{{Name: aws.String("tag-key"), Values: []string{"x"}}}})
	wantCode(t, err, "ValidationError")
	_, err = as.DescribeScalingActivities(ctx, &autoscaling.DescribeScalingActivitiesInput{})
	wantCode(t, err, "InvalidAction")
	if got := s.AutoScaling(accountB, region); len(must(got.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{}))(t).AutoScalingGroups) != 0 {
		t.Fatal("another account sees the group")
	}
}

func TestAutoScalingPagination(t *testing.T) {
	ctx := context.Background()
	_, as, _ := asFixture(t)
	for i := range 7 {
		must(as.CreateAutoScalingGroup(ctx, group(fmt.Sprintf("g%d", i), func(in *autoscaling.CreateAutoScalingGroupInput) {
			in.LaunchTemplate = &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app")}
		})))(t)
	}
	var names []string
	pages := 0
	for p := autoscaling.NewDescribeAutoScalingGroupsPaginator(as, &autoscaling.DescribeAutoScalingGroupsInput{MaxRecords: aws.Int32(3)}); p.HasMorePages(); pages++ {
		for _, g := range must(p.NextPage(ctx))(t).AutoScalingGroups {
			names = append(names, aws.ToString(g.AutoScalingGroupName))
		}
	}
	if pages != 3 || fmt.Sprint(names) != "[g0 g1 g2 g3 g4 g5 g6]" {
		t.Fatalf("%d pages: %v", pages, names)
	}
}
