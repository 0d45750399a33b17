package awsclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/credentials/processcreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/sts"
)

// loadConfig builds the aws.Config that the SDK's config.LoadDefaultConfig
// builds, for every setting ami-bakery's clients use, in the SDK's order of
// precedence (config v1.33: resolve_credentials.go, shared_config.go,
// env_config.go), without linking the config package.
//
// Why not config.LoadDefaultConfig: it links the SSO, SSO OIDC and Sign-In
// clients for its credential providers, and Go initialises every linked
// package at every start, used or not: their endpoint tables and schemas
// were about 7% of a no-op's CPU (BENCHMARKS.md, issue 25).
//
// Credentials, first found wins: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN); AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN
// (GitHub OIDC, EKS IRSA); the profile (AWS_PROFILE, AWS_DEFAULT_PROFILE or
// default) of the shared config and credentials files: its keys, role_arn
// with source_profile or credential_source, web_identity_token_file,
// credential_process, IAM Identity Center (sso_*) and console login
// (login_session); then container credentials (ECS, EKS Pod Identity) and
// the EC2 instance role. An SSO or login profile is read through the AWS CLI
// (`aws configure export-credentials`, which refreshes the session as the
// SDK would): the CLI wrote the token in the first place (`aws sso login`,
// `aws login`).
//
// Also as the SDK: the region (AWS_REGION, AWS_DEFAULT_REGION, the
// profile's), endpoints (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the
// profile's endpoint_url and services section,
// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS), AWS_CA_BUNDLE or ca_bundle, FIPS and
// dual-stack endpoints, the instance metadata settings and the user agent's
// app id. Not read, as the SDK does not either when given a retryer, or
// since ami-bakery sets its own timeouts: AWS_MAX_ATTEMPTS, AWS_RETRY_MODE
// and AWS_DEFAULTS_MODE, and their profile keys.
func loadConfig(retryer func() aws.Retryer) (aws.Config, error) {
	env := readEnv()
	shared, err := loadShared(env)
	if err != nil {
		return aws.Config{}, err
	}
	src := &sources{env: env, shared: shared}
	if err := src.check(); err != nil {
		return aws.Config{}, err
	}
	cfg := aws.Config{
		Logger:        logging.NewStandardLogger(os.Stderr),
		ConfigSources: []any{src},
		HTTPClient:    awshttp.NewBuildableClient(),
		Retryer:       retryer,
		Region:        firstOf(env.region, shared.region),
		AppID:         firstOf(env.appID, shared.appID),
	}
	if err := useCABundle(&cfg, firstOf(env.caBundle, shared.caBundle)); err != nil {
		return aws.Config{}, err
	}
	if err := resolveCredentials(&cfg, env, shared); err != nil {
		return aws.Config{}, err
	}
	if _, ok := cfg.Credentials.(*aws.CredentialsCache); !ok {
		cfg.Credentials = aws.NewCredentialsCache(cfg.Credentials)
	}
	if ignore, _, _ := src.GetIgnoreConfiguredEndpoints(context.Background()); !ignore {
		if u := firstOf(env.endpointURL, shared.endpointURL); u != "" {
			cfg.BaseEndpoint = aws.String(u)
		}
	}
	return cfg, nil
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// envConfig is what the SDK reads from the environment.
type envConfig struct {
	creds                         aws.Credentials
	profile                       string
	configFile, credentialsFile   string
	region, caBundle, appID       string
	webIdentityFile, roleARN      string
	roleSessionName               string
	containerRelative             string
	containerFullURI              string
	containerToken                string
	endpointURL                   string
	ignoreEndpoints               string
	imdsDisabled                  string
	imdsEndpoint, imdsEndpointMod string
	imdsV1Disabled                string
	useFIPS, useDualStack         string
}

func readEnv() envConfig {
	e := envConfig{
		creds: aws.Credentials{
			AccessKeyID:     firstOf(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_ACCESS_KEY")),
			SecretAccessKey: firstOf(os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SECRET_KEY")),
			Source:          "EnvConfigCredentials",
		},
		profile:           firstOf(os.Getenv("AWS_PROFILE"), os.Getenv("AWS_DEFAULT_PROFILE")),
		configFile:        os.Getenv("AWS_CONFIG_FILE"),
		credentialsFile:   os.Getenv("AWS_SHARED_CREDENTIALS_FILE"),
		region:            firstOf(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION")),
		caBundle:          os.Getenv("AWS_CA_BUNDLE"),
		appID:             os.Getenv("AWS_SDK_UA_APP_ID"),
		webIdentityFile:   os.Getenv("AWS_WEB_IDENTITY_TOKEN_FILE"),
		roleARN:           os.Getenv("AWS_ROLE_ARN"),
		roleSessionName:   os.Getenv("AWS_ROLE_SESSION_NAME"),
		containerRelative: os.Getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
		containerFullURI:  os.Getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
		containerToken:    os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
		endpointURL:       os.Getenv("AWS_ENDPOINT_URL"),
		ignoreEndpoints:   os.Getenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"),
		imdsDisabled:      os.Getenv("AWS_EC2_METADATA_DISABLED"),
		imdsEndpoint:      os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT"),
		imdsEndpointMod:   os.Getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"),
		imdsV1Disabled:    os.Getenv("AWS_EC2_METADATA_V1_DISABLED"),
		useFIPS:           os.Getenv("AWS_USE_FIPS_ENDPOINT"),
		useDualStack:      os.Getenv("AWS_USE_DUALSTACK_ENDPOINT"),
	}
	if e.creds.HasKeys() {
		e.creds.SessionToken = os.Getenv("AWS_SESSION_TOKEN")
		e.creds.AccountID = os.Getenv("AWS_ACCOUNT_ID")
	} else {
		e.creds = aws.Credentials{}
	}
	return e
}

// useCABundle adds the certificates of the PEM file at path to the HTTP
// client's roots, as the SDK does for AWS_CA_BUNDLE.
func useCABundle(cfg *aws.Config, path string) error {
	if path == "" {
		return nil
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var appendErr error
	cfg.HTTPClient = cfg.HTTPClient.(*awshttp.BuildableClient).WithTransportOptions(func(tr *http.Transport) {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		if tr.TLSClientConfig.RootCAs == nil {
			tr.TLSClientConfig.RootCAs = x509.NewCertPool()
		}
		if !tr.TLSClientConfig.RootCAs.AppendCertsFromPEM(pem) {
			appendErr = fmt.Errorf("failed to load custom CA bundle PEM file")
		}
	})
	return appendErr
}

// sources answers the SDK clients' questions about the configuration
// (cfg.ConfigSources: service endpoints, FIPS, dual-stack, instance
// metadata), environment first, then the profile, as the SDK's EnvConfig
// and SharedConfig do.
type sources struct {
	env    envConfig
	shared *profileConfig
}

// check fails on a boolean environment variable that is neither true nor
// false, as the SDK's NewEnvConfig does.
func (s *sources) check() error {
	if _, _, err := s.GetIgnoreConfiguredEndpoints(context.Background()); err != nil {
		return err
	}
	if _, _, err := s.GetUseFIPSEndpoint(context.Background()); err != nil {
		return err
	}
	if _, _, err := s.GetUseDualStackEndpoint(context.Background()); err != nil {
		return err
	}
	_, _, err := envBool("AWS_EC2_METADATA_V1_DISABLED", s.env.imdsV1Disabled, nil)
	return err
}

func (s *sources) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	if s.env.ignoreEndpoints != "" {
		switch strings.ToLower(s.env.ignoreEndpoints) {
		case "true":
			return true, true, nil
		case "false":
			return false, true, nil
		}
		return false, false, fmt.Errorf("invalid value for environment variable, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=%s, need true or false", s.env.ignoreEndpoints)
	}
	if s.shared.ignoreEndpoints != nil {
		return *s.shared.ignoreEndpoints, true, nil
	}
	return false, false, nil
}

func (s *sources) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if u := os.Getenv("AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_")); u != "" {
		return u, true, nil
	}
	if u, ok := s.shared.services[strings.ReplaceAll(strings.ToLower(sdkID), " ", "_")]["endpoint_url"]; ok {
		return u, true, nil
	}
	return "", false, nil
}

func (s *sources) GetUseFIPSEndpoint(context.Context) (aws.FIPSEndpointState, bool, error) {
	on, ok, err := envBool("AWS_USE_FIPS_ENDPOINT", s.env.useFIPS, s.shared.useFIPS)
	if !ok || err != nil {
		return aws.FIPSEndpointStateUnset, false, err
	}
	if on {
		return aws.FIPSEndpointStateEnabled, true, nil
	}
	return aws.FIPSEndpointStateDisabled, true, nil
}

func (s *sources) GetUseDualStackEndpoint(context.Context) (aws.DualStackEndpointState, bool, error) {
	on, ok, err := envBool("AWS_USE_DUALSTACK_ENDPOINT", s.env.useDualStack, s.shared.useDualStack)
	if !ok || err != nil {
		return aws.DualStackEndpointStateUnset, false, err
	}
	if on {
		return aws.DualStackEndpointStateEnabled, true, nil
	}
	return aws.DualStackEndpointStateDisabled, true, nil
}

// envBool reads a boolean setting: the environment variable's value if set
// (true or false, any case), else the profile's.
func envBool(name, env string, shared *bool) (bool, bool, error) {
	if env != "" {
		switch strings.ToLower(env) {
		case "true":
			return true, true, nil
		case "false":
			return false, true, nil
		}
		return false, false, fmt.Errorf("invalid value for environment variable, %s=%s, need true or false", name, env)
	}
	if shared != nil {
		return *shared, true, nil
	}
	return false, false, nil
}

func (s *sources) GetEC2IMDSClientEnableState() (imds.ClientEnableState, bool, error) {
	switch strings.ToLower(s.env.imdsDisabled) {
	case "true":
		return imds.ClientDisabled, true, nil
	case "false":
		return imds.ClientEnabled, true, nil
	}
	return imds.ClientDefaultEnableState, false, nil
}

func (s *sources) GetEC2IMDSEndpointMode() (imds.EndpointModeState, bool, error) {
	for _, v := range []string{s.env.imdsEndpointMod, s.shared.imdsEndpointMode} {
		if v == "" {
			continue
		}
		var m imds.EndpointModeState
		if err := m.SetFromString(v); err != nil {
			return imds.EndpointModeStateUnset, false, err
		}
		return m, true, nil
	}
	return imds.EndpointModeStateUnset, false, nil
}

func (s *sources) GetEC2IMDSEndpoint() (string, bool, error) {
	if v := firstOf(s.env.imdsEndpoint, s.shared.imdsEndpoint); v != "" {
		return v, true, nil
	}
	return "", false, nil
}

func (s *sources) GetEC2IMDSV1FallbackDisabled() (bool, bool) {
	on, ok, err := envBool("AWS_EC2_METADATA_V1_DISABLED", s.env.imdsV1Disabled, s.shared.imdsV1Disabled)
	return on, ok && err == nil
}

// resolveCredentials sets cfg.Credentials as the SDK's default chain does
// (resolveCredentialChain): the environment's keys, then its web identity,
// then the profile.
func resolveCredentials(cfg *aws.Config, env envConfig, p *profileConfig) error {
	switch {
	case env.creds.HasKeys():
		cfg.Credentials = credentials.StaticCredentialsProvider{Value: env.creds}
		return nil
	case env.webIdentityFile != "":
		return assumeWebIdentity(cfg, env.webIdentityFile, env.roleARN, env.roleSessionName)
	}
	return credsFromProfile(cfg, env, p)
}

// credsFromProfile is the SDK's resolveCredsFromProfile.
func credsFromProfile(cfg *aws.Config, env envConfig, p *profileConfig) error {
	var err error
	switch {
	case p.source != nil:
		err = credsFromProfile(cfg, env, p.source)
	case p.creds.HasKeys():
		cfg.Credentials = credentials.StaticCredentialsProvider{Value: p.creds}
	case p.credentialSource != "":
		err = credsFromSource(cfg, env, p.credentialSource)
	case p.webIdentityFile != "":
		return assumeWebIdentity(cfg, p.webIdentityFile, p.roleARN, p.roleSessionName)
	case p.hasSSO(), p.loginSession != "":
		err = credsFromCLI(cfg, p.name)
	case p.credentialProcess != "":
		cfg.Credentials = processcreds.NewProvider(p.credentialProcess)
	case env.containerRelative != "":
		cfg.Credentials = containerProvider(cfg, "http://169.254.170.2"+env.containerRelative, env.containerToken)
	case env.containerFullURI != "":
		err = localContainerProvider(cfg, env.containerFullURI, env.containerToken)
	default:
		cfg.Credentials = ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.NewFromConfig(*cfg) })
	}
	if err != nil {
		return err
	}
	if p.roleARN != "" {
		return assumeRole(cfg, p)
	}
	return nil
}

