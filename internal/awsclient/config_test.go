package awsclient

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// awsEnv are the variables the configuration reads, unset before each case.
var awsEnv = []string{
	"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN", "AWS_ACCOUNT_ID",
	"AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
	"AWS_CA_BUNDLE", "AWS_SDK_UA_APP_ID", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_ROLE_SESSION_NAME",
	"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN",
	"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL_STS",
	"AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL_AUTO_SCALING", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_MAX_ATTEMPTS",
	"AWS_RETRY_MODE", "AWS_DEFAULTS_MODE", "AWS_EC2_METADATA_DISABLED", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
	"AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "AWS_EC2_METADATA_V1_DISABLED", "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
}

// credsServer answers STS's AssumeRole and AssumeRoleWithWebIdentity, the
// container agent and the instance metadata service with credentials that
// are a hash of the request (the role, the token, the external id, the
// duration, and the access key that signed it), so that two clients get
// the same credentials exactly when they made the same request.
func credsServer(t *testing.T) *httptest.Server {
	sign := regexp.MustCompile(`Credential=([^/]+)/`)
	made := func(parts ...string) (string, string, string) {
		h := sha256.Sum256([]byte(strings.Join(parts, "|")))
		s := hex.EncodeToString(h[:])
		return "ASIA" + strings.ToUpper(s[:16]), "secret-" + s[16:32], "token-" + s[32:48]
	}
	expires := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			fmt.Fprint(w, "imds-token")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "instance-role")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/instance-role",
			strings.HasPrefix(r.URL.Path, "/container"):
			id, secret, token := made(r.URL.Path, r.Header.Get("Authorization"))
			json.NewEncoder(w).Encode(map[string]string{"Code": "Success", "AccessKeyId": id, "SecretAccessKey": secret, "Token": token, "Expiration": expires})
		case r.Method == http.MethodPost:
			r.ParseForm()
			signer := ""
			if m := sign.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
				signer = m[1]
			}
			action := r.Form.Get("Action")
			id, secret, token := made(action, r.Form.Get("RoleArn"), r.Form.Get("WebIdentityToken"), r.Form.Get("ExternalId"),
				r.Form.Get("DurationSeconds"), signer)
			fmt.Fprintf(w, `<%sResponse><%sResult><Credentials><AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>`+
				`<SessionToken>%s</SessionToken><Expiration>%s</Expiration></Credentials>`+
				`<AssumedRoleUser><Arn>arn:aws:sts::%s:assumed-role/r/s</Arn></AssumedRoleUser></%sResult></%sResponse>`,
				action, action, id, secret, token, expires, strings.Split(r.Form.Get("RoleArn")+"::::", ":")[4], action, action)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// The configuration that loadConfig builds is the SDK's
