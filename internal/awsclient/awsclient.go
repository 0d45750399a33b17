// Package awsclient builds AWS clients from the standard AWS configuration
// (environment, shared config and credential files, roles, web identity,
// container and instance roles; SSO and console login through the AWS CLI),
// read as the SDK's default chain reads it (loadConfig), and explains the
// errors a user can fix.
//
// One Factory loads the configuration once and hands out clients per service
// and region, made only when a command needs them and cached: EC2, STS, SSM
// and Auto Scaling. EC2 is the SDK's client; STS, SSM and Auto Scaling are
// package awsapi's, which send the same requests without linking the SDK's
// service packages, whose initialisation every start would pay. All clients
// share one configuration, one assumed role (Options.RoleARN) and one
// retryer policy: throttling and 5xx answers are retried with exponential
// backoff and jitter by the SDK's standard retryer; permanent errors (access
// denied, bad credentials) are not.
//
// The Factory hands out concrete clients; each consumer declares its own
// narrow interface with the SDK's method signatures (see internal/images and
// internal/buildlock), which the real clients, the SDK paginators and test
// doubles all satisfy. awsapi's clients keep the SDK's names and shapes, so
// an interface of theirs reads as the SDK's would.
package awsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/smithy-go"

	"github.com/ami-bakery/ami-bakery/internal/awsapi"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/autoscaling"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/sts"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Options tune the clients.
type Options struct {
	// Endpoint overrides the EC2 endpoint (AWS_ENDPOINT_URL_EC2 and
	// AWS_ENDPOINT_URL are honoured by the SDK already).
	Endpoint string
	// MaxAttempts per call, retries included; 0 means 10.
	MaxAttempts int
	// MaxBackoff between attempts; 0 means 20s.
	MaxBackoff time.Duration
	// RoleARN, when set, is assumed (through STS, with the default
	// credentials) for every call, and its credentials are given to packer,
	// so that lookups, builds, copies and tags all happen in the account
	// that owns the AMIs.
	RoleARN string
	// RoleDuration is how long the assumed role's credentials last; 0
	// means one hour. A build that outlasts it fails in packer.
	RoleDuration time.Duration
	// AttemptTimeout bounds each attempt of a call, from sending the
	// request to reading the whole answer; a timed-out attempt is retried.
	// 0 means DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// Log, when set, receives a warning for a call still retrying, or an
	// attempt still unanswered, ReportAfter after it started.
	Log *slog.Logger
	// ReportAfter is how long a call may take before it is reported; 0
	// means DefaultReportAfter.
	ReportAfter time.Duration
}

// Defaults of Options. A call against an endpoint that never answers fails
// after at most MaxAttempts × AttemptTimeout plus the backoffs between
// them: 10 × 20s + 9 × 20s, under six and a half minutes.
const (
	DefaultAttemptTimeout = 20 * time.Second
	DefaultReportAfter    = 5 * time.Second
)

// Factory hands out one client per service and region.
type Factory struct {
	cfg     aws.Config
	opts    Options
	mu      sync.Mutex
	clients map[clientKey]any
}

// clientKey names a cached client.
type clientKey struct{ service, region string }

