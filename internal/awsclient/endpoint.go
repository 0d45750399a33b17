package awsclient

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsapi"
	"github.com/ami-bakery/ami-bakery/internal/awsapi/sts"
)

// newAPI is the caller of the service sdkID (signed as name) in region,
// with cfg's credentials, retryer and API options, at the endpoint
// serviceEndpoint gives (or failing every call with why there is none).
func newAPI(cfg aws.Config, sdkID, name, region string) *awsapi.Client {
	cfg.Region = region
	ep, err := serviceEndpoint(cfg, sdkID, name, region)
	return &awsapi.Client{Config: cfg, ServiceID: sdkID, SigningName: name, Region: region, Endpoint: ep, EndpointErr: err}
}

// roleSTS is the STS client a role credential provider of cfg assumes its
// role through: cfg's credentials, in cfg's region.
func roleSTS(cfg aws.Config) *sts.Client {
	return sts.New(newAPI(cfg, "STS", "sts", cfg.Region))
}

// serviceEndpoint returns the base URL of the service sdkID ("STS", "SSM",
// "Auto Scaling"; name is its endpoint prefix, "ssm") in region, for the
// clients of package awsapi: the configured one, found as the SDK's
// clients find theirs (cfg.BaseEndpoint from AWS_ENDPOINT_URL or the
// profile's endpoint_url, overridden by AWS_ENDPOINT_URL_<SERVICE> or the
// profile's services section unless only AWS_ENDPOINT_URL is set), else
// the one the SDK's EC2 endpoint rules give for the region, FIPS and dual
// stack as configured, with name in place of ec2: every partition names a
// service's endpoints alike (ec2.cn-north-1.amazonaws.com.cn,
// ssm-fips.us-east-1.amazonaws.com), so EC2's rules, which the binary has
// anyway, serve for the others. TestServiceEndpointAgreesWithSDK and
// TestServiceEndpointAgreesWithSDKRandomRegions compare it with the SDK's
// STS, SSM and Auto Scaling rules.
func serviceEndpoint(cfg aws.Config, sdkID, name, region string) (string, error) {
	if u, ok := configuredEndpoint(cfg, sdkID); ok {
		return u, nil
	}
	ctx := context.Background()
	params := ec2.EndpointParameters{Region: aws.String(region), UseFIPS: aws.Bool(false), UseDualStack: aws.Bool(false)}
	for _, s := range cfg.ConfigSources {
		if p, ok := s.(interface {
			GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error)
		}); ok {
			if v, found, err := p.GetUseFIPSEndpoint(ctx); err == nil && found {
				params.UseFIPS = aws.Bool(v == aws.FIPSEndpointStateEnabled)
			}
		}
		if p, ok := s.(interface {
			GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error)
		}); ok {
			if v, found, err := p.GetUseDualStackEndpoint(ctx); err == nil && found {
				params.UseDualStack = aws.Bool(v == aws.DualStackEndpointStateEnabled)
			}
		}
	}
	ep, err := ec2.NewDefaultEndpointResolverV2().ResolveEndpoint(ctx, params)
	if err != nil {
		return "", fmt.Errorf("resolving the %s endpoint in %s: %w", sdkID, region, err)
	}
	u := ep.URI
	label, rest, ok := strings.Cut(u.Host, ".")
	switch {
	case ok && label == "ec2":
		u.Host = name + "." + rest
	case ok && label == "ec2-fips":
		u.Host = name + "-fips." + rest
	default:
		return "", fmt.Errorf("resolving the %s endpoint in %s: EC2's endpoint %s does not start with ec2; set AWS_ENDPOINT_URL_%s",
			sdkID, region, u.Host, strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	}
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(), nil
}

// configuredEndpoint is the endpoint configured for the service sdkID, as
// each SDK client's resolveBaseEndpoint finds it.
func configuredEndpoint(cfg aws.Config, sdkID string) (string, bool) {
	base := cfg.BaseEndpoint
	_, global := os.LookupEnv("AWS_ENDPOINT_URL")
	_, own := os.LookupEnv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	if (!global || own) && !ignoreConfigured(cfg) {
		for _, s := range cfg.ConfigSources {
			p, ok := s.(interface {
				GetServiceBaseEndpoint(context.Context, string) (string, bool, error)
			})
			if !ok {
				continue
			}
			v, found, err := p.GetServiceBaseEndpoint(context.Background(), sdkID)
			if found && err == nil {
				base = aws.String(v)
			}
			if found || err != nil {
				break
			}
		}
	}
	if base == nil {
		return "", false
	}
	return *base, true
}

// ignoreConfigured reports whether the first source that says so says the
// per-service endpoints are ignored (AWS_IGNORE_CONFIGURED_ENDPOINT_URLS,
// ignore_configured_endpoint_urls).
func ignoreConfigured(cfg aws.Config) bool {
	for _, s := range cfg.ConfigSources {
		if p, ok := s.(interface {
			GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error)
		}); ok {
			if v, found, err := p.GetIgnoreConfiguredEndpoints(context.Background()); found || err != nil {
				return found && v
			}
		}
	}
	return false
}
