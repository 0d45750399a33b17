package awsapi_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sdkas "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	sdkssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/ami-bakery/ami-bakery/internal/awsapi"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/autoscaling"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

const region = "us-east-1"

var acct = awsemu.DefaultAccount

// Every SSM operation ami-bakery makes, through its own client, reads what
// the SDK's client wrote and writes what the SDK's client reads, against
// the emulator (which the SDK's clients' tests hold to AWS's behaviour).
func TestSSMAgainstSDK(t *testing.T) {
	ctx := context.Background()
	s := awsemu.NewTestServer(t)
	sdk, own := s.SSM(acct, region), s.BakerySSM(acct, region)
	before := time.Now().Add(-time.Minute)

	if _, err := sdk.PutParameter(ctx, &sdkssm.PutParameterInput{Name: aws.String("/a/x"), Value: aws.String("one"), Type: "String"}); err != nil {
		t.Fatal(err)
	}
	put, err := own.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/a/x"), Value: aws.String("two"),
		Type: ssm.ParameterTypeString, Description: aws.String("second"), Overwrite: aws.Bool(true)})
	if err != nil || put.Version != 2 {
		t.Fatalf("PutParameter: version %v, %v; want 2", put, err)
	}
	got, err := own.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/a/x")})
	if err != nil || aws.ToString(got.Parameter.Value) != "two" || got.Parameter.Version != 2 || got.Parameter.Type != ssm.ParameterTypeString {
		t.Fatalf("GetParameter: %+v, %v", got, err)
	}
	if at := aws.ToTime(got.Parameter.LastModifiedDate); at.Before(before) || at.After(time.Now().Add(time.Minute)) {
		t.Errorf("LastModifiedDate %v, want about now", at)
	}
	old, err := own.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/a/x:1")})
	if err != nil || aws.ToString(old.Parameter.Value) != "one" || aws.ToString(old.Parameter.Selector) != ":1" {
		t.Fatalf("GetParameter /a/x:1: %+v, %v", old, err)
	}

	lab, err := own.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String("/a/x"), Labels: []string{"fp-1", "bad label!"}, ParameterVersion: aws.Int64(1)})
	if err != nil || lab.ParameterVersion != 1 || !slices.Equal(lab.InvalidLabels, []string{"bad label!"}) {
		t.Fatalf("LabelParameterVersion: %+v, %v", lab, err)
	}
	hist, err := own.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/a/x"), MaxResults: aws.Int32(1)})
	if err != nil || len(hist.Parameters) != 1 || aws.ToString(hist.NextToken) == "" {
		t.Fatalf("GetParameterHistory page 1: %+v, %v", hist, err)
	}
	h1 := hist.Parameters[0]
	hist, err = own.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/a/x"), MaxResults: aws.Int32(1), NextToken: hist.NextToken})
	if err != nil || len(hist.Parameters) != 1 {
		t.Fatalf("GetParameterHistory page 2: %+v, %v", hist, err)
	}
	h2 := hist.Parameters[0]
	want, err := sdk.GetParameterHistory(ctx, &sdkssm.GetParameterHistoryInput{Name: aws.String("/a/x")})
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range []ssm.ParameterHistory{h1, h2} {
		w := want.Parameters[i]
		if h.Version != w.Version || aws.ToString(h.Value) != aws.ToString(w.Value) || aws.ToString(h.Description) != aws.ToString(w.Description) ||
			!slices.Equal(h.Labels, w.Labels) || !aws.ToTime(h.LastModifiedDate).Equal(aws.ToTime(w.LastModifiedDate).Truncate(time.Millisecond)) {
			t.Errorf("history %d: ours %+v, the SDK's %+v", i, h, w)
		}
	}
	un, err := own.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{Name: aws.String("/a/x"), Labels: []string{"fp-1", "fp-9"}, ParameterVersion: aws.Int64(1)})
	if err != nil || !slices.Equal(un.RemovedLabels, []string{"fp-1"}) || !slices.Equal(un.InvalidLabels, []string{"fp-9"}) {
		t.Fatalf("UnlabelParameterVersion: %+v, %v", un, err)
	}

	for i := range 3 {
		if _, err := sdk.PutParameter(ctx, &sdkssm.PutParameterInput{Name: aws.String(fmt.Sprintf("/b/%d", i)), Value: aws.String("v"), Type: "String"}); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for next := (*string)(nil); ; {
		page, err := own.DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(2), NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range page.Parameters {
			names = append(names, aws.ToString(p.Name))
		}
		if next = page.NextToken; next == nil {
			break
		}
	}
	slices.Sort(names)
	if fmt.Sprint(names) != "[/a/x /b/0 /b/1 /b/2]" {
		t.Errorf("DescribeParameters: %v", names)
	}
	many, err := own.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/b/0", "/missing"}, WithDecryption: aws.Bool(true)})
	if err != nil || len(many.Parameters) != 1 || aws.ToString(many.Parameters[0].Name) != "/b/0" || !slices.Equal(many.InvalidParameters, []string{"/missing"}) {
		t.Fatalf("GetParameters: %+v, %v", many, err)
	}

	if _, err := own.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/a/x")}); err != nil {
		t.Fatal(err)
	}
	_, err = own.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/a/x")})
	var api smithy.APIError
	var op *smithy.OperationError
	if !ssm.IsParameterNotFound(err) || !errors.As(err, &api) || api.ErrorCode() != "ParameterNotFound" || !errors.As(err, &op) || op.Operation() != "GetParameter" {
		t.Fatalf("GetParameter of a deleted parameter: %v; want ParameterNotFound from GetParameter", err)
	}
	if ssm.IsParameterNotFound(errors.New("ParameterNotFound")) {
		t.Error("a plain error is not ParameterNotFound")
	}
}