// credsFromSource is the SDK's resolveCredsFromSource (credential_source).
func credsFromSource(cfg *aws.Config, env envConfig, source string) error {
	switch source {
	case "Ec2InstanceMetadata":
		cfg.Credentials = ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = imds.NewFromConfig(*cfg) })
	case "Environment":
		cfg.Credentials = credentials.StaticCredentialsProvider{Value: env.creds}
	case "EcsContainer":
		switch {
		case env.containerRelative != "":
			cfg.Credentials = containerProvider(cfg, "http://169.254.170.2"+env.containerRelative, env.containerToken)
		case env.containerFullURI != "":
			return localContainerProvider(cfg, env.containerFullURI, env.containerToken)
		default:
			return fmt.Errorf("EcsContainer was specified as the credential_source, but neither 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI' or AWS_CONTAINER_CREDENTIALS_FULL_URI' was set")
		}
	default:
		return fmt.Errorf("credential source values must be EcsContainer, Ec2InstanceMetadata or Environment, not %q", source)
	}
	return nil
}

func assumeWebIdentity(cfg *aws.Config, file, roleARN, session string) error {
	if roleARN == "" {
		return fmt.Errorf("role ARN is not set")
	}
	cfg.Credentials = sts.NewWebIdentityRoleProvider(roleSTS(*cfg), roleARN, file, session)
	return nil
}

