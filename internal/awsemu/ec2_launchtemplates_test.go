package awsemu

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func requestData(image string) *types.RequestLaunchTemplateData {
	return &types.RequestLaunchTemplateData{ImageId: aws.String(image), InstanceType: types.InstanceTypeT3Micro}
}

func versionImages(vs []types.LaunchTemplateVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%d:%s", aws.ToInt64(v.VersionNumber), aws.ToString(v.LaunchTemplateData.ImageId)))
	}
	return out
}

func TestLaunchTemplateVersions(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.EC2(accountA, region)
	ubuntu, debian := SeedImageID(region, SeedUbuntu), SeedImageID(region, SeedDebian)
	lt := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("app"), LaunchTemplateData: requestData(ubuntu),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeLaunchTemplate, "team", "web")},
	}))(t).LaunchTemplate
	id := lt.LaunchTemplateId
	if aws.ToInt64(lt.DefaultVersionNumber) != 1 || aws.ToInt64(lt.LatestVersionNumber) != 1 || tagsOf(lt.Tags)["team"] != "web" {
		t.Fatalf("CreateLaunchTemplate: %+v", lt)
	}
	// A new version from $Latest with only ImageId changed; retried with
	// the same ClientToken it is made once.
	newVersion := &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: id, SourceVersion: aws.String("$Latest"),
		ClientToken: aws.String("fp-us-east-1"), LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(debian)}}
	for range 2 {
		v := must(c.CreateLaunchTemplateVersion(ctx, newVersion))(t).LaunchTemplateVersion
		if aws.ToInt64(v.VersionNumber) != 2 || v.LaunchTemplateData.InstanceType != types.InstanceTypeT3Micro || aws.ToBool(v.DefaultVersion) {
			t.Fatalf("CreateLaunchTemplateVersion: %+v", v)
		}
	}
	newVersion.LaunchTemplateData.ImageId = aws.String(ubuntu)
	_, err := c.CreateLaunchTemplateVersion(ctx, newVersion)
	wantCode(t, err, "IdempotentParameterMismatch")
	must(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("app"),
		LaunchTemplateData: requestData("resolve:ssm:/amis/app")}))(t)

	describe := func(in *ec2.DescribeLaunchTemplateVersionsInput) []string {
		t.Helper()
		return versionImages(must(c.DescribeLaunchTemplateVersions(ctx, in))(t).LaunchTemplateVersions)
	}
	for _, tc := range []struct {
		name string
		in   ec2.DescribeLaunchTemplateVersionsInput
		want string
	}{
		{"all", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id}, fmt.Sprintf("[1:%s 2:%s 3:resolve:ssm:/amis/app]", ubuntu, debian)},
		{"$Default and $Latest", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"$Default", "$Latest"}}, fmt.Sprintf("[1:%s 3:resolve:ssm:/amis/app]", ubuntu)},
		{"range", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String("app"), MinVersion: aws.String("2"), MaxVersion: aws.String("2")}, fmt.Sprintf("[2:%s]", debian)},
		{"filter image-id", ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, Filters: []types.Filter{sdkFilter("image-id", debian)}}, fmt.Sprintf("[2:%s]", debian)},
		{"every template's $Latest", ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Latest"}}, "[3:resolve:ssm:/amis/app]"},
	} {
		if got := fmt.Sprint(describe(&tc.in)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	// ResolveAlias resolves resolve:ssm: against the account's parameter.
	resolved := &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"$Latest"}, ResolveAlias: aws.Bool(true)}
	_, err = c.DescribeLaunchTemplateVersions(ctx, resolved)
	wantCode(t, err, "InvalidParameterValue")
	must(s.SSM(accountA, region).PutParameter(ctx, put("/amis/app", debian)))(t)
	if got := fmt.Sprint(describe(resolved)); got != fmt.Sprintf("[3:%s]", debian) {
		t.Fatalf("ResolveAlias: %s", got)
	}
	// The default version moves only when asked.
	must(c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: id, DefaultVersion: aws.String("2")}))(t)
	if got := fmt.Sprint(describe(&ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, Versions: []string{"$Default"}})); got != fmt.Sprintf("[2:%s]", debian) {
		t.Fatalf("after ModifyLaunchTemplate: %s", got)
	}
	must(c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateName: aws.String("app")}))(t)
	_, err = c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateIds: []string{aws.ToString(id)}})
	wantCode(t, err, "InvalidLaunchTemplateId.NotFound")
}

