// Package ssm is the SSM Parameter Store client ami-bakery uses, with the
// SDK's operation names and shapes, reduced to the fields it reads or
// sends, and without the SDK's SSM package (see package awsapi for why).
package ssm

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi"
)

// Options are accepted for the SDK's method signatures; there are none.
type Options struct{}

// Client calls SSM in one region.
type Client struct{ api *awsapi.Client }

// New returns the client that calls through api.
func New(api *awsapi.Client) *Client { return &Client{api: api} }

// NewFromConfig returns the client for cfg.Region at cfg.BaseEndpoint (as
// the SDK's NewFromConfig, with the endpoint resolved by the caller).
func NewFromConfig(cfg aws.Config, _ ...func(*Options)) *Client {
	return New(awsapi.New(cfg, "SSM", "ssm"))
}

func (c *Client) call(ctx context.Context, op string, in, out any) error {
	return c.api.JSON(ctx, "AmazonSSM", op, in, out)
}

// ParameterType is a parameter's type.
type ParameterType string

// The parameter types.
const (
	ParameterTypeString       ParameterType = "String"
	ParameterTypeStringList   ParameterType = "StringList"
	ParameterTypeSecureString ParameterType = "SecureString"
)

// IsParameterNotFound reports whether err says the parameter (or the
// version asked for) does not exist.
func IsParameterNotFound(err error) bool {
	return awsapi.HasCode(err, "ParameterNotFound")
}

// Parameter is a parameter's value at one version.
type Parameter struct {
	Name             *string
	Value            *string
	Type             ParameterType
	DataType         *string
	Version          int64
	Selector         *string
	LastModifiedDate *time.Time `json:"-"`
}