func assumeRole(cfg *aws.Config, p *profileConfig) error {
	if p.mfaSerial != "" {
		return fmt.Errorf("profile %s: assume role with MFA enabled, but AssumeRoleTokenProvider session option not set", p.name)
	}
	o := sts.AssumeRoleOptions{RoleSessionName: p.roleSessionName, ExternalID: p.externalID}
	if p.duration != nil && *p.duration/time.Minute > 15 {
		o.Duration = *p.duration
	}
	cfg.Credentials = sts.NewAssumeRoleProvider(roleSTS(*cfg), p.roleARN, o)
	return nil
}

// containerProvider reads credentials from the container agent (ECS, EKS
// Pod Identity), cached until 5 minutes before they expire, as the SDK's
// resolveHTTPCredProvider.
func containerProvider(cfg *aws.Config, endpoint, token string) aws.CredentialsProvider {
	return aws.NewCredentialsCache(endpointcreds.New(endpoint, func(o *endpointcreds.Options) {
		o.AuthorizationToken = token
		if file := os.Getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"); file != "" {
			o.AuthorizationTokenProvider = endpointcreds.TokenProviderFunc(func() (string, error) {
				b, err := os.ReadFile(file)
				if err != nil {
					return "", fmt.Errorf("failed to read authorization token from %v: %v", file, err)
				}
				return string(b), nil
			})
		}
		o.APIOptions = cfg.APIOptions
		if cfg.Retryer != nil {
			o.Retryer = cfg.Retryer()
		}
	}), func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = 5 * time.Minute })
}