func TestLaunchTemplateErrors(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.EC2(accountA, region)
	id := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("app"),
		LaunchTemplateData: requestData(SeedImageID(region, SeedUbuntu))}))(t).LaunchTemplate.LaunchTemplateId
	for _, tc := range []struct {
		name string
		call func() error
		code string
	}{
		{"name in use", func() error {
			_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("app"), LaunchTemplateData: requestData("ami-1")})
			return err
		}, "InvalidLaunchTemplateName.AlreadyExistsException"},
		{"malformed name", func() error {
			_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("a b"), LaunchTemplateData: requestData("ami-1")})
			return err
		}, "InvalidLaunchTemplateName.MalformedException"},
		{"unmodelled data", func() error {
			_, err := c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("ebs-app"),
				LaunchTemplateData: &types.RequestLaunchTemplateData{EbsOptimized: aws.Bool(true)}})
			return err
		}, "UnsupportedOperation"},
		{"missing name", func() error {
			_, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String("nope"), LaunchTemplateData: requestData("ami-1")})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
		{"missing id", func() error {
			_, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: aws.String("lt-0123456789abcdef0"), LaunchTemplateData: requestData("ami-1")})
			return err
		}, "InvalidLaunchTemplateId.NotFound"},
		{"malformed id", func() error {
			_, err := c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: aws.String("template-1")})
			return err
		}, "InvalidLaunchTemplateId.Malformed"},
		{"missing source version", func() error {
			_, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: id, SourceVersion: aws.String("7"), LaunchTemplateData: requestData("ami-1")})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
		{"missing default version", func() error {
			_, err := c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: id, DefaultVersion: aws.String("9")})
			return err
		}, "InvalidLaunchTemplateId.VersionNotFound"},
		{"numbered versions of every template", func() error {
			_, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"1"}})
			return err
		}, "InvalidParameterValue"},
		{"unknown filter", func() error {
			_, err := c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []types.Filter{sdkFilter("owner-id", accountA)}})
			return err
		}, "InvalidParameterValue"},
		{"MaxResults 201", func() error {
			_, err := c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateId: id, MaxResults: aws.Int32(201)})
			return err
		}, "InvalidParameterValue"},
		{"another account's template", func() error {
			_, err := s.EC2(accountB, region).DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{"app"}})
			return err
		}, "InvalidLaunchTemplateName.NotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantCode(t, tc.call(), tc.code) })
	}
}

func TestLaunchTemplatePagination(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.EC2(accountA, region)
	for i := range 7 {
		must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(fmt.Sprintf("lt-%d", i)),
			LaunchTemplateData: requestData(SeedImageID(region, SeedUbuntu))}))(t)
	}
	var names []string
	pages := 0
	for p := ec2.NewDescribeLaunchTemplatesPaginator(c, &ec2.DescribeLaunchTemplatesInput{MaxResults: aws.Int32(3)}); p.HasMorePages(); pages++ {
		for _, lt := range must(p.NextPage(ctx))(t).LaunchTemplates {
			names = append(names, aws.ToString(lt.LaunchTemplateName))
		}
	}
	if pages != 3 || len(names) != 7 {
		t.Fatalf("%d pages: %v", pages, names)
	}
	n := 0
	for p := ec2.NewDescribeLaunchTemplateVersionsPaginator(c, &ec2.DescribeLaunchTemplateVersionsInput{
		Versions: []string{"$Latest"}, MaxResults: aws.Int32(2)}); p.HasMorePages(); {
		n += len(must(p.NextPage(ctx))(t).LaunchTemplateVersions)
	}
	if n != 7 {
		t.Fatalf("every template's $Latest: %d versions", n)
	}
}
