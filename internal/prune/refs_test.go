package prune

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// refCase makes one reference to ami (and maybe others), and says what
// the kept AMI's reasons must contain.
type refCase struct {
	name string
	make func(t *testing.T, f *fixture, ami string)
	want string // a reason of the kept AMI; "" means it is not kept
}

// fixture is an emulator with its clients, for the rule tests.
type fixture struct {
	s   *awsemu.TestServer
	ctx context.Context
	e   *ec2.Client
	as  *autoscaling.Client
	sm  *ssm.Client
}

func newFixture(t *testing.T, o ...awsemu.Options) *fixture {
	s := awsemu.NewTestServer(t, o...)
	f := &fixture{s: s, ctx: context.Background(), e: s.EC2(awsemu.DefaultAccount, region),
		as: s.AutoScaling(awsemu.DefaultAccount, region), sm: s.SSM(awsemu.DefaultAccount, region)}
	newFixtureHook(f)
	return f
}

func (f *fixture) check(t *testing.T, _ any, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) param(t *testing.T, name, value string) {
	t.Helper()
	_, err := f.sm.PutParameter(f.ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: "String", Overwrite: aws.Bool(true)})
	f.check(t, nil, err)
}

func (f *fixture) template(t *testing.T, name string, images ...string) string {
	t.Helper()
	out, err := f.e.CreateLaunchTemplate(f.ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
		LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(images[0])}})
	f.check(t, nil, err)
	for _, im := range images[1:] {
		_, err := f.e.CreateLaunchTemplateVersion(f.ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(im)}})
		f.check(t, nil, err)
	}
	return aws.ToString(out.LaunchTemplate.LaunchTemplateId)
}

func (f *fixture) run(t *testing.T, ami string) string {
	t.Helper()
	out, err := f.e.RunInstances(f.ctx, &ec2.RunInstancesInput{ImageId: aws.String(ami), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro})
	f.check(t, nil, err)
	return aws.ToString(out.Instances[0].InstanceId)
}

func (f *fixture) group(t *testing.T, name string, mixed bool, spec astypes.LaunchTemplateSpecification) {
	t.Helper()
	in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
		AvailabilityZones: []string{"us-east-1a"}}
	if mixed {
		in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{LaunchTemplateSpecification: &spec}}
	} else {
		in.LaunchTemplate = &spec
	}
	_, err := f.as.CreateAutoScalingGroup(f.ctx, in)
	f.check(t, nil, err)
}

func (f *fixture) shareSnapshot(t *testing.T, ami string, perm types.CreateVolumePermission) {
	t.Helper()
	im, _ := f.s.Image(ami)
	_, err := f.e.ModifySnapshotAttribute(f.ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(im.SnapshotIDs[0]),
		Attribute:              types.SnapshotAttributeNameCreateVolumePermission,
		CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: []types.CreateVolumePermission{perm}}})
	f.check(t, nil, err)
}

var newFixtureHook = func(*fixture) {}

