package awsemu

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func put(name, value string, opts ...func(*ssm.PutParameterInput)) *ssm.PutParameterInput {
	in := &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: ssmtypes.ParameterTypeString}
	for _, o := range opts {
		o(in)
	}
	return in
}

func overwrite(in *ssm.PutParameterInput)  { in.Overwrite = aws.Bool(true) }
func imageData(in *ssm.PutParameterInput)  { in.DataType = aws.String(dataTypeImage) }
func untyped(in *ssm.PutParameterInput)    { in.Type = "" }
func stringList(in *ssm.PutParameterInput) { in.Type = ssmtypes.ParameterTypeStringList }
func secure(in *ssm.PutParameterInput)     { in.Type = ssmtypes.ParameterTypeSecureString }
func advanced(in *ssm.PutParameterInput)   { in.Tier = ssmtypes.ParameterTierAdvanced }
func withTags(in *ssm.PutParameterInput) {
	in.Tags = []ssmtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}
}
func badDataType(in *ssm.PutParameterInput) { in.DataType = aws.String("AWS:EC2:IMAGE") }

func TestPutParameterErrors(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	must(c.PutParameter(ctx, put("/app/text", "v1")))(t)
	must(c.PutParameter(ctx, put("/app/image", SeedImageID(region, SeedUbuntu), imageData)))(t)
	for _, tc := range []struct {
		name string
		in   *ssm.PutParameterInput
		code string
	}{
		{"exists without Overwrite", put("/app/text", "v2"), "ParameterAlreadyExists"},
		{"Type changed", put("/app/text", "a,b", overwrite, stringList), "HierarchyTypeMismatchException"},
		{"text to aws:ec2:image", put("/app/text", SeedImageID(region, SeedUbuntu), overwrite, imageData), "ValidationException"},
		{"aws:ec2:image to text", put("/app/image", "plain", overwrite), "ValidationException"},
		{"new without Type", put("/app/new", "v", untyped), "ValidationException"},
		{"reserved prefix", put("/aws/service/mine", "v"), "ValidationException"},
		{"ssm prefix", put("ssm-thing", "v"), "ValidationException"},
		{"not fully qualified", put("app/x", "v"), "ValidationException"},
		{"bad character", put("/app/x y", "v"), "ValidationException"},
		{"16 levels", put(strings.Repeat("/l", 16), "v"), "HierarchyLevelLimitExceededException"},
		{"name too long", put("/"+strings.Repeat("n", 1011), "v"), "ValidationException"},
		{"value too long", put("/app/big", strings.Repeat("v", 4097)), "ValidationException"},
		{"data type in capitals", put("/app/dt", "v", badDataType), "ValidationException"},
		{"StringList of images", put("/app/list", "ami-1", stringList, imageData), "ValidationException"},
		{"SecureString not modelled", put("/app/secret", "v", secure), "ValidationException"},
		{"Advanced tier not modelled", put("/app/adv", "v", advanced), "ValidationException"},
		{"Tags not modelled", put("/app/tagged", "v", withTags), "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.PutParameter(ctx, tc.in)
			wantCode(t, err, tc.code)
		})
	}
}

func TestParameterVersions(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	for i := 1; i <= 102; i++ {
		out := must(c.PutParameter(ctx, put("/app/v", fmt.Sprint(i), overwrite)))(t)
		if out.Version != int64(i) || out.Tier != ssmtypes.ParameterTierStandard {
			t.Fatalf("put %d: version %d tier %s", i, out.Version, out.Tier)
		}
	}
	got := must(c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/v")}))(t).Parameter
	if aws.ToString(got.Value) != "102" || got.Version != 102 || aws.ToString(got.DataType) != "text" ||
		aws.ToString(got.ARN) != "arn:aws:ssm:us-east-1:"+accountA+":parameter/app/v" || got.LastModifiedDate == nil {
		t.Fatalf("GetParameter: %+v", got)
	}
	old := must(c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/v:3")}))(t).Parameter
	if aws.ToString(old.Value) != "3" || aws.ToString(old.Selector) != ":3" {
		t.Fatalf("version 3: %+v", old)
	}
	for _, tc := range []struct{ name, code string }{
		{"/app/v:2", "ParameterVersionNotFound"}, // only the 100 newest are kept
		{"/app/v:103", "ParameterVersionNotFound"},
		{"/app/v:stable", "ParameterNotFound"}, // no version has this label
		{"/app/missing", "ParameterNotFound"},
		{"", "ValidationException"},
	} {
		_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tc.name)})
		wantCode(t, err, tc.code)
	}
	// Parameters are per account and per region.
	_, err := s.SSM(accountB, region).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/v")})
	wantCode(t, err, "ParameterNotFound")
	_, err = s.SSM(accountA, otherRegion).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/v")})
	wantCode(t, err, "ParameterNotFound")
}

