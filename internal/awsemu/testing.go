package awsemu

import (
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	bautoscaling "github.com/ami-bakery/ami-bakery/internal/awsapi/autoscaling"
	bssm "github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
)

// TestServer is an emulator behind an httptest server, with SDK clients
// for it, for the tests of any package. Its Emulator methods (PutImage,
// Calls, SetFaults, ...) are promoted.
type TestServer struct {
	*Emulator
	// URL is the endpoint of every service (the SigV4 scope picks one).
	URL string
	// Server serves it, e.g. to CloseClientConnections.
	Server *httptest.Server

	http aws.HTTPClient
}

// NewTestServer starts an emulator with opts (at most one; none means the
// zero Options) and stops it when the test ends.
func NewTestServer(t testing.TB, opts ...Options) *TestServer {
	t.Helper()
	var o Options
	switch len(opts) {
	case 0:
	case 1:
		o = opts[0]
	default:
		t.Fatalf("awsemu.NewTestServer: %d Options, want at most one", len(opts))
	}
	emu := New(o)
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	return &TestServer{Emulator: emu, URL: srv.URL, Server: srv, http: HTTPClient()}
}

// EC2 returns an EC2 client acting as account (AccessKeyFor) in region.
// It does not retry, so that every call reaches the emulator exactly once
// (call counts and injected faults stay exact); optFns may change that, or
// anything else, as in ec2.NewFromConfig.
func (s *TestServer) EC2(account, region string, optFns ...func(*ec2.Options)) *ec2.Client {
	return ec2.NewFromConfig(s.Config(account, region), optFns...)
}

// STS returns an STS client acting as account in region, like EC2.
func (s *TestServer) STS(account, region string, optFns ...func(*sts.Options)) *sts.Client {
	return sts.NewFromConfig(s.Config(account, region), optFns...)
}

// SSM returns an SSM client acting as account in region, like EC2.
func (s *TestServer) SSM(account, region string, optFns ...func(*ssm.Options)) *ssm.Client {
	return ssm.NewFromConfig(s.Config(account, region), optFns...)
}

// AutoScaling returns an Auto Scaling client acting as account in region,
// like EC2.
func (s *TestServer) AutoScaling(account, region string, optFns ...func(*autoscaling.Options)) *autoscaling.Client {
	return autoscaling.NewFromConfig(s.Config(account, region), optFns...)
}

// BakerySSM returns ami-bakery's own SSM client (package awsapi/ssm, which
// the code under test takes) acting as account in region, like EC2.
func (s *TestServer) BakerySSM(account, region string) *bssm.Client {
	return bssm.NewFromConfig(s.Config(account, region))
}

// BakeryAutoScaling returns ami-bakery's own Auto Scaling client (package
// awsapi/autoscaling) acting as account in region, like EC2.
func (s *TestServer) BakeryAutoScaling(account, region string) *bautoscaling.Client {
	return bautoscaling.NewFromConfig(s.Config(account, region))
}

// Config is the configuration the clients are made from, for a service's
// NewFromConfig: the emulator's endpoint, static credentials for account
// (AccessKeyFor), no retries, and the emulator's HTTPClient.
func (s *TestServer) Config(account, region string) aws.Config {
	return aws.Config{
		Region:       region,
		BaseEndpoint: aws.String(s.URL),
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKeyFor(account), "secret", ""),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
		HTTPClient:   s.http,
	}
}