// localContainerProvider is the SDK's resolveLocalHTTPCredProvider: a full
// URI over plain HTTP must name a loopback or the ECS or EKS agent's address.
func localContainerProvider(cfg *aws.Config, endpoint, token string) error {
	u, err := url.Parse(endpoint)
	if err != nil {
		return fmt.Errorf("invalid URL, %w", err)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("unable to parse host from local HTTP cred provider URL")
	}
	if u.Scheme == "http" {
		ok, err := allowedContainerHost(host)
		if err != nil {
			return fmt.Errorf("failed to resolve host %q, %v", host, err)
		}
		if !ok {
			return fmt.Errorf("invalid endpoint host, %q, only loopback/ecs/eks hosts are allowed", host)
		}
	}
	cfg.Credentials = containerProvider(cfg, endpoint, token)
	return nil
}

func allowedContainerHost(host string) (bool, error) {
	allowed := func(ip net.IP) bool {
		return ip.IsLoopback() || ip.Equal(net.IPv4(169, 254, 170, 2)) || ip.Equal(net.IPv4(169, 254, 170, 23)) ||
			ip.Equal(net.ParseIP("fd00:ec2::23"))
	}
	if ip := net.ParseIP(host); ip != nil {
		return allowed(ip), nil
	}
	addrs, err := net.LookupHost(host)
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !allowed(ip) {
			return false, nil
		}
	}
	return true, nil
}