func TestGetParametersAndDelete(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	must(c.PutParameter(ctx, put("/a", "1")))(t)
	out := must(c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/a", "/b", "/a:9"}}))(t)
	if len(out.Parameters) != 1 || aws.ToString(out.Parameters[0].Value) != "1" ||
		strings.Join(out.InvalidParameters, ",") != "/b,/a:9" {
		t.Fatalf("GetParameters: %+v %v", out.Parameters, out.InvalidParameters)
	}
	_, err := c.GetParameters(ctx, &ssm.GetParametersInput{Names: strings.Split("1,2,3,4,5,6,7,8,9,10,11", ",")})
	wantCode(t, err, "ValidationException")
	// A label no version carries is an invalid parameter, as a missing
	// version is.
	out = must(c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/a:prod"}}))(t)
	if len(out.Parameters) != 0 || strings.Join(out.InvalidParameters, ",") != "/a:prod" {
		t.Fatalf("GetParameters with an unknown label: %+v %v", out.Parameters, out.InvalidParameters)
	}
	must(c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/a")}))(t)
	_, err = c.DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String("/a")})
	wantCode(t, err, "ParameterNotFound")
	if got := s.Parameters(accountA, region); len(got) != 0 {
		t.Fatalf("after delete: %+v", got)
	}
}

func TestGetParametersByPath(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	var want []string
	for i := range 23 {
		name := fmt.Sprintf("/amis/img%02d/latest", i)
		must(c.PutParameter(ctx, put(name, "v")))(t)
		want = append(want, name)
	}
	must(c.PutParameter(ctx, put("/amis/top", "v")))(t)
	must(c.PutParameter(ctx, put("/other/x", "v")))(t)
	var got []string
	pages := 0
	for p := ssm.NewGetParametersByPathPaginator(c, &ssm.GetParametersByPathInput{
		Path: aws.String("/amis/"), Recursive: aws.Bool(true), MaxResults: aws.Int32(10),
	}); p.HasMorePages(); pages++ {
		for _, prm := range must(p.NextPage(ctx))(t).Parameters {
			got = append(got, aws.ToString(prm.Name))
		}
	}
	want = append(want, "/amis/top")
	if pages != 3 || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("recursive: %d pages, %v", pages, got)
	}
	flat := must(c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/amis")}))(t)
	if len(flat.Parameters) != 1 || aws.ToString(flat.Parameters[0].Name) != "/amis/top" || flat.NextToken != nil {
		t.Fatalf("one level: %+v", flat.Parameters)
	}
	for _, tc := range []struct {
		name string
		in   ssm.GetParametersByPathInput
		code string
	}{
		{"MaxResults 11", ssm.GetParametersByPathInput{Path: aws.String("/amis"), MaxResults: aws.Int32(11)}, "ValidationException"},
		{"MaxResults 0", ssm.GetParametersByPathInput{Path: aws.String("/amis"), MaxResults: aws.Int32(0)}, "ValidationException"},
		{"relative path", ssm.GetParametersByPathInput{Path: aws.String("amis")}, "ValidationException"},
		{"bad token", ssm.GetParametersByPathInput{Path: aws.String("/amis"), NextToken: aws.String("!!")}, "InvalidNextToken"},
		{"filters not modelled", ssm.GetParametersByPathInput{Path: aws.String("/amis"),
			ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"String"}}}}, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.GetParametersByPath(ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}
}