// What ami-bakery reads of groups and launch configurations through its
// own client is what the SDK's client reads, pages included.
func TestAutoScalingAgainstSDK(t *testing.T) {
	ctx := context.Background()
	s := awsemu.NewTestServer(t)
	sdk, own := s.AutoScaling(acct, region), s.BakeryAutoScaling(acct, region)
	lt, err := s.EC2(acct, region).CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("app"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(awsemu.SeedImageID(region, awsemu.SeedUbuntu))}})
	if err != nil {
		t.Fatal(err)
	}
	id := lt.LaunchTemplate.LaunchTemplateId
	for _, name := range []string{"lc-1", "lc-2", "lc-3"} {
		if _, err := sdk.CreateLaunchConfiguration(ctx, &sdkas.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String(name),
			ImageId: aws.String(awsemu.SeedImageID(region, awsemu.SeedDebian)), InstanceType: aws.String("t3.micro")}); err != nil {
			t.Fatal(err)
		}
	}
	groups := []*sdkas.CreateAutoScalingGroupInput{
		{AutoScalingGroupName: aws.String("by-config"), LaunchConfigurationName: aws.String("lc-1")},
		{AutoScalingGroupName: aws.String("by-template"), LaunchTemplate: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("$Latest")}},
		{AutoScalingGroupName: aws.String("mixed"), MixedInstancesPolicy: &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{
			LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateId: id},
			Overrides: []astypes.LaunchTemplateOverrides{{InstanceType: aws.String("t3.large"),
				LaunchTemplateSpecification: &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String("app"), Version: aws.String("1")}}},
		}}},
	}
	for _, g := range groups {
		g.MinSize, g.MaxSize, g.AvailabilityZones = aws.Int32(0), aws.Int32(1), []string{"us-east-1a"}
		if _, err := sdk.CreateAutoScalingGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	spec := func(s *astypes.LaunchTemplateSpecification) string {
		if s == nil {
			return "-"
		}
		return aws.ToString(s.LaunchTemplateId) + "/" + aws.ToString(s.LaunchTemplateName) + "@" + aws.ToString(s.Version)
	}
	ownSpec := func(s *autoscaling.LaunchTemplateSpecification) string {
		if s == nil {
			return "-"
		}
		return aws.ToString(s.LaunchTemplateId) + "/" + aws.ToString(s.LaunchTemplateName) + "@" + aws.ToString(s.Version)
	}
	var want, got []string
	sdkGroups, err := sdk.DescribeAutoScalingGroups(ctx, &sdkas.DescribeAutoScalingGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range sdkGroups.AutoScalingGroups {
		w := aws.ToString(g.AutoScalingGroupName) + " " + aws.ToString(g.LaunchConfigurationName) + " " + spec(g.LaunchTemplate)
		if m := g.MixedInstancesPolicy; m != nil {
			w += " mixed " + spec(m.LaunchTemplate.LaunchTemplateSpecification)
			for _, o := range m.LaunchTemplate.Overrides {
				w += " " + spec(o.LaunchTemplateSpecification)
			}
		}
		want = append(want, w)
	}
	for next := (*string)(nil); ; {
		page, err := own.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{NextToken: next, MaxRecords: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range page.AutoScalingGroups {
			w := aws.ToString(g.AutoScalingGroupName) + " " + aws.ToString(g.LaunchConfigurationName) + " " + ownSpec(g.LaunchTemplate)
			if m := g.MixedInstancesPolicy; m != nil {
				w += " mixed " + ownSpec(m.LaunchTemplate.LaunchTemplateSpecification)
				for _, o := range m.LaunchTemplate.Overrides {
					w += " " + ownSpec(o.LaunchTemplateSpecification)
				}
			}
			got = append(got, w)
		}
		if next = page.NextToken; next == nil {
			break
		}
	}
	if len(want) != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("groups:\n ours    %q\n the SDK's %q", got, want)
	}
	var lcs []string
	for next := (*string)(nil); ; {
		page, err := own.DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{NextToken: next, MaxRecords: aws.Int32(2)})
		if err != nil {
			t.Fatal(err)
		}
		for _, lc := range page.LaunchConfigurations {
			lcs = append(lcs, aws.ToString(lc.LaunchConfigurationName)+"="+aws.ToString(lc.ImageId))
		}
		if next = page.NextToken; next == nil {
			break
		}
	}
	debian := awsemu.SeedImageID(region, awsemu.SeedDebian)
	if w := fmt.Sprintf("[lc-1=%s lc-2=%s lc-3=%s]", debian, debian, debian); fmt.Sprint(lcs) != w {
		t.Errorf("launch configurations %v, want %s", lcs, w)
	}
}