// awsCLI is the AWS CLI that SSO and login profiles are read through; a
// variable for tests.
var awsCLI = "aws"

// credsFromCLI reads the credentials of an IAM Identity Center (sso_*) or
// console login (login_session) profile through the AWS CLI, which logged
// in and keeps the session's token. `aws configure export-credentials`
// (AWS CLI v2.9 or later) prints them in credential_process format, and
// refreshes the token first when it has expired, as the SDK would.
func credsFromCLI(cfg *aws.Config, profile string) error {
	cli, err := exec.LookPath(awsCLI)
	if err != nil {
		return fmt.Errorf("profile %s signs in through IAM Identity Center or aws login, whose credentials ami-bakery reads with the AWS CLI (aws configure export-credentials): %w", profile, err)
	}
	cfg.Credentials = processcreds.NewProviderCommand(processcreds.NewCommandBuilderFunc(func(ctx context.Context) (*exec.Cmd, error) {
		return exec.CommandContext(ctx, cli, "configure", "export-credentials", "--profile", profile, "--format", "process"), nil
	}))
	return nil
}

// profileConfig is one profile of the shared files, as the SDK's
// SharedConfig: the settings ami-bakery uses, and the profile its role's
// credentials come from (source_profile).
type profileConfig struct {
	name                                    string
	region, caBundle, appID, endpointURL    string
	ignoreEndpoints, useFIPS, useDualStack  *bool
	imdsEndpoint, imdsEndpointMode          string
	imdsV1Disabled                          *bool
	services                                map[string]map[string]string
	roleARN, externalID, mfaSerial          string
	roleSessionName, sourceProfile          string
	credentialSource, credentialProcess     string
	webIdentityFile                         string
	duration                                *time.Duration
	creds                                   aws.Credentials
	ssoSession, ssoRegion, ssoStartURL      string
	ssoAccountID, ssoRoleName, loginSession string
	source                                  *profileConfig
}

func (p *profileConfig) hasSSO() bool {
	return p.ssoSession != "" || p.ssoRegion != "" || p.ssoAccountID != "" || p.ssoStartURL != "" || p.ssoRoleName != ""
}

func (p *profileConfig) hasCredentials() bool {
	return p.sourceProfile != "" || p.credentialSource != "" || p.credentialProcess != "" || p.webIdentityFile != "" ||
		p.hasSSO() || p.creds.HasKeys()
}

// loadShared reads the selected profile from the shared config and
// credentials files. Missing files, and a missing default profile, are no
// error, as with the SDK: the chain goes on to the container and the
// instance role. A profile named by AWS_PROFILE must exist.
func loadShared(env envConfig) (*profileConfig, error) {
	configFile, credsFile := env.configFile, env.credentialsFile
	if configFile == "" || credsFile == "" {
		home, _ := os.UserHomeDir()
		if configFile == "" {
			configFile = filepath.Join(home, ".aws", "config")
		}
		if credsFile == "" {
			credsFile = filepath.Join(home, ".aws", "credentials")
		}
	}
	sections := iniSections{}
	for i, file := range []string{configFile, credsFile} {
		b, err := os.ReadFile(file)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("failed to load shared config file, %s, %w", file, err)
		}
		parsed := parseINI(string(b))
		if i == 0 {
			parsed = parsed.configProfiles()
		} else {
			parsed = parsed.credentialsProfiles()
		}
		sections.merge(parsed)
	}
	name := env.profile
	if name == "" {
		name = "default"
	}
	p := &profileConfig{}
	err := p.set(map[string]bool{}, name, sections)
	var notExist profileNotExistError
	if errors.As(err, &notExist) && string(notExist) == name && env.profile == "" {
		return &profileConfig{name: name}, nil
	}
	return p, err
}