// An aws:ec2:image version becomes visible only once validated, after
// SSMValidationDelay; one naming an image the account cannot see is dropped.
func TestImageParameterValidation(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := NewTestServer(t, Options{Clock: func() time.Time { return start }, SSMValidationDelay: 30 * time.Second})
	c := s.SSM(accountA, region)
	first, second := SeedImageID(region, SeedUbuntu), SeedImageID(region, SeedDebian)
	value := func() (string, int64, error) {
		out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/amis/app")})
		if err != nil {
			return "", 0, err
		}
		return aws.ToString(out.Parameter.Value), out.Parameter.Version, nil
	}
	if v := must(c.PutParameter(ctx, put("/amis/app", first, imageData)))(t); v.Version != 1 {
		t.Fatalf("version %d", v.Version)
	}
	_, _, err := value()
	wantCode(t, err, "ParameterNotFound") // not created until validated
	s.Advance(30 * time.Second)
	if v, n, err := value(); err != nil || v != first || n != 1 {
		t.Fatalf("after validation: %s %d %v", v, n, err)
	}
	must(c.PutParameter(ctx, put("/amis/app", second, imageData, overwrite)))(t)
	if v, _, _ := value(); v != first {
		t.Fatalf("before validation GetParameter shows %s", v)
	}
	s.Advance(30 * time.Second)
	if v, n, _ := value(); v != second || n != 2 {
		t.Fatalf("after validation: %s %d", v, n)
	}
	// An image that does not exist (or is not visible) fails validation:
	// the version is never shown, and its number is not reused.
	must(c.PutParameter(ctx, put("/amis/app", "ami-0123456789abcdef0", imageData, overwrite)))(t)
	s.Advance(time.Minute)
	if v, n, _ := value(); v != second || n != 2 {
		t.Fatalf("after a failed validation: %s %d", v, n)
	}
	if v := must(c.PutParameter(ctx, put("/amis/app", first, imageData, overwrite)))(t); v.Version != 4 {
		t.Fatalf("next version %d, want 4", v.Version)
	}
}

func TestImageParameterNeverValidates(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	s.SetSSMValidation(0, true)
	c := s.SSM(accountA, region)
	must(c.PutParameter(ctx, put("/amis/app", "plain-text-is-fine")))(t)
	must(c.PutParameter(ctx, put("/amis/img", SeedImageID(region, SeedUbuntu), imageData)))(t)
	s.Advance(24 * time.Hour)
	_, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/amis/img")})
	wantCode(t, err, "ParameterNotFound")
	if got := s.Parameters(accountA, region); len(got) != 2 || got[1].Pending != 1 || got[1].Version != 0 {
		t.Fatalf("Parameters: %+v", got)
	}
}

func TestPublicParameters(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	name := "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id"
	must(0, s.SetPublicParameter(region, name, SeedImageID(region, SeedUbuntu)))(t)
	must(0, s.SetPublicParameter(otherRegion, name, SeedImageID(otherRegion, SeedUbuntu)))(t)
	if err := s.SetPublicParameter(region, "/mine", "v"); err == nil {
		t.Fatal("a public parameter outside /aws/service/ was accepted")
	}
	for _, acct := range []string{accountA, accountB} {
		for _, r := range []string{region, otherRegion} {
			out := must(s.SSM(acct, r).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)}))(t)
			if aws.ToString(out.Parameter.Value) != SeedImageID(r, SeedUbuntu) {
				t.Fatalf("%s in %s reads %s", acct, r, aws.ToString(out.Parameter.Value))
			}
		}
	}
	byPath := must(s.SSM(accountB, region).GetParametersByPath(ctx, &ssm.GetParametersByPathInput{
		Path: aws.String("/aws/service/canonical"), Recursive: aws.Bool(true)}))(t)
	if len(byPath.Parameters) != 1 {
		t.Fatalf("by path: %+v", byPath.Parameters)
	}
	_, err := s.SSM(accountA, region).PutParameter(ctx, put(name, "ami-1", overwrite))
	wantCode(t, err, "ValidationException")
}

func TestSSMRefusals(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	denied := ssm.NewFromConfig(s.Config(accountA, region), func(o *ssm.Options) {
		o.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: DeniedKeyPrefix + "X", SecretAccessKey: "s"}, nil
		})
	})
	_, err := denied.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")})
	wantCode(t, err, "AccessDeniedException")
	_, err = s.SSM(accountA, "mars-north-1").GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")})
	wantCode(t, err, "UnrecognizedClientException")
	_, err = s.SSM(accountA, region).DeleteParameters(ctx, &ssm.DeleteParametersInput{Names: []string{"/x"}})
	wantCode(t, err, "UnknownOperationException")
	s.SetFaults(Faults{Rate: 1, Codes: []string{"ThrottlingException"}, Actions: []string{"GetParameter"}})
	_, err = s.SSM(accountA, region).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/x")})
	wantCode(t, err, "ThrottlingException")
	if n := s.CallCount("GetParameter"); n != 3 {
		t.Fatalf("GetParameter calls logged: %d", n)
	}
}

