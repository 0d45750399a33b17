// Package sts is the STS client ami-bakery uses: the caller's account
// (GetCallerIdentity), and the role credential providers of the AWS
// configuration (AssumeRole, AssumeRoleWithWebIdentity), without the SDK's
// STS package and its stscreds providers (see package awsapi for why).
// The providers send what stscreds sends and return what it returns; the
// configuration's tests compare them with the SDK's.
package sts

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

	"github.com/ami-bakery/ami-bakery/internal/awsapi"
)

// version is the STS API version.
const version = "2011-06-15"

// Client calls STS in one region.
type Client struct{ api *awsapi.Client }

// New returns the STS client that calls through api.
func New(api *awsapi.Client) *Client { return &Client{api: api} }

// NewFromConfig returns the client for cfg.Region at cfg.BaseEndpoint.
func NewFromConfig(cfg aws.Config) *Client {
	return New(awsapi.New(cfg, "STS", "sts"))
}

// GetCallerIdentity returns the account the credentials act as.
func (c *Client) GetCallerIdentity(ctx context.Context) (string, error) {
	var out struct{ Account string }
	if err := c.api.Query(ctx, version, "GetCallerIdentity", nil, &out); err != nil {
		return "", err
	}
	if out.Account == "" {
		// Owners are checked against it: never take "" for an account.
		return "", errors.New("GetCallerIdentity answered no account")
	}
	return out.Account, nil
}

// answer is the Credentials and AssumedRoleUser of an AssumeRole or
// AssumeRoleWithWebIdentity answer.
type answer struct {
	Credentials *struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string
		SessionToken    string
		Expiration      string
	}
	AssumedRoleUser *struct{ Arn string }
}

// value is the credentials as aws.Credentials, from source.
func (r answer) value(source string) (aws.Credentials, error) {
	if r.Credentials == nil || r.Credentials.AccessKeyID == "" {
		return aws.Credentials{Source: source}, errors.New("validate credentials, no credentials in the answer")
	}
	exp, err := time.Parse(time.RFC3339, r.Credentials.Expiration)
	if err != nil {
		return aws.Credentials{Source: source}, fmt.Errorf("reading the credentials' expiration: %w", err)
	}
	v := aws.Credentials{AccessKeyID: r.Credentials.AccessKeyID, SecretAccessKey: r.Credentials.SecretAccessKey,
		SessionToken: r.Credentials.SessionToken, Source: source, CanExpire: true, Expires: exp}
	if r.AssumedRoleUser != nil {
		if parts := strings.Split(r.AssumedRoleUser.Arn, ":"); len(parts) >= 5 {
			v.AccountID = parts[4]
		}
	}
	return v, nil
}

// DefaultDuration is how long assumed role credentials last when the
// configuration does not say (stscreds.DefaultDuration).
const DefaultDuration = 15 * time.Minute

// AssumeRoleOptions are what an assumed role is asked with.
type AssumeRoleOptions struct {
	RoleSessionName string        // default aws-go-sdk-UNIXNANO
	Duration        time.Duration // default DefaultDuration
	ExternalID      string
}

// AssumeRoleProvider assumes a role with the client's credentials, as
// stscreds.AssumeRoleProvider. Wrap it in an aws.CredentialsCache.
type AssumeRoleProvider struct {
	client  *Client
	roleARN string
	opts    AssumeRoleOptions
}

// NewAssumeRoleProvider returns the provider of roleARN's credentials.
func NewAssumeRoleProvider(c *Client, roleARN string, opts AssumeRoleOptions) *AssumeRoleProvider {
	return &AssumeRoleProvider{client: c, roleARN: roleARN, opts: opts}
}

// Retrieve assumes the role.
func (p *AssumeRoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	if p.opts.RoleSessionName == "" {
		p.opts.RoleSessionName = fmt.Sprintf("aws-go-sdk-%d", time.Now().UTC().UnixNano())
	}
	if p.opts.Duration == 0 {
		p.opts.Duration = DefaultDuration
	}
	params := url.Values{
		"RoleArn":         {p.roleARN},
		"RoleSessionName": {p.opts.RoleSessionName},
		"DurationSeconds": {strconv.Itoa(int(p.opts.Duration / time.Second))},
	}
	if p.opts.ExternalID != "" {
		params.Set("ExternalId", p.opts.ExternalID)
	}
	var out answer
	if err := p.client.api.Query(ctx, version, "AssumeRole", params, &out); err != nil {
		return aws.Credentials{Source: "AssumeRoleProvider"}, err
	}
	return out.value("AssumeRoleProvider")
}

// WebIdentityRoleProvider assumes a role with the web identity token in a
// file, read at each retrieval, as stscreds.WebIdentityRoleProvider: the
// call is not signed, and InvalidIdentityToken is retried.
type WebIdentityRoleProvider struct {
	client                      *Client
	roleARN, tokenFile, session string
}

// NewWebIdentityRoleProvider returns the provider of roleARN's credentials
// for the token in tokenFile; session "" means the time in nanoseconds.
func NewWebIdentityRoleProvider(c *Client, roleARN, tokenFile, session string) *WebIdentityRoleProvider {
	return &WebIdentityRoleProvider{client: c, roleARN: roleARN, tokenFile: tokenFile, session: session}
}

// Retrieve assumes the role.
func (p *WebIdentityRoleProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	b, err := os.ReadFile(p.tokenFile)
	if err != nil {
		return aws.Credentials{}, fmt.Errorf("failed to retrieve jwt from provide source, unable to read file at %s: %w", p.tokenFile, err)
	}
	session := p.session
	if session == "" {
		session = strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	params := url.Values{"RoleArn": {p.roleARN}, "RoleSessionName": {session}, "WebIdentityToken": {string(b)}}
	api := *p.client.api
	api.Config.Credentials = nil // the token is the proof: the call is not signed
	if retryer := api.Config.Retryer; retryer != nil {
		api.Config.Retryer = func() aws.Retryer { return retry.AddWithErrorCodes(retryer(), "InvalidIdentityToken") }
	}
	var out answer
	if err := api.Query(ctx, version, "AssumeRoleWithWebIdentity", params, &out); err != nil {
		return aws.Credentials{}, fmt.Errorf("failed to retrieve credentials, %w", err)
	}
	return out.value("WebIdentityCredentials")
}