type profileNotExistError string

func (e profileNotExistError) Error() string {
	return fmt.Sprintf("failed to get shared config profile, %s", string(e))
}

// set is the SDK's setFromIniSections: the profile's settings, then those of
// its source profile, recursively; a profile met again in the chain gives
// only its credentials.
func (p *profileConfig) set(seen map[string]bool, name string, sections iniSections) error {
	p.name = name
	sec, ok := sections[name]
	if !ok {
		return profileNotExistError(name)
	}
	if sec.err != nil {
		return fmt.Errorf("error fetching config from profile, %v, %w", name, sec.err)
	}
	if err := p.fromSection(sec); err != nil {
		return fmt.Errorf("error fetching config from profile, %v, %w", name, err)
	}
	if seen[name] {
		p.roleARN, p.externalID, p.mfaSerial, p.roleSessionName, p.sourceProfile = "", "", "", "", ""
	} else {
		var kind string
		switch {
		case p.sourceProfile != "":
			kind = "source_profile"
		case p.credentialSource != "":
			kind = "credential_source"
		case p.webIdentityFile != "":
			kind = "web_identity_token_file"
		}
		if kind != "" && p.roleARN == "" {
			return fmt.Errorf("failed to find %s, with profile %s: credential type %s requires role_arn", "role_arn", name, kind)
		}
	}
	if len(seen) != 0 && p.creds.HasKeys() {
		return nil
	}
	seen[name] = true
	n := 0
	for _, set := range []bool{p.sourceProfile != "", p.credentialSource != "", p.credentialProcess != "", p.webIdentityFile != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return fmt.Errorf("only one credential type may be specified per profile: source profile, credential source, credential process, web identity token")
	}
	if p.sourceProfile != "" {
		p.credentialSource, p.credentialProcess, p.webIdentityFile, p.creds = "", "", "", aws.Credentials{}
		p.ssoAccountID, p.ssoRegion, p.ssoRoleName, p.ssoStartURL = "", "", "", ""
		src := &profileConfig{}
		if err := src.set(seen, p.sourceProfile, sections); err != nil {
			var notExist profileNotExistError
			if errors.As(err, &notExist) {
				return fmt.Errorf("failed to load assume role for %s, source profile %s: %w", p.roleARN, p.sourceProfile, err)
			}
			return err
		}
		if !src.hasCredentials() {
			return fmt.Errorf("failed to load assume role for %s, source profile %s has no shared credentials", p.roleARN, p.sourceProfile)
		}
		p.source = src
	}
	if p.ssoSession != "" {
		// The AWS CLI reads it; the SDK fails early without it.
		if _, ok := sections["sso-session "+strings.TrimSpace(p.ssoSession)]; !ok {
			return fmt.Errorf("failed to find SSO session section, %v", p.ssoSession)
		}
	}
	if name := sec.str("services"); name != "" {
		if svc, ok := sections["services "+name]; ok {
			p.services = map[string]map[string]string{}
			for k, v := range svc.values {
				if v.mp != nil {
					p.services[k] = v.mp
				}
			}
		}
	}
	return nil
}

