package awsemu

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/testenv"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func sigv4(akid, region string) string {
	return "AWS4-HMAC-SHA256 Credential=" + akid + "/20260101/" + region + "/ec2/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"
}

func TestProtocolErrors(t *testing.T) {
	_, url := serve(t, Options{})
	const body = "Action=DescribeRegions&Version=2016-11-15"
	tests := []struct {
		name, auth, body string
		status           int
		code             string
	}{
		{"ok", sigv4(AccessKeyFor(accountA), region), body, 200, ""},
		{"no credentials", "", body, 401, "AuthFailure"},
		{"unsigned garbage", "Bearer x", body, 401, "AuthFailure"},
		{"unknown region", sigv4("AKIAEXAMPLE", "mars-north-1"), body, 401, "AuthFailure"},
		{"denied key", sigv4("AKIDDENIED0000000001", region), body, 403, "UnauthorizedOperation"},
		{"no action", sigv4("AKIAEXAMPLE", region), "Version=2016-11-15", 400, "MissingAction"},
		{"unknown action", sigv4("AKIAEXAMPLE", region), "Action=CreateVpc&Version=2016-11-15", 400, "InvalidAction"},
		{"dry run", sigv4("AKIAEXAMPLE", region), body + "&DryRun=true", 412, "DryRunOperation"},
		{"missing parameter", sigv4("AKIAEXAMPLE", region), "Action=CreateKeyPair&Version=2016-11-15", 400, "MissingParameter"},
		{"bad boolean", sigv4("AKIAEXAMPLE", region), "Action=DescribeImages&Version=2016-11-15&IncludeDeprecated=x&DryRun=maybe", 400, "InvalidParameterValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawPost(t, url, tt.auth, tt.body)
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			if tt.code == "" {
				var ok struct {
					XMLName   xml.Name
					RequestID string `xml:"requestId"`
				}
				if err := xml.Unmarshal(raw, &ok); err != nil || ok.XMLName.Local != "DescribeRegionsResponse" ||
					ok.XMLName.Space != Namespace || ok.RequestID == "" {
					t.Fatalf("response %s (%v)", raw, err)
				}
				return
			}
			var env struct {
				Errors []struct {
					Code    string `xml:"Code"`
					Message string `xml:"Message"`
				} `xml:"Errors>Error"`
				RequestID string `xml:"RequestID"`
			}
			if err := xml.Unmarshal(raw, &env); err != nil {
				t.Fatalf("error envelope %s: %v", raw, err)
			}
			if len(env.Errors) != 1 || env.Errors[0].Code != tt.code || env.Errors[0].Message == "" || env.RequestID == "" {
				t.Fatalf("error envelope %s, want code %s", raw, tt.code)
			}
		})
	}
}

func TestSDKParsesErrors(t *testing.T) {
	ctx := context.Background()
	_, url := serve(t, Options{})
	denied := ec2.New(ec2.Options{
		Region: region, BaseEndpoint: aws.String(url), Retryer: aws.NopRetryer{}, HTTPClient: HTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDENIED0000000001", "s", ""),
	})
	_, err := denied.DescribeImages(ctx, &ec2.DescribeImagesInput{})
	wantCode(t, err, "UnauthorizedOperation")
	if got := httpStatus(err); got != http.StatusForbidden {
		t.Fatalf("status %d, want 403", got)
	}
	_, err = client(url, accountA, region).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-00000000000000000"}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	if !strings.Contains(err.Error(), "ami-00000000000000000") {
		t.Fatalf("message does not name the id: %v", err)
	}
}

func TestAccounts(t *testing.T) {
	tests := []struct{ key, account string }{
		{AccessKeyFor(accountB), accountB},
		{"AKIAEXAMPLE", DefaultAccount},
		{"AKIA0000" + AmazonAccount, AmazonAccount},
		{"AKIA12345678901", DefaultAccount}, // 11 digits
		{"", DefaultAccount},
	}
	for _, tt := range tests {
		if got := accountForKey(tt.key); got != tt.account {
			t.Errorf("accountForKey(%q) = %q, want %q", tt.key, got, tt.account)
		}
	}
}