// The aws CLI (botocore's JSON protocol, an independent client) reads a
// parameter.
func TestSSMWithAWSCLI(t *testing.T) {
	s := NewTestServer(t)
	must(s.SSM(accountA, region).PutParameter(context.Background(), put("/amis/cli", "hello")))(t)
	var out struct {
		Parameter struct{ Name, Value, DataType string }
	}
	if err := json.Unmarshal(runAWSCLI(t, s.URL, "ssm", "get-parameter", "--name", "/amis/cli"), &out); err != nil {
		t.Fatal(err)
	}
	if out.Parameter.Value != "hello" || out.Parameter.DataType != "text" {
		t.Fatalf("aws ssm get-parameter: %+v", out)
	}
}

// DescribeParameters lists every own name (plain ones too, not the public
// ones), sorted, within AWS's page limits; with SSMShortPages the pages are
// short or empty and still lead to every name.
func TestDescribeParameters(t *testing.T) {
	ctx := context.Background()
	for _, short := range []bool{false, true} {
		t.Run(fmt.Sprintf("short=%t", short), func(t *testing.T) {
			s := NewTestServer(t, Options{SSMShortPages: short})
			c := s.SSM(accountA, region)
			var want []string
			for i := range 23 {
				name := fmt.Sprintf("/amis/img%02d", i)
				if i%5 == 0 {
					name = fmt.Sprintf("plain%02d", i)
				}
				must(c.PutParameter(ctx, put(name, "v")))(t)
				want = append(want, name)
			}
			must(s.SSM(accountB, region).PutParameter(ctx, put("/theirs", "v")))(t)
			must(struct{}{}, s.SetPublicParameter(region, "/aws/service/x", "v"))(t)
			slices.Sort(want)
			var got []string
			pages, empty := 0, 0
			for p := ssm.NewDescribeParametersPaginator(c, &ssm.DescribeParametersInput{MaxResults: aws.Int32(4)}); p.HasMorePages(); pages++ {
				out := must(p.NextPage(ctx))(t)
				if len(out.Parameters) > 4 {
					t.Fatalf("page of %d, asked 4", len(out.Parameters))
				}
				if len(out.Parameters) == 0 {
					empty++
				}
				for _, prm := range out.Parameters {
					got = append(got, aws.ToString(prm.Name))
					if prm.Type != ssmtypes.ParameterTypeString || aws.ToString(prm.DataType) != "text" || prm.Version != 1 {
						t.Errorf("%+v", prm)
					}
				}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("got %v, want %v", got, want)
			}
			if short && (empty == 0 || pages <= 6) || !short && (empty != 0 || pages != 6) {
				t.Errorf("%d pages, %d empty", pages, empty)
			}
			one := must(c.DescribeParameters(ctx, &ssm.DescribeParametersInput{}))(t)
			if n := len(one.Parameters); !short && n != 10 || short && n != 0 || one.NextToken == nil {
				t.Errorf("default page: %d, token %v", n, one.NextToken)
			}
		})
	}
	c := NewTestServer(t).SSM(accountA, region)
	for _, tc := range []struct {
		name string
		in   ssm.DescribeParametersInput
		code string
	}{
		{"MaxResults 51", ssm.DescribeParametersInput{MaxResults: aws.Int32(51)}, "ValidationException"},
		{"MaxResults 0", ssm.DescribeParametersInput{MaxResults: aws.Int32(0)}, "ValidationException"},
		{"bad token", ssm.DescribeParametersInput{NextToken: aws.String("!!")}, "InvalidNextToken"},
		{"filters not modelled", ssm.DescribeParametersInput{
			ParameterFilters: []ssmtypes.ParameterStringFilter{{Key: aws.String("Type"), Values: []string{"String"}}}}, "ValidationException"},
		{"shared not modelled", ssm.DescribeParametersInput{Shared: aws.Bool(true)}, "ValidationException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.DescribeParameters(ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}
}

// GetParametersByPath under "/" lists the names without a leading slash
// too, as AWS does.
func TestGetParametersByPathRoot(t *testing.T) {
	ctx := context.Background()
	c := NewTestServer(t).SSM(accountA, region)
	for _, name := range []string{"plain", "/top", "/a/b"} {
		must(c.PutParameter(ctx, put(name, "v")))(t)
	}
	names := func(recursive bool) string {
		var out []string
		for _, p := range must(c.GetParametersByPath(ctx, &ssm.GetParametersByPathInput{Path: aws.String("/"), Recursive: aws.Bool(recursive)}))(t).Parameters {
			out = append(out, aws.ToString(p.Name))
		}
		return strings.Join(out, ",")
	}
	if got := names(false); got != "/top,plain" {
		t.Errorf("one level: %s", got)
	}
	if got := names(true); got != "/a/b,/top,plain" {
		t.Errorf("recursive: %s", got)
	}
}

func label(name string, version int64, labels ...string) *ssm.LabelParameterVersionInput {
	// An empty list, not nil: the SDK itself refuses a missing one.
	in := &ssm.LabelParameterVersionInput{Name: aws.String(name), Labels: append([]string{}, labels...)}
	if version != 0 {
		in.ParameterVersion = aws.Int64(version)
	}
	return in
}

// LabelParameterVersion keeps AWS's rules, step by step on one parameter
// of three versions: a label is unique per parameter, a version holds at
// most 10, a label breaking the rules comes back in InvalidLabels.
func TestLabelParameterVersion(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	for i := 1; i <= 3; i++ {
		must(c.PutParameter(ctx, put("/app/p", fmt.Sprint(i), overwrite)))(t)
	}
	ten := func(prefix string) []string {
		var out []string
		for i := range 10 {
			out = append(out, fmt.Sprintf("%s%d", prefix, i))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		in      *ssm.LabelParameterVersionInput
		code    string
		version int64    // ParameterVersion answered
		invalid string   // InvalidLabels, joined
		after   []string // labels of versions 1, 2, 3 afterwards
	}{
		{"newest by default", label("/app/p", 0, "prod"), "", 3, "", []string{"", "", "prod"}},
		{"moved to version 1", label("/app/p", 1, "prod"), "", 1, "", []string{"prod", "", ""}},
		{"again on the same version", label("/app/p", 1, "prod", "prod"), "", 1, "", []string{"prod", "", ""}},
		{"case sensitive", label("/app/p", 3, "Prod"), "", 3, "", []string{"prod", "", "Prod"}},
		{"rules", label("/app/p", 2, "1st", "aws-x", "AWSome", "SSMx", "a b", "a:b", "ok", ".dot", "_u", "x-1.2_3"),
			"", 2, "1st,aws-x,AWSome,SSMx,a b,a:b", []string{"prod", "ok,.dot,_u,x-1.2_3", "Prod"}},
		{"100 characters", label("/app/p", 3, "l"+strings.Repeat("x", 99)), "", 3, "", []string{"prod", "ok,.dot,_u,x-1.2_3", "Prod,l" + strings.Repeat("x", 99)}},
		{"101 characters", label("/app/p", 3, "l"+strings.Repeat("x", 100)), "ValidationException", 0, "", nil},
		{"no labels", label("/app/p", 3), "ValidationException", 0, "", nil},
		{"11 labels", label("/app/p", 3, append(ten("n"), "n10")...), "ValidationException", 0, "", nil},
		{"version 9", label("/app/p", 9, "x"), "ParameterVersionNotFound", 0, "", nil},
		{"missing parameter", label("/app/q", 0, "x"), "ParameterNotFound", 0, "", nil},
		{"ARN not modelled", label("arn:aws:ssm:us-east-1:"+accountA+":parameter/app/p", 0, "x"), "ValidationException", 0, "", nil},
		{"10 on one version", label("/app/p", 1, ten("t")[:9]...), "", 1, "", []string{"prod," + strings.Join(ten("t")[:9], ","), "ok,.dot,_u,x-1.2_3", "Prod,l" + strings.Repeat("x", 99)}},
		{"one more", label("/app/p", 1, "eleven"), "ParameterVersionLabelLimitExceeded", 0, "", nil},
		// An 11th label is refused whole: "t9" is not attached either.
		{"an 11th", label("/app/p", 1, "t9", "eleven"), "ParameterVersionLabelLimitExceeded", 0, "", nil},
		// Labels already there do not count again.
		{"already there", label("/app/p", 1, "t0", "prod"), "", 1, "", []string{"prod," + strings.Join(ten("t")[:9], ","), "ok,.dot,_u,x-1.2_3", "Prod,l" + strings.Repeat("x", 99)}},
		// Invalid labels do not count toward the 10.
		{"invalid ones beside", label("/app/p", 1, "1x", "aws"), "", 1, "1x,aws", []string{"prod," + strings.Join(ten("t")[:9], ","), "ok,.dot,_u,x-1.2_3", "Prod,l" + strings.Repeat("x", 99)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.LabelParameterVersion(ctx, tc.in)
			if tc.code != "" {
				wantCode(t, err, tc.code)
			} else if err != nil {
				t.Fatal(err)
			} else if out.ParameterVersion != tc.version || strings.Join(out.InvalidLabels, ",") != tc.invalid {
				t.Errorf("version %d, invalid %v", out.ParameterVersion, out.InvalidLabels)
			}
			if tc.after == nil {
				return
			}
			got := s.ParameterLabels(accountA, region, "/app/p")
			for i, want := range tc.after {
				if g := strings.Join(got[int64(i+1)], ","); g != want {
					t.Errorf("version %d labels %q, want %q", i+1, g, want)
				}
			}
		})
	}
	// Another account's parameter of the same name is not labelled.
	_, err := s.SSM(accountB, region).LabelParameterVersion(ctx, label("/app/p", 0, "x"))
	wantCode(t, err, "ParameterNotFound")
}

func TestUnlabelParameterVersion(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	must(c.PutParameter(ctx, put("/app/p", "1")))(t)
	must(c.PutParameter(ctx, put("/app/p", "2", overwrite)))(t)
	must(c.LabelParameterVersion(ctx, label("/app/p", 1, "a", "b")))(t)
	must(c.LabelParameterVersion(ctx, label("/app/p", 2, "c")))(t)
	unlabel := func(name string, version int64, labels ...string) *ssm.UnlabelParameterVersionInput {
		return &ssm.UnlabelParameterVersionInput{Name: aws.String(name), ParameterVersion: aws.Int64(version), Labels: append([]string{}, labels...)}
	}
	for _, tc := range []struct {
		name             string
		in               *ssm.UnlabelParameterVersionInput
		code             string
		removed, invalid string
		left1, left2     string
	}{
		// "c" is on version 2, "x" nowhere: neither is on version 1.
		{"some", unlabel("/app/p", 1, "a", "c", "x"), "", "a", "c,x", "b", "c"},
		{"again", unlabel("/app/p", 1, "a"), "", "", "a", "b", "c"},
		{"the rest", unlabel("/app/p", 2, "c"), "", "c", "", "b", ""},
		{"version 3", unlabel("/app/p", 3, "b"), "ParameterVersionNotFound", "", "", "b", ""},
		{"missing parameter", unlabel("/app/q", 1, "b"), "ParameterNotFound", "", "", "b", ""},
		{"no labels", unlabel("/app/p", 1), "ValidationException", "", "", "b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.UnlabelParameterVersion(ctx, tc.in)
			if tc.code != "" {
				wantCode(t, err, tc.code)
			} else if err != nil {
				t.Fatal(err)
			} else if strings.Join(out.RemovedLabels, ",") != tc.removed || strings.Join(out.InvalidLabels, ",") != tc.invalid {
				t.Errorf("removed %v, invalid %v", out.RemovedLabels, out.InvalidLabels)
			}
			got := s.ParameterLabels(accountA, region, "/app/p")
			if l1, l2 := strings.Join(got[1], ","), strings.Join(got[2], ","); l1 != tc.left1 || l2 != tc.left2 {
				t.Errorf("left %q and %q, want %q and %q", l1, l2, tc.left1, tc.left2)
			}
		})
	}
}

// GetParameter and GetParameters read "NAME:LABEL" and "NAME:VERSION".
func TestParameterSelectors(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	for i := 1; i <= 3; i++ {
		must(c.PutParameter(ctx, put("/app/p", fmt.Sprint(i), overwrite)))(t)
	}
	must(c.LabelParameterVersion(ctx, label("/app/p", 2, "prod")))(t)
	for _, tc := range []struct {
		ref, code, value, selector string
		version                    int64
	}{
		{"/app/p", "", "3", "", 3},
		{"/app/p:prod", "", "2", ":prod", 2},
		{"/app/p:1", "", "1", ":1", 1},
		{"/app/p:Prod", "ParameterNotFound", "", "", 0}, // labels are case sensitive
		{"/app/p:staging", "ParameterNotFound", "", "", 0},
		{"/app/p:4", "ParameterVersionNotFound", "", "", 0},
		{"/app/q:prod", "ParameterNotFound", "", "", 0},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(tc.ref)})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			p := out.Parameter
			if aws.ToString(p.Name) != "/app/p" || aws.ToString(p.Value) != tc.value || p.Version != tc.version || aws.ToString(p.Selector) != tc.selector {
				t.Errorf("%+v", p)
			}
		})
	}
	out := must(c.GetParameters(ctx, &ssm.GetParametersInput{Names: []string{"/app/p:prod", "/app/p:staging", "/app/p:1", "/app/p:7"}}))(t)
	var got []string
	for _, p := range out.Parameters {
		got = append(got, aws.ToString(p.Value)+aws.ToString(p.Selector))
	}
	if strings.Join(got, ",") != "2:prod,1:1" || strings.Join(out.InvalidParameters, ",") != "/app/p:staging,/app/p:7" {
		t.Fatalf("GetParameters: %v, invalid %v", got, out.InvalidParameters)
	}
	// Moving the label moves what the selector reads.
	must(c.LabelParameterVersion(ctx, label("/app/p", 3, "prod")))(t)
	if p := must(c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/p:prod")}))(t).Parameter; aws.ToString(p.Value) != "3" {
		t.Fatalf("after the move: %+v", p)
	}
}