// UnmarshalJSON reads LastModifiedDate as SSM sends it, in epoch seconds.
func (p *Parameter) UnmarshalJSON(b []byte) error {
	type plain Parameter
	var v struct {
		plain
		LastModifiedDate *epoch
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Parameter(v.plain)
	p.LastModifiedDate = v.LastModifiedDate.time()
	return nil
}

// ParameterHistory is one version in a parameter's history.
type ParameterHistory struct {
	Name             *string
	Value            *string
	Type             ParameterType
	DataType         *string
	Description      *string
	Version          int64
	Labels           []string
	LastModifiedDate *time.Time `json:"-"`
}

// UnmarshalJSON reads LastModifiedDate as SSM sends it, in epoch seconds.
func (p *ParameterHistory) UnmarshalJSON(b []byte) error {
	type plain ParameterHistory
	var v struct {
		plain
		LastModifiedDate *epoch
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = ParameterHistory(v.plain)
	p.LastModifiedDate = v.LastModifiedDate.time()
	return nil
}

// ParameterMetadata is what DescribeParameters lists of a parameter.
type ParameterMetadata struct {
	Name *string
}

// epoch is a time in seconds since 1970, with a fraction.
type epoch float64

func (e *epoch) time() *time.Time {
	if e == nil {
		return nil
	}
	sec, frac := math.Modf(float64(*e))
	t := time.Unix(int64(sec), int64(math.Round(frac*1e3))*1e6).UTC()
	return &t
}

// GetParameterInput names the parameter (NAME, NAME:VERSION or NAME:LABEL).
type GetParameterInput struct {
	Name           *string `json:",omitempty"`
	WithDecryption *bool   `json:",omitempty"`
}

// GetParameterOutput holds the parameter.
type GetParameterOutput struct {
	Parameter *Parameter
}

// GetParameter reads a parameter.
func (c *Client) GetParameter(ctx context.Context, in *GetParameterInput, _ ...func(*Options)) (*GetParameterOutput, error) {
	out := &GetParameterOutput{}
	return out, c.call(ctx, "GetParameter", in, out)
}

// GetParametersInput names up to 10 parameters.
type GetParametersInput struct {
	Names          []string `json:",omitempty"`
	WithDecryption *bool    `json:",omitempty"`
}

// GetParametersOutput holds the parameters found, and the names that are
// not.
type GetParametersOutput struct {
	Parameters        []Parameter
	InvalidParameters []string
}

// GetParameters reads several parameters.
func (c *Client) GetParameters(ctx context.Context, in *GetParametersInput, _ ...func(*Options)) (*GetParametersOutput, error) {
	out := &GetParametersOutput{}
	return out, c.call(ctx, "GetParameters", in, out)
}

// GetParameterHistoryInput asks for one page of a parameter's history.
type GetParameterHistoryInput struct {
	Name           *string `json:",omitempty"`
	MaxResults     *int32  `json:",omitempty"`
	NextToken      *string `json:",omitempty"`
	WithDecryption *bool   `json:",omitempty"`
}

// GetParameterHistoryOutput is one page of the history.
type GetParameterHistoryOutput struct {
	Parameters []ParameterHistory
	NextToken  *string
}

// GetParameterHistory reads a page of a parameter's versions.
func (c *Client) GetParameterHistory(ctx context.Context, in *GetParameterHistoryInput, _ ...func(*Options)) (*GetParameterHistoryOutput, error) {
	out := &GetParameterHistoryOutput{}
	return out, c.call(ctx, "GetParameterHistory", in, out)
}

// PutParameterInput is a new version of a parameter.
type PutParameterInput struct {
	Name        *string       `json:",omitempty"`
	Value       *string       `json:",omitempty"`
	Type        ParameterType `json:",omitempty"`
	DataType    *string       `json:",omitempty"`
	Description *string       `json:",omitempty"`
	Overwrite   *bool         `json:",omitempty"`
}

// PutParameterOutput is the version written.
type PutParameterOutput struct {
	Version int64
}

// PutParameter writes a parameter.
func (c *Client) PutParameter(ctx context.Context, in *PutParameterInput, _ ...func(*Options)) (*PutParameterOutput, error) {
	out := &PutParameterOutput{}
	return out, c.call(ctx, "PutParameter", in, out)
}

// DeleteParameterInput names the parameter to delete.
type DeleteParameterInput struct {
	Name *string `json:",omitempty"`
}

// DeleteParameterOutput is empty.
type DeleteParameterOutput struct{}

// DeleteParameter deletes a parameter and its history.
func (c *Client) DeleteParameter(ctx context.Context, in *DeleteParameterInput, _ ...func(*Options)) (*DeleteParameterOutput, error) {
	out := &DeleteParameterOutput{}
	return out, c.call(ctx, "DeleteParameter", in, out)
}

// LabelParameterVersionInput attaches labels to a version (the latest
// when ParameterVersion is nil).
type LabelParameterVersionInput struct {
	Name             *string  `json:",omitempty"`
	Labels           []string `json:",omitempty"`
	ParameterVersion *int64   `json:",omitempty"`
}

// LabelParameterVersionOutput lists the labels refused, and the version.
type LabelParameterVersionOutput struct {
	InvalidLabels    []string
	ParameterVersion int64
}

// LabelParameterVersion labels a version.
func (c *Client) LabelParameterVersion(ctx context.Context, in *LabelParameterVersionInput, _ ...func(*Options)) (*LabelParameterVersionOutput, error) {
	out := &LabelParameterVersionOutput{}
	return out, c.call(ctx, "LabelParameterVersion", in, out)
}

// UnlabelParameterVersionInput removes labels from a version.
type UnlabelParameterVersionInput struct {
	Name             *string  `json:",omitempty"`
	Labels           []string `json:",omitempty"`
	ParameterVersion *int64   `json:",omitempty"`
}

// UnlabelParameterVersionOutput lists the labels removed and those that
// were not on the version.
type UnlabelParameterVersionOutput struct {
	InvalidLabels []string
	RemovedLabels []string
}

// UnlabelParameterVersion removes labels from a version.
func (c *Client) UnlabelParameterVersion(ctx context.Context, in *UnlabelParameterVersionInput, _ ...func(*Options)) (*UnlabelParameterVersionOutput, error) {
	out := &UnlabelParameterVersionOutput{}
	return out, c.call(ctx, "UnlabelParameterVersion", in, out)
}

// DescribeParametersInput asks for one page of the region's parameters.
type DescribeParametersInput struct {
	MaxResults *int32  `json:",omitempty"`
	NextToken  *string `json:",omitempty"`
}

// DescribeParametersOutput is one page.
type DescribeParametersOutput struct {
	Parameters []ParameterMetadata
	NextToken  *string
}

// DescribeParameters lists a page of the region's parameters.
func (c *Client) DescribeParameters(ctx context.Context, in *DescribeParametersInput, _ ...func(*Options)) (*DescribeParametersOutput, error) {
	out := &DescribeParametersOutput{}
	return out, c.call(ctx, "DescribeParameters", in, out)
}
