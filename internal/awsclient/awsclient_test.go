package awsclient_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"

	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

func setEnv(t *testing.T, url string) {
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": awsemu.AccessKeyFor(awsemu.DefaultAccount), "AWS_SECRET_ACCESS_KEY": "x",
		"AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_ENDPOINT_URL_EC2": url,
		"AWS_ENDPOINT_URL_STS": url, "AWS_ENDPOINT_URL_SSM": url, "AWS_ENDPOINT_URL_AUTO_SCALING": url,
		"AWS_CONFIG_FILE": filepath.Join(dir, "c"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "c"),
	} {
		t.Setenv(k, v)
	}
}

// Many calls in a row against a loopback endpoint, with a custom CA bundle
// configured (as on machines that set AWS_CA_BUNDLE): no call may fail.
func TestManyCallsWithCABundle(t *testing.T) {
	srv := httptest.NewServer(awsemu.New(awsemu.Options{}))
	defer srv.Close()
	setEnv(t, srv.URL)
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		t.Setenv("AWS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
	}
	f, err := awsclient.New(context.Background(), awsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.CheckCredentials(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := f.EC2("us-east-1")
	for i := range 300 {
		if _, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"amazon"}}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
}

func TestRolePackerEnv(t *testing.T) {
	srv := httptest.NewServer(awsemu.New(awsemu.Options{}))
	defer srv.Close()
	setEnv(t, srv.URL)
	f, err := awsclient.New(context.Background(), awsclient.Options{RoleARN: "arn:aws:iam::210987654321:role/builder"})
	if err != nil {
		t.Fatal(err)
	}
	env, err := f.PackerEnv(context.Background(), []string{"PATH=/bin", "AWS_ACCESS_KEY_ID=old", "AWS_PROFILE=p"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(env, " ")
	if !strings.Contains(got, "AWS_ACCESS_KEY_ID="+awsemu.TempAccessKeyFor("210987654321")) || strings.Contains(got, "old") ||
		strings.Contains(got, "AWS_PROFILE") || !strings.Contains(got, "AWS_SESSION_TOKEN=") || !strings.Contains(got, "PATH=/bin") {
		t.Errorf("packer env: %v", env)
	}
	same, _ := (&awsclient.Factory{}).PackerEnv(context.Background(), []string{"A=1"})
	if len(same) != 1 {
		t.Errorf("without a role the env must pass through: %v", same)
	}
}

func TestExplain(t *testing.T) {
	for code, want := range map[string]string{
		"AuthFailure": "credentials were refused", "UnauthorizedOperation": "IAM permissions",
		"ExpiredToken": "expired", "OptInRequired": "not enabled", "InvalidAMIID.NotFound": "",
	} {
		err := awsclient.Explain(&smithy.GenericAPIError{Code: code, Message: "m"})
		hints := usererr.Hints(err)
		if want == "" {
			if len(hints) != 0 {
				t.Errorf("%s: unexpected hint %v", code, hints)
			}
			continue
		}
		if len(hints) != 1 || !strings.Contains(hints[0], want) {
			t.Errorf("%s: hints %v, want one containing %q", code, hints, want)
		}
	}
	plain := errors.New("x")
	if awsclient.Explain(plain) != plain {
		t.Error("a non-AWS error must pass through")
	}
}

// One factory hands out clients of several services; each is made once per
// region.
func TestClientsPerServiceAndRegion(t *testing.T) {
	srv := httptest.NewServer(awsemu.New(awsemu.Options{}))
	defer srv.Close()
	setEnv(t, srv.URL)
	f, err := awsclient.New(context.Background(), awsclient.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if f.EC2("us-east-1") != f.EC2("us-east-1") || f.EC2("us-east-1") == f.EC2("eu-west-1") {
		t.Error("want one EC2 client per region")
	}
	if f.STS("us-east-1") != f.STS("us-east-1") {
		t.Error("want one STS client per region")
	}
	got, err := f.STS("us-east-1").GetCallerIdentity(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got != awsemu.DefaultAccount {
		t.Errorf("account %s, want %s", got, awsemu.DefaultAccount)
	}
	if f.SSM("us-east-1") != f.SSM("us-east-1") || f.SSM("us-east-1") == f.SSM("eu-west-1") {
		t.Error("want one SSM client per region")
	}
	if f.AutoScaling("us-east-1") != f.AutoScaling("us-east-1") || f.AutoScaling("us-east-1") == f.AutoScaling("eu-west-1") {
		t.Error("want one Auto Scaling client per region")
	}
	_, err = f.SSM("us-east-1").GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String("/missing")})
	if !ssm.IsParameterNotFound(err) {
		t.Errorf("SSM through the factory: %v, want ParameterNotFound", err)
	}
}

// The client-side retry quota stays off (ratelimit.None). The SDK's default
// token bucket holds 500 tokens and loses 5 for every retried attempt that
// fails again; at this rate of RequestLimitExceeded it is empty after about
// a hundred calls, and every retry after that fails at once with "retry
// quota exceeded". Without the quota every call succeeds. MaxAttempts is
// raised only so that no call can fail from bad luck alone (0.6^40); the
// quota does not depend on it.
func TestNoClientSideRetryQuota(t *testing.T) {
	emu := awsemu.New(awsemu.Options{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	setEnv(t, srv.URL)
	f, err := awsclient.New(context.Background(), awsclient.Options{MaxAttempts: 40, MaxBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	emu.SetFaults(awsemu.Faults{Rate: 0.6, Seed: 1, Actions: []string{"DescribeKeyPairs"}})
	c := f.EC2("us-east-1")
	for i := range 400 {
		if _, err := c.DescribeKeyPairs(context.Background(), &ec2.DescribeKeyPairsInput{}); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	faulted := 0
	for _, call := range emu.Calls() {
		if call.ErrorCode == "RequestLimitExceeded" {
			faulted++
		}
	}
	if faulted < 400 {
		t.Errorf("only %d calls faulted; the test needs enough to empty the default quota", faulted)
	}
}