// GetParameterHistory lists every kept version, oldest first, with labels,
// in pages of 1 to 50.
func TestGetParameterHistory(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	s := NewTestServer(t, Options{Clock: func() time.Time { return start }, SSMValidationDelay: time.Minute})
	c := s.SSM(accountA, region)
	for i := 1; i <= 5; i++ {
		in := put("/app/h", fmt.Sprint(i), overwrite)
		in.Description = aws.String(fmt.Sprint("d", i))
		must(c.PutParameter(ctx, in))(t)
		s.Advance(time.Second)
	}
	must(c.LabelParameterVersion(ctx, label("/app/h", 2, "prod", "blue")))(t)
	var got []string
	pages := 0
	for p := ssm.NewGetParameterHistoryPaginator(c, &ssm.GetParameterHistoryInput{Name: aws.String("/app/h"), MaxResults: aws.Int32(2)}); p.HasMorePages(); pages++ {
		for _, h := range must(p.NextPage(ctx))(t).Parameters {
			got = append(got, fmt.Sprintf("%d=%s/%s/%s", h.Version, aws.ToString(h.Value), aws.ToString(h.Description), strings.Join(h.Labels, "+")))
			if aws.ToString(h.Name) != "/app/h" || h.Type != ssmtypes.ParameterTypeString || aws.ToString(h.DataType) != "text" ||
				h.Tier != ssmtypes.ParameterTierStandard || !h.LastModifiedDate.Equal(start.Add(time.Duration(h.Version-1)*time.Second)) {
				t.Errorf("%+v", h)
			}
		}
	}
	if want := "1=1/d1/,2=2/d2/prod+blue,3=3/d3/,4=4/d4/,5=5/d5/"; pages != 3 || strings.Join(got, ",") != want {
		t.Fatalf("%d pages: %v, want %s", pages, got, want)
	}
	all := must(c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/app/h")}))(t)
	if len(all.Parameters) != 5 || all.NextToken != nil {
		t.Fatalf("default page: %d, token %v", len(all.Parameters), all.NextToken)
	}
	// A version waiting for validation is not history yet.
	must(c.PutParameter(ctx, put("/app/img", SeedImageID(region, SeedUbuntu), imageData)))(t)
	s.Advance(time.Minute)
	must(c.PutParameter(ctx, put("/app/img", SeedImageID(region, SeedDebian), imageData, overwrite)))(t)
	img := must(c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/app/img")}))(t)
	if len(img.Parameters) != 1 || img.Parameters[0].Version != 1 {
		t.Fatalf("pending version listed: %+v", img.Parameters)
	}
	_, err := c.LabelParameterVersion(ctx, label("/app/img", 2, "x"))
	wantCode(t, err, "ParameterVersionNotFound")
	for _, tc := range []struct {
		name string
		in   ssm.GetParameterHistoryInput
		code string
	}{
		{"MaxResults 51", ssm.GetParameterHistoryInput{Name: aws.String("/app/h"), MaxResults: aws.Int32(51)}, "ValidationException"},
		{"MaxResults 0", ssm.GetParameterHistoryInput{Name: aws.String("/app/h"), MaxResults: aws.Int32(0)}, "ValidationException"},
		{"bad token", ssm.GetParameterHistoryInput{Name: aws.String("/app/h"), NextToken: aws.String("!!")}, "InvalidNextToken"},
		{"missing", ssm.GetParameterHistoryInput{Name: aws.String("/app/none")}, "ParameterNotFound"},
		{"other account's", ssm.GetParameterHistoryInput{Name: aws.String("/app/h")}, "ParameterNotFound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := c
			if tc.name == "other account's" {
				cl = s.SSM(accountB, region)
			}
			_, err := cl.GetParameterHistory(ctx, &tc.in)
			wantCode(t, err, tc.code)
		})
	}
}

// AWS keeps 100 versions: the 101st write drops the oldest, unless the
// oldest has a label, when PutParameter fails with
// ParameterMaxVersionLimitExceeded and nothing changes.
func TestParameterVersionLimitWithLabels(t *testing.T) {
	ctx := context.Background()
	s := NewTestServer(t)
	c := s.SSM(accountA, region)
	for i := 1; i <= 100; i++ {
		must(c.PutParameter(ctx, put("/app/v", fmt.Sprint(i), overwrite)))(t)
	}
	must(c.LabelParameterVersion(ctx, label("/app/v", 1, "first")))(t)
	_, err := c.PutParameter(ctx, put("/app/v", "101", overwrite))
	wantCode(t, err, "ParameterMaxVersionLimitExceeded")
	if p := must(c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/v")}))(t).Parameter; p.Version != 100 {
		t.Fatalf("after the refused write: version %d", p.Version)
	}
	// Moving the label off the oldest version lets the write drop it.
	must(c.LabelParameterVersion(ctx, label("/app/v", 2, "first")))(t)
	if out := must(c.PutParameter(ctx, put("/app/v", "101", overwrite)))(t); out.Version != 101 {
		t.Fatalf("version %d, want 101", out.Version)
	}
	_, err = c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String("/app/v:1")})
	wantCode(t, err, "ParameterVersionNotFound")
	h := must(c.GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String("/app/v")}))(t)
	if len(h.Parameters) != 50 || h.Parameters[0].Version != 2 || strings.Join(h.Parameters[0].Labels, ",") != "first" {
		t.Fatalf("history starts %+v", h.Parameters[0])
	}
	// Pages of 7 lead through versions 2 to 101 in order, each once.
	var versions []int64
	for p, pages := ssm.NewGetParameterHistoryPaginator(c, &ssm.GetParameterHistoryInput{Name: aws.String("/app/v"), MaxResults: aws.Int32(7)}), 0; p.HasMorePages() && pages < 20; pages++ {
		for _, h := range must(p.NextPage(ctx))(t).Parameters {
			versions = append(versions, h.Version)
		}
	}
	if len(versions) != 100 || versions[0] != 2 || !slices.IsSorted(versions) || slices.Compact(slices.Clone(versions))[99] != 101 {
		t.Fatalf("paged history: %v", versions)
	}
	// The label on version 2 (now the oldest) refuses the next write too;
	// removing it lets it through.
	_, err = c.PutParameter(ctx, put("/app/v", "102", overwrite))
	wantCode(t, err, "ParameterMaxVersionLimitExceeded")
	must(c.UnlabelParameterVersion(ctx, &ssm.UnlabelParameterVersionInput{Name: aws.String("/app/v"), ParameterVersion: aws.Int64(2), Labels: []string{"first"}}))(t)
	must(c.PutParameter(ctx, put("/app/v", "102", overwrite)))(t)
}
