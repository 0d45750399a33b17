package awsemu

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	smithy "github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

const (
	region      = "us-east-1"
	otherRegion = "eu-west-1"
	accountA    = "111111111111"
	accountB    = "222222222222"
	accountC    = "333333333333"
)

// serve starts an emulator behind an httptest server.
func serve(t *testing.T, opts Options) (*Emulator, string) {
	t.Helper()
	s := NewTestServer(t, opts)
	return s.Emulator, s.URL
}

// client is the real SDK client for account in region of the emulator at
// url (from serve), as TestServer.EC2 makes it: without retries, so that
// every call reaches the emulator exactly once.
func client(url, account, region string) *ec2.Client {
	return (&TestServer{URL: url, http: HTTPClient()}).EC2(account, region)
}

// apiCode is the EC2 error code of err, or "" if err is not an API error.
func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	var own *apiError
	if errors.As(err, &own) {
		return own.Code
	}
	return ""
}

// httpStatus is the HTTP status of a failed SDK call, or 0.
func httpStatus(err error) int {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got success, want error %s", code)
	}
	if got := apiCode(err); got != code {
		t.Fatalf("got error %v (code %q), want code %s", err, got, code)
	}
}

// must turns a (value, error) result into the value, failing the test on
// error: must(c.DescribeImages(ctx, in))(t).
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func sdkFilter(name string, values ...string) types.Filter {
	return types.Filter{Name: aws.String(name), Values: values}
}

func tagsOf(ts []types.Tag) map[string]string {
	m := map[string]string{}
	for _, t := range ts {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

func imageNames(ims []types.Image) []string {
	var out []string
	for _, im := range ims {
		out = append(out, aws.ToString(im.Name))
	}
	slices.Sort(out)
	return out
}

func tagSpec(rt types.ResourceType, kv ...string) types.TagSpecification {
	ts := types.TagSpecification{ResourceType: rt}
	for i := 0; i+1 < len(kv); i += 2 {
		ts.Tags = append(ts.Tags, types.Tag{Key: aws.String(kv[i]), Value: aws.String(kv[i+1])})
	}
	return ts
}

// rawPost sends a hand-made Query request, for what the SDK will not send.
func rawPost(t *testing.T, url, auth, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