// Throttling and 5xx answers are retried by the configuration's retryer,
// as by the SDK's clients; a permanent error is not; every error answer
// is an APIError with the service's code.
func TestRetriesAndErrors(t *testing.T) {
	ctx := context.Background()
	s := awsemu.NewTestServer(t)
	cfg := s.Config(acct, region)
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = 3; o.MaxBackoff = time.Millisecond })
	}
	own := ssm.NewFromConfig(cfg)
	ownAS := autoscaling.NewFromConfig(cfg)
	calls := func(action string) int {
		n := 0
		for _, c := range s.Calls() {
			if c.Action == action {
				n++
			}
		}
		return n
	}
	cases := []struct {
		service, action, code string
		times, wantCalls      int
		wantErr               bool
	}{
		{"SSM", "GetParameters", "ThrottlingException", 2, 3, false},
		{"SSM", "DescribeParameters", "InternalError", 5, 3, true},
		{"SSM", "GetParameterHistory", "AccessDeniedException", 5, 1, true},
		{"Auto Scaling", "DescribeLaunchConfigurations", "Throttling", 1, 2, false},
		{"Auto Scaling", "DescribeAutoScalingGroups", "AccessDenied", 5, 1, true},
	}
	for _, tc := range cases {
		s.SetFaults(awsemu.Faults{Rate: 1, Times: tc.times, Actions: []string{tc.action}, Codes: []string{tc.code}})
		before := calls(tc.action)
		var err error
		switch tc.action {
		case "GetParameters":
			_, err = own.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/x"}})
		case "DescribeParameters":
			_, err = own.DescribeParameters(ctx, &ssm.DescribeParametersInput{})
		case "GetParameterHistory":
			_, err = own.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/x")})
		case "DescribeLaunchConfigurations":
			_, err = ownAS.DescribeLaunchConfigurations(ctx, &autoscaling.DescribeLaunchConfigurationsInput{})
		case "DescribeAutoScalingGroups":
			_, err = ownAS.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
		}
		if n := calls(tc.action) - before; n != tc.wantCalls {
			t.Errorf("%s with %d %s faults: %d calls, want %d", tc.action, tc.times, tc.code, n, tc.wantCalls)
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("%s with %d %s faults: error %v, want one: %v", tc.action, tc.times, tc.code, err, tc.wantErr)
		}
		if err != nil && !awsapi.HasCode(err, tc.code) {
			t.Errorf("%s: error %v, want code %s", tc.action, err, tc.code)
		}
	}
	s.SetFaults(awsemu.Faults{})
}

// A client without an endpoint fails every call, saying so.
func TestNoEndpoint(t *testing.T) {
	cfg := aws.Config{Region: "eu-west-1"}
	_, err := ssm.NewFromConfig(cfg).GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/x")})
	if err == nil || err.Error() != "operation error SSM: GetParameter, no SSM endpoint in eu-west-1" {
		t.Fatalf("got %v", err)
	}
}