// New loads the AWS configuration (loadConfig: the SDK's default chain).
func New(ctx context.Context, o Options) (*Factory, error) {
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 10
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 20 * time.Second
	}
	if o.AttemptTimeout == 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	if o.ReportAfter == 0 {
		o.ReportAfter = DefaultReportAfter
	}
	cfg, err := loadConfig(func() aws.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = o.MaxAttempts
			so.MaxBackoff = o.MaxBackoff
			// Throttling is expected under CI fan-out; do not let the
			// client-side token bucket turn it into hard failures.
			so.RateLimiter = ratelimit.None
		})
	})
	if err != nil {
		return nil, usererr.WithHint(fmt.Errorf("loading the AWS configuration: %w", err),
			"check AWS_PROFILE and ~/.aws/config")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = awshttp.NewBuildableClient()
	}
	// The timeout is the http.Client's, per attempt: it fails as a network
	// timeout, which the retryer retries (a context deadline would not be).
	if bc, ok := cfg.HTTPClient.(*awshttp.BuildableClient); ok {
		cfg.HTTPClient = bc.WithTimeout(o.AttemptTimeout)
	}
	cfg.HTTPClient = HideWriterTo(cfg.HTTPClient)
	if o.Log != nil {
		rep := reporter{log: o.Log, after: o.ReportAfter, maxAttempts: o.MaxAttempts}
		cfg.APIOptions = append(cfg.APIOptions, rep.addTo)
	}
	role := o.RoleARN
	o.RoleARN = ""
	f := &Factory{cfg: cfg, opts: o, clients: map[clientKey]any{}}
	return f.withRole(role), nil
}

// PackerEnv returns the environment for packer: env as it is, or, when a
// role is assumed, env with the role's credentials in place of any other.
func (f *Factory) PackerEnv(ctx context.Context, env []string) ([]string, error) {
	if f.opts.RoleARN == "" {
		return env, nil
	}
	creds, err := f.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, f.roleError(err)
	}
	out := make([]string, 0, len(env)+3)
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE":
			continue
		}
		out = append(out, kv)
	}
	return append(out,
		"AWS_ACCESS_KEY_ID="+creds.AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+creds.SecretAccessKey,
		"AWS_SESSION_TOKEN="+creds.SessionToken), nil
}

func (f *Factory) roleError(err error) error {
	return usererr.WithHint(fmt.Errorf("assuming role %s: %w", f.opts.RoleARN, err),
		"check the role ARN, that its trust policy allows these credentials, and that they may call sts:AssumeRole")
}

// EC2 returns the EC2 client for a region.
func (f *Factory) EC2(region string) *ec2.Client {
	return cached(f, "ec2", region, func() *ec2.Client {
		return ec2.NewFromConfig(f.cfg, func(o *ec2.Options) {
			o.Region = region
			if f.opts.Endpoint != "" {
				o.BaseEndpoint = aws.String(f.opts.Endpoint)
			}
		})
	})
}

// STS returns the STS client for a region (package awsapi/sts). Its
// endpoint comes from the configuration (AWS_ENDPOINT_URL_STS,
// AWS_ENDPOINT_URL), as for the role assumption, else it is EC2's in the
// region with sts in place of ec2.
func (f *Factory) STS(region string) *sts.Client {
	return cached(f, "sts", region, func() *sts.Client {
		return sts.New(f.api("STS", "sts", region))
	})
}

// SSM returns the SSM client for a region (package awsapi/ssm: the SDK's
// SSM package is not linked, see package awsapi). Its endpoint comes from
// the configuration (AWS_ENDPOINT_URL_SSM, AWS_ENDPOINT_URL), as for the
// SDK's clients, else it is EC2's in the region with ssm in place of ec2.
func (f *Factory) SSM(region string) *ssm.Client {
	return cached(f, "ssm", region, func() *ssm.Client {
		return ssm.New(f.api("SSM", "ssm", region))
	})
}

// AutoScaling returns the Auto Scaling client for a region (package
// awsapi/autoscaling). Its endpoint comes from the configuration
// (AWS_ENDPOINT_URL_AUTO_SCALING, AWS_ENDPOINT_URL), else it is EC2's in
// the region with autoscaling in place of ec2.
func (f *Factory) AutoScaling(region string) *autoscaling.Client {
	return cached(f, "autoscaling", region, func() *autoscaling.Client {
		return autoscaling.New(f.api("Auto Scaling", "autoscaling", region))
	})
}

// api is the caller of the service sdkID (signed as name) in region.
func (f *Factory) api(sdkID, name, region string) *awsapi.Client {
	return newAPI(f.cfg, sdkID, name, region)
}