// Every kind of reference keeps the AMI it names, in every form it may
// take; what only looks like one does not.
func TestReferenceKinds(t *testing.T) {
	const other = "ami-0123456789abcdef0"
	for _, tc := range []refCase{
		{"nothing", func(*testing.T, *fixture, string) {}, ""},
		{"running instance", func(t *testing.T, f *fixture, ami string) { f.run(t, ami) }, "instance i-"},
		{"stopped instance", func(t *testing.T, f *fixture, ami string) {
			id := f.run(t, ami)
			_, err := f.e.StopInstances(f.ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
			f.check(t, nil, err)
			f.s.Advance(1)
		}, "(stopped)"},
		{"terminated instance", func(t *testing.T, f *fixture, ami string) {
			id := f.run(t, ami)
			_, err := f.e.TerminateInstances(f.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
			f.check(t, nil, err)
			f.s.Advance(1)
		}, ""},
		{"launch template, an old version", func(t *testing.T, f *fixture, ami string) {
			f.template(t, "web-lt", other, ami, other) // neither $Default nor $Latest
		}, "launch template lt-"},
		{"launch template, resolve:ssm:", func(t *testing.T, f *fixture, ami string) {
			f.param(t, "/x/ami", ami)
			f.param(t, "/x/ami", other) // version 2; the template names version 1
			f.template(t, "web-lt", other, "resolve:ssm:/x/ami:1")
		}, "(resolve:ssm:/x/ami:1)"},
		{"launch template, resolve:ssm: of a deleted parameter", func(t *testing.T, f *fixture, ami string) {
			f.param(t, "/gone", ami)
			f.template(t, "web-lt", "resolve:ssm:/gone")
			_, err := f.sm.DeleteParameter(f.ctx, &ssm.DeleteParameterInput{Name: aws.String("/gone")})
			f.check(t, nil, err)
		}, ""},
		{"auto scaling group, its own template", func(t *testing.T, f *fixture, ami string) {
			f.template(t, "web-lt", other, ami) // version 2, not the default
			f.group(t, "web", false, astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("web-lt"), Version: aws.String("$Latest")})
		}, "auto scaling group web"},
		{"auto scaling group, mixed instances policy", func(t *testing.T, f *fixture, ami string) {
			id := f.template(t, "web-lt", ami)
			f.group(t, "mixed", true, astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)})
		}, "auto scaling group mixed"},
		{"launch configuration", func(t *testing.T, f *fixture, ami string) {
			_, err := f.as.CreateLaunchConfiguration(f.ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String("old"),
				ImageId: aws.String(ami), InstanceType: aws.String("t3.micro")})
			f.check(t, nil, err)
		}, "launch configuration old"},
		{"ssm, plain id", func(t *testing.T, f *fixture, ami string) { f.param(t, "/amis/app", ami) }, "ssm parameter /amis/app"},
		{"ssm, name without a slash", func(t *testing.T, f *fixture, ami string) { f.param(t, "plain", ami) }, "ssm parameter plain"},
		{"ssm, image ARN", func(t *testing.T, f *fixture, ami string) {
			f.param(t, "/arn", "arn:aws:ec2:us-east-1::image/"+ami)
		}, "ssm parameter /arn"},
		{"ssm, key=value", func(t *testing.T, f *fixture, ami string) { f.param(t, "/kv", "image_id="+ami) }, "ssm parameter /kv"},
		{"ssm, before a semicolon", func(t *testing.T, f *fixture, ami string) { f.param(t, "/semi", ami+";other") }, "ssm parameter /semi"},
		{"ssm, URL query", func(t *testing.T, f *fixture, ami string) {
			f.param(t, "/url", "https://example.com/launch?region=us-east-1&ami="+ami+"&x=1")
		}, "ssm parameter /url"},
		{"ssm, trailing CR and TAB", func(t *testing.T, f *fixture, ami string) { f.param(t, "/crlf", ami+"\r\n\t") }, "ssm parameter /crlf"},
		{"ssm, JSON", func(t *testing.T, f *fixture, ami string) {
			f.param(t, "/json", `{"app":{"ami":"`+ami+`"}}`)
		}, "ssm parameter /json"},
		{"ssm, StringList", func(t *testing.T, f *fixture, ami string) {
			_, err := f.sm.PutParameter(f.ctx, &ssm.PutParameterInput{Name: aws.String("/list"), Value: aws.String(other + "," + ami), Type: "StringList"})
			f.check(t, nil, err)
		}, "ssm parameter /list"},
		{"shared AMI", func(t *testing.T, f *fixture, ami string) {
			_, err := f.e.ModifyImageAttribute(f.ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(ami),
				LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{UserId: aws.String("210987654321")}}}})
			f.check(t, nil, err)
		}, "shared with another account"},
		{"public AMI", func(t *testing.T, f *fixture, ami string) {
			_, err := f.e.ModifyImageAttribute(f.ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(ami),
				LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{Group: types.PermissionGroupAll}}}})
			f.check(t, nil, err)
		}, "public"},
		{"snapshot shared with another account", func(t *testing.T, f *fixture, ami string) {
			f.shareSnapshot(t, ami, types.CreateVolumePermission{UserId: aws.String("210987654321")})
		}, "shared with another account"},
		{"public snapshot", func(t *testing.T, f *fixture, ami string) {
			f.shareSnapshot(t, ami, types.CreateVolumePermission{Group: types.PermissionGroupAll})
		}, "shared with another account"},
		{"ssm, the digits without ami-", func(t *testing.T, f *fixture, ami string) {
			f.param(t, "/near", strings.TrimPrefix(ami, "ami-"))
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ids := seed(t, f.s, 3, nil)
			// Many other parameters, so that the one that matters is on a
			// later page.
			for i := range 60 {
				f.param(t, "/filler/"+fp(i%10)+string(rune('a'+i/10)), "x")
			}
			tc.make(t, f, ids[0])
			p, err := PlanPrune(f.ctx, clients(f.s), opts(f.s, fp(2), ModeDelete))
			if err != nil {
				t.Fatal(err)
			}
			a := planned(t, p, ids[0])
			switch {
			case tc.want == "" && a.Decision != Delete:
				t.Fatalf("kept: %v", a.Reasons)
			case tc.want != "" && (a.Decision != Keep || !strings.Contains(strings.Join(a.Reasons, "; "), tc.want)):
				t.Fatalf("%s %v, want kept for %q", a.Decision, a.Reasons, tc.want)
			}
		})
	}
}