// (config.LoadDefaultConfig): the same credentials, region, endpoints and
// settings, or an error where the SDK fails, for each of the credential
// sources and their orders of precedence.
func TestLoadConfigAgreesWithSDK(t *testing.T) {
	srv := credsServer(t)
	script := filepath.Join(t.TempDir(), "creds.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"s-'$1'\"}'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ENDPOINT_URL_STS": srv.URL, "AWS_EC2_METADATA_SERVICE_ENDPOINT": srv.URL}
	cases := []struct {
		name              string
		env               map[string]string
		config, creds     string
		wantErr, wantCred bool
	}{
		{name: "env keys", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"}, wantCred: true},
		{name: "old env key names", env: map[string]string{"AWS_ACCESS_KEY": "AKIDOLD", "AWS_SECRET_KEY": "s"}, wantCred: true},
		{name: "half the env keys: instance role", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV"}, wantCred: true},
		{name: "env keys over the profile", env: map[string]string{"AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s", "AWS_PROFILE": "p"},
			config: "[profile p]\naws_access_key_id = AKIDP\naws_secret_access_key = s\n", wantCred: true},
		{name: "env web identity", env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "TOKENFILE", "AWS_ROLE_ARN": "arn:aws:iam::111111111111:role/ci"}, wantCred: true},
		{name: "env web identity without a role", env: map[string]string{"AWS_WEB_IDENTITY_TOKEN_FILE": "TOKENFILE"}, wantErr: true},
		{name: "default profile, credentials file", creds: "[default]\naws_access_key_id = AKIDC\naws_secret_access_key = s\n", wantCred: true},
		{name: "credentials file over config file", env: map[string]string{"AWS_PROFILE": "p"},
			config: "[profile p]\naws_access_key_id = AKIDCONF\naws_secret_access_key = s\nregion = us-west-2\n",
			creds:  "[p]\naws_access_key_id = AKIDCREDS\naws_secret_access_key = s2\nregion = ap-south-1\n", wantCred: true},
		{name: "AWS_DEFAULT_PROFILE", env: map[string]string{"AWS_DEFAULT_PROFILE": "q", "AWS_REGION": ""},
			config: "[profile q]\nregion = ca-central-1 # comment\naws_access_key_id = 'AKIDQ'\naws_secret_access_key=\"s\"\n", wantCred: true},
		{name: "[profile default] over [default]", config: "[default]\nregion = us-east-2\n[profile default]\nregion = sa-east-1\n", env: map[string]string{"AWS_REGION": ""}, wantCred: true},
		{name: "a config profile without the prefix is ignored", env: map[string]string{"AWS_PROFILE": "p"},
			config: "[p]\naws_access_key_id = AKIDP\naws_secret_access_key = s\n", wantErr: true},
		{name: "a missing profile named", env: map[string]string{"AWS_PROFILE": "nope"}, wantErr: true},
		{name: "no default profile: instance role", config: "[profile other]\nregion = us-east-1\n", wantCred: true},
		{name: "instance metadata off", env: map[string]string{"AWS_EC2_METADATA_DISABLED": "true"}},
		{name: "partial credentials", creds: "[default]\naws_access_key_id = AKIDC\n", wantErr: true},
		{name: "role from a source profile", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::222222222222:role/build\nsource_profile = src\nexternal_id = ext\nduration_seconds = 1800\n",
			creds:  "[src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = s\n", wantCred: true},
		{name: "chained roles", env: map[string]string{"AWS_PROFILE": "a"},
			config: "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n[profile b]\nrole_arn = arn:aws:iam::2:role/b\nsource_profile = c\n[profile c]\naws_access_key_id = AKIDC\naws_secret_access_key = s\n", wantCred: true},
		{name: "a source profile that is itself", env: map[string]string{"AWS_PROFILE": "self"},
			config: "[profile self]\nrole_arn = arn:aws:iam::3:role/self\nsource_profile = self\naws_access_key_id = AKIDSELF\naws_secret_access_key = s\n", wantCred: true},
		{name: "a source profile that is missing", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\nsource_profile = gone\n", wantErr: true},
		{name: "a source profile without credentials", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\nsource_profile = empty\n[profile empty]\nregion = us-east-1\n", wantErr: true},
		{name: "source_profile without role_arn", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nsource_profile = src\n[profile src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = s\n", wantErr: true},
		{name: "two credential types", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\ncredential_source = Environment\ncredential_process = true\n", wantErr: true},
		{name: "mfa", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\nsource_profile = src\nmfa_serial = arn:aws:iam::2:mfa/me\n[profile src]\naws_access_key_id = AKIDSRC\naws_secret_access_key = s\n", wantErr: true},
		{name: "credential_source Environment", env: map[string]string{"AWS_PROFILE": "r", "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "s"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\ncredential_source = Environment\n", wantCred: true},
		{name: "credential_source Ec2InstanceMetadata", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\ncredential_source = Ec2InstanceMetadata\n", wantCred: true},
		{name: "credential_source EcsContainer", env: map[string]string{"AWS_PROFILE": "r", "AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/container/x"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\ncredential_source = EcsContainer\n", wantCred: true},
		{name: "credential_source unknown", env: map[string]string{"AWS_PROFILE": "r"},
			config: "[profile r]\nrole_arn = arn:aws:iam::2:role/build\ncredential_source = Elsewhere\n", wantErr: true},
		{name: "profile web identity", env: map[string]string{"AWS_PROFILE": "w"},
			config: "[profile w]\nrole_arn = arn:aws:iam::4:role/oidc\nweb_identity_token_file = TOKENFILE\nrole_session_name = s1\n", wantCred: true},
		{name: "credential_process", env: map[string]string{"AWS_PROFILE": "cp"},
			config: "[profile cp]\ncredential_process = " + script + " arg\n", wantCred: true},
		{name: "container, full URI with a token", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/container/full", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "tok"}, wantCred: true},
		{name: "container, token file", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": srv.URL + "/container/full", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "TOKENFILE"}, wantCred: true},
		{name: "container, a host that is not allowed", env: map[string]string{"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.1/creds"}, wantErr: true},
		{name: "endpoints from the environment", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://global", "AWS_ENDPOINT_URL_EC2": "http://ec2", "AWS_ENDPOINT_URL_AUTO_SCALING": "http://as", "AWS_ENDPOINT_URL_STS": ""}, wantCred: true},
		{name: "endpoints from the profile", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL_STS": "", "AWS_ENDPOINT_URL_SSM": "http://ssm-env"},
			config: "[default]\nendpoint_url = http://profile\nservices = local\n[services local]\nec2 =\n  endpoint_url = http://ec2-profile\nauto_scaling =\n  endpoint_url = http://as-profile\nssm =\n  endpoint_url = http://ssm-profile\n", wantCred: true},
		{name: "AWS_ENDPOINT_URL over the profile's services section", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_ENDPOINT_URL": "http://global"},
			config: "[default]\nservices = local\n[services local]\nssm =\n  endpoint_url = http://ssm-profile\nauto_scaling =\n  endpoint_url = http://as-profile\n", wantCred: true},
		{name: "configured endpoints ignored", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL": "http://global"},
			config: "[default]\nservices = local\n[services local]\nec2 =\n  endpoint_url = http://ec2-profile\n", wantCred: true},
		{name: "a bad boolean", env: map[string]string{"AWS_USE_FIPS_ENDPOINT": "yes"}, wantErr: true},
		{name: "FIPS, dual-stack, attempts and app id", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_USE_FIPS_ENDPOINT": "true", "AWS_MAX_ATTEMPTS": "4"},
			config: "[default]\nuse_dualstack_endpoint = true\nsdk_ua_app_id = app1\nmax_attempts = 7\n", wantCred: true},
		{name: "attempts from the profile", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s"}, config: "[default]\nmax_attempts = 7\n", wantCred: true},
		{name: "CA bundle", env: map[string]string{"AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "s", "AWS_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}, wantCred: true},
		{name: "a CA bundle that is missing", env: map[string]string{"AWS_CA_BUNDLE": "/nonexistent/ca.pem"}, wantErr: true},
	}
	retryer := func() aws.Retryer { return retry.NewStandard() }
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			token := filepath.Join(dir, "token")
			os.WriteFile(token, []byte("oidc-token"), 0o600)
			for _, k := range awsEnv {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			// The SDK reads ~/.aws as it was at package init: name the files.
			os.MkdirAll(filepath.Join(dir, ".aws"), 0o755)
			os.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, ".aws", "config"))
			os.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, ".aws", "credentials"))
			if tc.config != "" {
				os.WriteFile(filepath.Join(dir, ".aws", "config"), []byte(strings.ReplaceAll(tc.config, "TOKENFILE", token)), 0o600)
			}
			if tc.creds != "" {
				os.WriteFile(filepath.Join(dir, ".aws", "credentials"), []byte(tc.creds), 0o600)
			}
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.env {
				env[k] = strings.ReplaceAll(v, "TOKENFILE", token)
			}
			for k, v := range env {
				if v != "" {
					os.Setenv(k, v)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			want, wantErr := config.LoadDefaultConfig(ctx, config.WithRetryer(retryer))
			got, gotErr := loadConfig(retryer)
			if (gotErr != nil) != (wantErr != nil) || (gotErr != nil) != tc.wantErr {
				t.Fatalf("loadConfig: %v; the SDK: %v; want an error: %v", gotErr, wantErr, tc.wantErr)
			}
			if gotErr != nil {
				return
			}
			if g, w := describeConfig(ctx, got), describeConfig(ctx, want); g != w {
				t.Errorf("loadConfig gives\n%s\nthe SDK\n%s", g, w)
			}
			// The endpoints of ami-bakery's own STS, SSM and Auto
			// Scaling clients (package awsapi) are the SDK's clients'.
			region := cmp.Or(want.Region, "us-east-1")
			got.Region, want.Region = region, region
			for _, svc := range []string{"SSM", "Auto Scaling", "STS"} {
				g, gErr := ownEndpoint(got, svc)
				w, wErr := sdkEndpoint(ctx, want, svc)
				if g != w || (gErr != nil) != (wErr != nil) {
					t.Errorf("%s endpoint in %s: ours %q (%v), the SDK's %q (%v)", svc, region, g, gErr, w, wErr)
				}
			}
			g, gErr := got.Credentials.Retrieve(ctx)
			w, wErr := want.Credentials.Retrieve(ctx)
			if (gErr != nil) != (wErr != nil) || (gErr != nil) == tc.wantCred {
				t.Fatalf("credentials: %v; the SDK's: %v; want credentials: %v", gErr, wErr, tc.wantCred)
			}
			if g.AccessKeyID != w.AccessKeyID || g.SecretAccessKey != w.SecretAccessKey || g.SessionToken != w.SessionToken || g.AccountID != w.AccountID {
				t.Errorf("credentials %s/%s/%s/%s, the SDK's %s/%s/%s/%s", g.AccessKeyID, g.SecretAccessKey, g.SessionToken, g.AccountID,
					w.AccessKeyID, w.SecretAccessKey, w.SessionToken, w.AccountID)
			}
		})
	}
}

// ownEndpoint is the endpoint of ami-bakery's own client of service (package
// awsapi) for cfg.
func ownEndpoint(cfg aws.Config, service string) (string, error) {
	name := map[string]string{"SSM": "ssm", "Auto Scaling": "autoscaling", "STS": "sts"}[service]
	return serviceEndpoint(cfg, service, name, cfg.Region)
}

// sdkEndpoint is the endpoint the SDK's client of service (STS, SSM or
// Auto Scaling) calls for cfg: its base endpoint, else its endpoint rules'.
func sdkEndpoint(ctx context.Context, cfg aws.Config, service string) (string, error) {
	var base *string
	var fips, dual bool
	var resolve func() (smithyendpoints.Endpoint, error)
	switch service {
	case "SSM":
		o := ssm.NewFromConfig(cfg).Options()
		base, fips, dual = o.BaseEndpoint, o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled, o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled
		resolve = func() (smithyendpoints.Endpoint, error) {
			return o.EndpointResolverV2.ResolveEndpoint(ctx, ssm.EndpointParameters{Region: aws.String(o.Region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
		}
	case "STS":
		o := sts.NewFromConfig(cfg).Options()
		base, fips, dual = o.BaseEndpoint, o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled, o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled
		resolve = func() (smithyendpoints.Endpoint, error) {
			return o.EndpointResolverV2.ResolveEndpoint(ctx, sts.EndpointParameters{Region: aws.String(o.Region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual), UseGlobalEndpoint: aws.Bool(false)})
		}
	case "Auto Scaling":
		o := autoscaling.NewFromConfig(cfg).Options()
		base, fips, dual = o.BaseEndpoint, o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled, o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled
		resolve = func() (smithyendpoints.Endpoint, error) {
			return o.EndpointResolverV2.ResolveEndpoint(ctx, autoscaling.EndpointParameters{Region: aws.String(o.Region), UseFIPS: aws.Bool(fips), UseDualStack: aws.Bool(dual)})
		}
	}
	if base != nil {
		return *base, nil
	}
	ep, err := resolve()
	if err != nil {
		return "", err
	}
	return ep.URI.String(), nil
}

// The STS, SSM and Auto Scaling endpoints of ami-bakery's own clients,
// derived from EC2's endpoint rules, are the SDK's rules' for them in
// every partition, with FIPS and dual stack on and off.
func TestServiceEndpointAgreesWithSDK(t *testing.T) {
	regions := []string{"us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "ca-west-1", "il-central-1", "mx-central-1",
		"cn-north-1", "cn-northwest-1", "us-gov-west-1", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1",
		"eu-isoe-west-1", "us-isof-south-1", "eusc-de-east-1"}
	ctx := context.Background()
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	compared := 0
	for _, fips := range []string{"false", "true"} {
		for _, dual := range []string{"false", "true"} {
			t.Setenv("AWS_USE_FIPS_ENDPOINT", fips)
			t.Setenv("AWS_USE_DUALSTACK_ENDPOINT", dual)
			cfg, err := loadConfig(func() aws.Retryer { return retry.NewStandard() })
			if err != nil {
				t.Fatal(err)
			}
			for _, region := range regions {
				cfg.Region = region
				for _, svc := range []string{"SSM", "Auto Scaling", "STS"} {
					g, gErr := ownEndpoint(cfg, svc)
					w, wErr := sdkEndpoint(ctx, cfg, svc)
					if g != w || (gErr != nil) != (wErr != nil) {
						t.Errorf("%s in %s, FIPS %s, dual stack %s: ours %q (%v), the SDK's %q (%v)", svc, region, fips, dual, g, gErr, w, wErr)
					}
					if wErr == nil {
						compared++
					}
				}
			}
		}
	}
	if compared < 3*len(regions) {
		t.Errorf("only %d endpoints resolved by the SDK; want at least %d", compared, 3*len(regions))
	}
}

// The same over random region names, well formed or not, of every
// partition's prefixes, with FIPS and dual stack on and off: where the SDK's rules for a service and EC2's rules
// disagree for some name, ami-bakery's endpoint would be wrong there.
func TestServiceEndpointAgreesWithSDKRandomRegions(t *testing.T) {
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	cfg, err := loadConfig(func() aws.Retryer { return retry.NewStandard() })
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(25, 25))
	prefixes := []string{"us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn", "us-gov", "us-iso", "us-isob", "eu-isoe", "us-isof", "eusc-de", "xx", "fips-us", "aws"}
	words := []string{"east", "west", "north", "south", "central", "southeast", "northeast", "global", "fips", ""}
	ctx := context.Background()
	resolved, refused := 0, 0
	for range 500 {
		region := prefixes[rng.IntN(len(prefixes))] + "-" + words[rng.IntN(len(words))] + "-" + strconv.Itoa(rng.IntN(12))
		switch rng.IntN(8) {
		case 0:
			region += "-fips"
		case 1:
			region = strings.ToUpper(region)
		case 2:
			region = region[:rng.IntN(len(region)+1)]
		case 3:
			region = strings.Replace(region, "-", []string{" ", "_", ".", "/"}[rng.IntN(4)], 1)
		}
		cfg.Region = region
		cfg.ConfigSources = []any{endpointFlags{fips: rng.IntN(3) == 0, dual: rng.IntN(3) == 0}}
		for _, svc := range []string{"STS", "SSM", "Auto Scaling"} {
			g, gErr := ownEndpoint(cfg, svc)
			w, wErr := sdkEndpoint(ctx, cfg, svc)
			if g != w || (gErr != nil) != (wErr != nil) {
				t.Errorf("%s in %q: ours %q (%v), the SDK's %q (%v)", svc, region, g, gErr, w, wErr)
			}
			if wErr == nil {
				resolved++
			} else {
				refused++
			}
		}
	}
	// Both kinds are compared: names the rules resolve, and names they refuse.
	if resolved < 500 || refused < 20 {
		t.Errorf("%d names resolved, %d refused: the generator misses a kind", resolved, refused)
	}
}

// endpointFlags is a configuration source of FIPS and dual stack only.
type endpointFlags struct{ fips, dual bool }

func (f endpointFlags) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	if f.fips {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

func (f endpointFlags) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	if f.dual {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}

// describeConfig prints what the clients of a configuration are set to.
func describeConfig(ctx context.Context, cfg aws.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "region %q app %q attempts %d base %q\n", cfg.Region, cfg.AppID, cfg.RetryMaxAttempts, aws.ToString(cfg.BaseEndpoint))
	e := ec2.NewFromConfig(cfg).Options()
	fmt.Fprintf(&b, "ec2 %q fips %v dualstack %v\n", aws.ToString(e.BaseEndpoint), e.EndpointOptions.UseFIPSEndpoint, e.EndpointOptions.UseDualStackEndpoint)
	fmt.Fprintf(&b, "sts %q\n", aws.ToString(sts.NewFromConfig(cfg).Options().BaseEndpoint))
	fmt.Fprintf(&b, "ssm %q\n", aws.ToString(ssm.NewFromConfig(cfg).Options().BaseEndpoint))
	fmt.Fprintf(&b, "autoscaling %q\n", aws.ToString(autoscaling.NewFromConfig(cfg).Options().BaseEndpoint))
	return b.String()
}

// An IAM Identity Center (sso_*) or console login profile is read through
// the AWS CLI (aws configure export-credentials), directly or as the source
// of a role; without the CLI, loading the configuration says so.
func TestLoadConfigSSOThroughCLI(t *testing.T) {
	srv := credsServer(t)
	dir := t.TempDir()
	cli := filepath.Join(dir, "aws")
	// The fake CLI prints credentials named after its arguments.
	os.WriteFile(cli, []byte(`#!/bin/sh
args=$(echo "$*" | tr ' ' '_')
echo '{"Version": 1, "AccessKeyId": "AKID_'$args'", "SecretAccessKey": "s", "SessionToken": "t", "Expiration": "2999-01-01T00:00:00Z"}'
`), 0o755)
	conf := filepath.Join(dir, "config")
	os.WriteFile(conf, []byte(`[profile sso]
sso_session = corp
sso_account_id = 111111111111
sso_role_name = Builder
[sso-session corp]
sso_region = us-east-1
sso_start_url = https://corp.awsapps.com/start
[profile legacy]
sso_start_url = https://corp.awsapps.com/start
sso_region = us-east-1
sso_account_id = 111111111111
sso_role_name = Builder
[profile login]
login_session = arn:aws:iam::111111111111:user/me
[profile build]
role_arn = arn:aws:iam::222222222222:role/build
source_profile = sso
[profile nosession]
sso_session = gone
`), 0o600)
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("AWS_CONFIG_FILE", conf)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ENDPOINT_URL_STS", srv.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	defer func(old string) { awsCLI = old }(awsCLI)
	awsCLI = cli
	retryer := func() aws.Retryer { return retry.NewStandard() }
	for profile, want := range map[string]string{
		"sso":    "AKID_configure_export-credentials_--profile_sso_--format_process",
		"legacy": "AKID_configure_export-credentials_--profile_legacy_--format_process",
		"login":  "AKID_configure_export-credentials_--profile_login_--format_process",
		"build":  "ASIA", // the role, assumed with the sso profile's credentials
	} {
		t.Setenv("AWS_PROFILE", profile)
		cfg, err := loadConfig(retryer)
		if err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
		creds, err := cfg.Credentials.Retrieve(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", profile, err)
		}
		if !strings.HasPrefix(creds.AccessKeyID, want) {
			t.Errorf("%s: credentials %s, want %s", profile, creds.AccessKeyID, want)
		}
	}
	t.Setenv("AWS_PROFILE", "nosession")
	if _, err := loadConfig(retryer); err == nil || !strings.Contains(err.Error(), "SSO session section") {
		t.Errorf("a missing sso-session section: %v", err)
	}
	t.Setenv("AWS_PROFILE", "sso")
	awsCLI = filepath.Join(dir, "no-such-aws")
	if _, err := loadConfig(retryer); err == nil || !strings.Contains(err.Error(), "export-credentials") {
		t.Errorf("without the AWS CLI: %v", err)
	}
}

// Without AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, the files are
// ~/.aws/config and ~/.aws/credentials.
func TestLoadConfigHomeFiles(t *testing.T) {
	home := t.TempDir()
	for _, k := range awsEnv {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	t.Setenv("HOME", home)
	os.MkdirAll(filepath.Join(home, ".aws"), 0o755)
	os.WriteFile(filepath.Join(home, ".aws", "config"), []byte("[default]\nregion = eu-north-1\n"), 0o600)
	os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\naws_access_key_id = AKIDHOME\naws_secret_access_key = s\n"), 0o600)
	cfg, err := loadConfig(func() aws.Retryer { return retry.NewStandard() })
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cfg.Credentials.Retrieve(context.Background())
	if err != nil || creds.AccessKeyID != "AKIDHOME" || cfg.Region != "eu-north-1" {
		t.Errorf("region %q, credentials %s (%v)", cfg.Region, creds.AccessKeyID, err)
	}
}