// cached returns the client of service for region, made by mk on first use.
func cached[C any](f *Factory, service, region string, mk func() C) C {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := clientKey{service, region}
	if c, ok := f.clients[k]; ok {
		return c.(C)
	}
	c := mk()
	f.clients[k] = c
	return c
}

// CheckCredentials fails fast, with a hint, when no credentials can be found.
func (f *Factory) CheckCredentials(ctx context.Context) error {
	if f.cfg.Credentials == nil {
		return noCredentials(errors.New("no credential provider configured"))
	}
	if _, err := f.cfg.Credentials.Retrieve(ctx); err != nil {
		if f.opts.RoleARN != "" {
			return f.roleError(err)
		}
		return noCredentials(err)
	}
	return nil
}

// CallerAccount returns the account id the credentials act as (the
// assumed role's account with Options.RoleARN), from STS
// GetCallerIdentity in region. It is what "self" means when the owner of
// an AMI is checked. GetCallerIdentity needs no IAM permission.
func (f *Factory) CallerAccount(ctx context.Context, region string) (string, error) {
	account, err := f.STS(region).GetCallerIdentity(ctx)
	if err != nil {
		return "", fmt.Errorf("finding the caller's AWS account (sts:GetCallerIdentity): %w", err)
	}
	return account, nil
}

func noCredentials(err error) error {
	return usererr.WithHint(fmt.Errorf("finding AWS credentials: %w", err),
		"set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE, or run where an instance or OIDC role is available")
}

// Explain adds a hint to AWS errors that the user can fix. Other errors are
// returned as they are.
func Explain(err error) error {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return explainTimeout(err)
	}
	switch api.ErrorCode() {
	case "AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch", "UnrecognizedClientException":
		return usererr.WithHint(err, "the AWS credentials were refused; check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and the region")
	case "ExpiredToken", "RequestExpired", "ExpiredTokenException":
		return usererr.WithHint(err, "the AWS session has expired; refresh the credentials")
	case "UnauthorizedOperation", "AccessDenied", "AccessDeniedException":
		return usererr.WithHint(err, "the credentials lack an EC2 permission; docs/accounts.md lists the IAM permissions each command needs")
	case "OptInRequired":
		return usererr.WithHint(err, "the region is not enabled for this account")
	}
	return err
}

// explainTimeout hints at the endpoint when AWS never answered.
func explainTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return usererr.WithHint(err, "AWS did not answer in time, attempt after attempt; check the network, a proxy, and --endpoint or AWS_ENDPOINT_URL_EC2")
	}
	return err
}

// HideWriterTo wraps an HTTP client with one fix for a client-side race
// between net/http and smithy-go. The Factory wraps the SDK's HTTP client
// with it (after the configuration is loaded, so that AWS_CA_BUNDLE still
// applies); the emulator's HTTPClient, for SDK clients in tests, does too.
//
// net/http may send a small request body straight to the socket (bufio
// ReadFrom), get the response, and only then check the body for excess
// bytes; by then smithy-go has closed the body, whose WriteTo answers
// io.EOF, and net/http takes that as a write failure and closes the
// connection under the response being read ("failed to decode response
// body ... use of closed network connection"). Hiding WriteTo makes that
// check a Read, which ends cleanly. The emulator's own tests saw it on
// loopback under the race detector, at times about one call in a hundred;
// real EC2's latency makes it rarer. http.NoBody is left alone: net/http
// recognises it as an empty body only by identity.
func HideWriterTo(next aws.HTTPClient) aws.HTTPClient { return hideWriterTo{next} }

type hideWriterTo struct{ next aws.HTTPClient }

func (h hideWriterTo) Do(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if _, ok := r.Body.(io.WriterTo); ok {
			r2 := r.Clone(r.Context())
			r2.Body = struct{ io.ReadCloser }{r.Body}
			r = r2
		}
	}
	return h.next.Do(r)
}