// fromSection is the SDK's setFromIniSection, for the keys ami-bakery uses.
func (p *profileConfig) fromSection(sec iniSection) error {
	upd := func(dst *string, key string) {
		if v := sec.str(key); v != "" {
			*dst = v
		}
	}
	updBool := func(dst **bool, key string) {
		switch strings.ToLower(sec.str(key)) {
		case "true":
			t := true
			*dst = &t
		case "false":
			f := false
			*dst = &f
		}
	}
	upd(&p.roleARN, "role_arn")
	upd(&p.externalID, "external_id")
	upd(&p.mfaSerial, "mfa_serial")
	upd(&p.roleSessionName, "role_session_name")
	upd(&p.sourceProfile, "source_profile")
	upd(&p.credentialSource, "credential_source")
	upd(&p.region, "region")
	upd(&p.ssoSession, "sso_session")
	upd(&p.ssoRegion, "sso_region")
	upd(&p.ssoStartURL, "sso_start_url")
	upd(&p.ssoAccountID, "sso_account_id")
	upd(&p.ssoRoleName, "sso_role_name")
	if _, ok := sec.values["duration_seconds"]; ok {
		n, _ := strconv.ParseInt(sec.str("duration_seconds"), 0, 64)
		d := time.Duration(n) * time.Second
		p.duration = &d
	}
	upd(&p.credentialProcess, "credential_process")
	upd(&p.webIdentityFile, "web_identity_token_file")
	if v := sec.str("ec2_metadata_service_endpoint_mode"); v != "" {
		var m imds.EndpointModeState
		if err := m.SetFromString(v); err != nil {
			return fmt.Errorf("failed to load ec2_metadata_service_endpoint_mode from shared config, %v", err)
		}
		p.imdsEndpointMode = v
	}
	upd(&p.imdsEndpoint, "ec2_metadata_service_endpoint")
	updBool(&p.imdsV1Disabled, "ec2_metadata_v1_disabled")
	updBool(&p.useDualStack, "use_dualstack_endpoint")
	updBool(&p.useFIPS, "use_fips_endpoint")
	upd(&p.caBundle, "ca_bundle")
	upd(&p.appID, "sdk_ua_app_id")
	updBool(&p.ignoreEndpoints, "ignore_configured_endpoint_urls")
	upd(&p.endpointURL, "endpoint_url")
	creds := aws.Credentials{
		AccessKeyID: sec.str("aws_access_key_id"), SecretAccessKey: sec.str("aws_secret_access_key"),
		SessionToken: sec.str("aws_session_token"), AccountID: sec.str("aws_account_id"),
		Source: "SharedConfigCredentials",
	}
	if creds.HasKeys() {
		p.creds = creds
	}
	upd(&p.loginSession, "login_session")
	return nil
}

// The shared files' INI dialect, as the SDK's config/internal/ini reads it.

type iniValue struct {
	s  string
	mp map[string]string // a nested block (services sections)
}

type iniSection struct {
	values map[string]iniValue
	err    error // partial credentials
}

func (s iniSection) str(key string) string { return s.values[key].s }

type iniSections map[string]iniSection

func parseINI(text string) iniSections {
	out := iniSections{}
	section, key := "", ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, ";") {
			continue
		}
		if name, ok := iniProfile(line); ok {
			section, key = name, ""
			if _, ok := out[section]; !ok {
				out[section] = iniSection{values: map[string]iniValue{}}
			}
			continue
		}
		indented := line[0] == ' ' || line[0] == '\t'
		if !indented {
			k, v, ok := iniProperty(strings.TrimRight(iniTrimComment(line), " \t"))
			if ok && section != "" {
				key = k
				out[section].values[k] = iniValue{s: v}
			}
			continue
		}
		if k, v, ok := iniProperty(trimmed); ok {
			if section == "" {
				continue
			}
			if key == "" || out[section].values[key].s != "" {
				key = k
				out[section].values[k] = iniValue{s: strings.TrimSpace(iniTrimComment(v))}
				continue
			}
			cur := out[section].values[key]
			if cur.mp == nil {
				cur = iniValue{mp: map[string]string{}}
			}
			cur.mp[k] = v
			out[section].values[key] = cur
			continue
		}
		if key == "" {
			continue
		}
		cur := out[section].values[key]
		if cur.s != "" && cur.mp == nil {
			cur.s += "\n" + trimmed
		}
		out[section].values[key] = cur
	}
	return out
}