// planned is ami's entry in the plan.
func planned(t *testing.T, p *Plan, ami string) AMI {
	t.Helper()
	for _, a := range p.AMIs {
		if a.ID == ami {
			return a
		}
	}
	t.Fatalf("%s is not in the plan %+v", ami, p.AMIs)
	return AMI{}
}

// A failed read of any kind stops the plan: no answer is better than a
// partial one. Every call a source makes is failed in turn.
func TestReferenceReadErrors(t *testing.T) {
	f := newFixture(t)
	ids := seed(t, f.s, 3, nil)
	f.run(t, ids[1])
	id := f.template(t, "web-lt", ids[1], "resolve:ssm:/p")
	f.param(t, "/p", ids[1])
	f.group(t, "web", false, astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id)})
	for _, action := range []string{"DescribeImages", "DescribeInstances", "DescribeLaunchTemplates", "DescribeLaunchTemplateVersions",
		"DescribeAutoScalingGroups", "DescribeLaunchConfigurations", "DescribeParameters", "GetParameters", "DescribeImageAttribute",
		"DescribeSnapshotAttribute"} {
		t.Run(action, func(t *testing.T) {
			f.s.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{action}, Codes: []string{"UnauthorizedOperation"}})
			defer f.s.SetFaults(awsemu.Faults{})
			before := f.s.CallCount(action)
			_, err := PlanPrune(f.ctx, clients(f.s), opts(f.s, fp(2), ModeDelete))
			if err == nil {
				t.Fatalf("a failed %s gave a plan", action)
			}
			if f.s.CallCount(action) == before {
				t.Fatalf("%s was never called", action)
			}
		})
	}
	// A source of the caller's that fails stops the plan too.
	o := opts(f.s, fp(2), ModeDelete)
	o.Sources = append(DefaultSources, Source{Kind: "fleets", Read: func(context.Context, Clients, string, func(string, string)) error {
		return errors.New("no")
	}})
	if _, err := PlanPrune(f.ctx, clients(f.s), o); err == nil || !strings.Contains(err.Error(), "reading fleets in us-east-1: no") {
		t.Fatalf("err %v", err)
	}
}