func TestCallLogAndReset(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	a := client(url, accountA, region)
	must(a.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}))(t)
	_, err := a.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")})
	wantCode(t, err, "InvalidKeyPair.Duplicate")
	must(client(url, accountB, otherRegion).DescribeImages(ctx, &ec2.DescribeImagesInput{}))(t)

	calls := emu.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls: %+v", len(calls), calls)
	}
	if c := calls[1]; c.Account != accountA || c.Region != region || c.Action != "CreateKeyPair" ||
		c.ErrorCode != "InvalidKeyPair.Duplicate" || c.Time.IsZero() || c.RequestID == "" {
		t.Fatalf("call %+v", c)
	}
	if calls[0].ErrorCode != "" || calls[2].Account != accountB || calls[2].Region != otherRegion {
		t.Fatalf("calls %+v", calls)
	}
	if n := emu.CallCount("CreateKeyPair"); n != 2 {
		t.Fatalf("CallCount(CreateKeyPair) = %d", n)
	}
	if n := emu.CallCount("DescribeImages", region); n != 0 {
		t.Fatalf("CallCount(DescribeImages, %s) = %d", region, n)
	}
	if n := emu.CallCount("DescribeImages", otherRegion); n != 1 {
		t.Fatalf("CallCount(DescribeImages, %s) = %d", otherRegion, n)
	}

	must(emu.PutImage(accountA, region, ImageSpec{Name: "gone-after-reset"}))(t)
	emu.SetFaults(Faults{Rate: 1})
	emu.Reset()
	if len(emu.Calls()) != 0 || len(emu.KeyPairs(accountA, region)) != 0 || len(emu.Images(accountA, region)) != 0 {
		t.Fatal("Reset left state behind")
	}
	if len(emu.Images(AmazonAccount, region)) != len(SeedImageNames()) {
		t.Fatal("Reset lost the seeded images")
	}
	must(a.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}))(t) // faults cleared too
}

func TestFaultInjection(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	c := client(url, accountA, region)

	emu.SetFaults(Faults{Rate: 0.3, Codes: []string{"RequestLimitExceeded", "InternalError"}, Seed: 7})
	const n = 300
	failed := map[string]int{}
	for range n {
		_, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{})
		if err == nil {
			continue
		}
		code := apiCode(err)
		failed[code]++
		want := map[string]int{"RequestLimitExceeded": 503, "InternalError": 500}[code]
		if got := httpStatus(err); got != want {
			t.Fatalf("%s answered with status %d, want %d", code, got, want)
		}
	}
	total := failed["RequestLimitExceeded"] + failed["InternalError"]
	if total < n*15/100 || total > n*45/100 || failed["RequestLimitExceeded"] == 0 || failed["InternalError"] == 0 {
		t.Fatalf("rate 0.3 over %d calls gave %v", n, failed)
	}

	// A faulted call changes nothing.
	emu.SetFaults(Faults{Rate: 1, Actions: []string{"CreateKeyPair", "RunInstances"}})
	_, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lock")})
	wantCode(t, err, "RequestLimitExceeded")
	_, err = c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(SeedImageID(region, SeedDebian)), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)})
	wantCode(t, err, "RequestLimitExceeded")
	if len(emu.KeyPairs(accountA, region)) != 0 || len(emu.Instances(accountA, region)) != 0 {
		t.Fatal("a faulted call changed state")
	}
	must(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}))(t) // other actions unaffected

	// A refused action: UnauthorizedOperation, 403, EC2's message, and
	// the key pair stays.
	emu.SetFaults(Faults{})
	kp := must(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("kept")}))(t)
	emu.SetFaults(Faults{Rate: 1, Codes: []string{"UnauthorizedOperation"}, Actions: []string{"DeleteKeyPair"}})
	_, err = c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: kp.KeyPairId})
	wantCode(t, err, "UnauthorizedOperation")
	if got := httpStatus(err); got != 403 || !strings.Contains(err.Error(), "You are not authorized to perform this operation.") {
		t.Fatalf("a refused DeleteKeyPair answered %d: %v", got, err)
	}
	if len(emu.KeyPairs(accountA, region)) != 1 {
		t.Fatal("a refused DeleteKeyPair deleted the key pair")
	}

	// Latency applies to matching calls.
	emu.SetFaults(Faults{Latency: 80 * time.Millisecond, Actions: []string{"DescribeImages"}})
	start := time.Now()
	must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}}))(t)
	if d := time.Since(start); d < 80*time.Millisecond {
		t.Fatalf("DescribeImages took %s with 80ms latency", d)
	}

	// The SDK's default retryer recovers from a throttle.
	// With seed 8 the first two draws fail and the third succeeds.
	emu.SetFaults(Faults{Rate: 0.5, Seed: 8, Actions: []string{"DescribeImages"}})
	retrying := ec2.New(ec2.Options{Region: region, BaseEndpoint: aws.String(url), HTTPClient: HTTPClient(),
		Credentials: credentials.NewStaticCredentialsProvider(AccessKeyFor(accountA), "s", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.Backoff = retry.NewExponentialJitterBackoff(10 * time.Millisecond)
		}),
	})
	before := len(emu.Calls())
	must(retrying.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"amazon"}}))(t)
	if calls := emu.Calls()[before:]; len(calls) != 3 || calls[0].ErrorCode != "RequestLimitExceeded" {
		t.Fatalf("expected a throttled call then a retry, got %+v", calls)
	}
	emu.SetFaults(Faults{})
}