// iniProfile reads a section header: "[ name ]" or "[ type name ]".
func iniProfile(line string) (string, bool) {
	r, _, _ := strings.Cut(line, "#")
	r, _, _ = strings.Cut(r, ";")
	r = strings.TrimSpace(r)
	if !strings.HasPrefix(r, "[") || !strings.HasSuffix(r, "]") {
		return "", false
	}
	r = strings.TrimSpace(r[1 : len(r)-1])
	if i := strings.IndexAny(r, " \t"); i >= 0 {
		typ, name := r[:i], strings.TrimLeft(r[i:], " \t")
		return typ + " " + name, true
	}
	return r, true
}

func iniTrimComment(s string) string {
	for _, sep := range []string{" #", " ;", "\t#", "\t;"} {
		s, _, _ = strings.Cut(s, sep)
	}
	return s
}

// iniProperty splits "key = value" (or "key: value"); the key lowercased,
// the value unquoted.
func iniProperty(s string) (string, string, bool) {
	sep := "="
	eq, colon := strings.Index(s, "="), strings.Index(s, ":")
	if eq == -1 || colon != -1 && colon < eq {
		sep = ":"
	}
	k, v, ok := strings.Cut(s, sep)
	if !ok {
		return "", "", false
	}
	k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
	if len(v) >= 2 && (v[0] == '"' && v[len(v)-1] == '"' || v[0] == '\'' && v[len(v)-1] == '\'') {
		v = v[1 : len(v)-1]
	}
	return k, v, true
}

// configProfiles keeps the config file's sections the SDK keeps: "profile
// NAME" as NAME (over a plain [NAME]), default, sso-session and services.
func (s iniSections) configProfiles() iniSections {
	out := iniSections{}
	for name, sec := range s {
		switch {
		case strings.HasPrefix(name, "profile "):
			out[strings.TrimPrefix(name, "profile ")] = sec
		case strings.HasPrefix(name, "sso-session "), strings.HasPrefix(name, "services "):
			out[name] = sec
		case strings.EqualFold(name, "default"):
			if _, ok := s["profile "+name]; !ok {
				out[name] = sec
			}
		}
	}
	return out
}

// credentialsProfiles drops the credentials file's "profile NAME" sections,
// as the SDK does.
func (s iniSections) credentialsProfiles() iniSections {
	out := iniSections{}
	for name, sec := range s {
		if !strings.HasPrefix(name, "profile ") {
			out[name] = sec
		}
	}
	return out
}

// mergedKeys are the keys a credentials file's profile overrides in the
// config file's (the SDK's mergeSections).
var mergedKeys = []string{
	"role_arn", "source_profile", "credential_source", "external_id", "mfa_serial", "role_session_name", "region",
	"endpoint_discovery_enabled", "credential_process", "web_identity_token_file", "s3_use_arn_region",
	"s3_disable_multiregion_access_points", "ec2_metadata_service_endpoint_mode", "ec2_metadata_service_endpoint",
	"ec2_metadata_v1_disabled", "use_dualstack_endpoint", "use_fips_endpoint", "defaults_mode", "retry_mode", "ca_bundle",
	"duration_seconds", "max_attempts", "sso_session", "sso_account_id", "sso_region", "sso_role_name", "sso_start_url",
	"auth_scheme_preference", "login_session",
}

// merge adds the credentials file's sections to the config file's.
func (s iniSections) merge(src iniSections) {
	for name, sec := range src {
		_, id := sec.values["aws_access_key_id"]
		_, secret := sec.values["aws_secret_access_key"]
		if id != secret {
			sec.err = fmt.Errorf("partial credentials found for profile %v", name)
		}
		dst, ok := s[name]
		if !ok {
			s[name] = sec
			continue
		}
		dst.err = sec.err
		if id && secret {
			for _, k := range []string{"aws_access_key_id", "aws_secret_access_key", "aws_session_token"} {
				if v, ok := sec.values[k]; ok {
					dst.values[k] = v
				}
			}
		}
		for _, k := range mergedKeys {
			if v, ok := sec.values[k]; ok {
				dst.values[k] = v
			}
		}
		s[name] = dst
	}
}