func TestFaultSeedIsReproducible(t *testing.T) {
	pattern := func() []bool {
		emu, url := serve(t, Options{})
		emu.SetFaults(Faults{Rate: 0.5, Seed: 42})
		c := client(url, accountA, region)
		var out []bool
		for range 20 {
			_, err := c.DescribeRegions(context.Background(), &ec2.DescribeRegionsInput{})
			out = append(out, err != nil)
		}
		return out
	}
	if a, b := pattern(), pattern(); !slices.Equal(a, b) {
		t.Fatalf("same seed, different faults:\n%v\n%v", a, b)
	}
}

// TestAWSCLI checks that the aws CLI (botocore's own parser) reads the
// emulator's answers. Debian's /usr/bin/aws is used because a pyenv shim may
// shadow it on PATH.
func TestAWSCLI(t *testing.T) {
	emu, url := serve(t, Options{})
	must(emu.PutImage(accountA, region, ImageSpec{Name: "cli-image", Tags: map[string]string{"Fingerprint": "cli"}}))(t)
	run := func(args ...string) []byte {
		t.Helper()
		return runAWSCLI(t, url, append([]string{"ec2"}, args...)...)
	}
	var images struct {
		Images []struct {
			ImageID string `json:"ImageId"`
			Name    string
			Tags    []types.Tag
		}
	}
	if err := json.Unmarshal(run("describe-images", "--owners", "self", "--filters", "Name=tag:Fingerprint,Values=cli"), &images); err != nil {
		t.Fatal(err)
	}
	if len(images.Images) != 1 || images.Images[0].Name != "cli-image" {
		t.Fatalf("describe-images: %+v", images)
	}
	run("create-key-pair", "--key-name", "cli-key", "--tag-specifications", "ResourceType=key-pair,Tags=[{Key=Lock,Value=1}]")
	if k := emu.KeyPairs(accountA, region); len(k) != 1 || k[0].Tags["Lock"] != "1" {
		t.Fatalf("key pairs after the CLI: %+v", k)
	}
}

// runAWSCLI runs the aws CLI as accountA in region against the emulator at
// url and returns its JSON output, skipping the test when it is missing.
func runAWSCLI(t *testing.T, url string, args ...string) []byte {
	t.Helper()
	cli := "/usr/bin/aws"
	if _, err := os.Stat(cli); err != nil {
		testenv.Missing(t, "the AWS CLI is not at %s (scripts/ensure-deps.sh installs Debian's awscli)", cli)
	}
	cmd := exec.Command(cli, append([]string{"--endpoint-url", url, "--output", "json"}, args...)...)
	cmd.Env = []string{
		"HOME=" + t.TempDir(), "PATH=/usr/bin:/bin", "AWS_ACCESS_KEY_ID=" + AccessKeyFor(accountA),
		"AWS_SECRET_ACCESS_KEY=s", "AWS_DEFAULT_REGION=" + region, "AWS_EC2_METADATA_DISABLED=true",
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("aws %v: %v\n%s", args, err, stderr)
	}
	return out
}
