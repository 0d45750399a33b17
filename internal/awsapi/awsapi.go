// Package awsapi makes the few STS, SSM and Auto Scaling calls ami-bakery
// needs without linking the SDK's service packages for them.
//
// Every Go package linked into the binary runs its initialisation on every
// start, whatever the command. The SDK's service packages build their
// endpoint tables then, and since late 2025 their serialization schemas: SSM
// v1.84 alone allocates 1.4 MB in 5 ms at each start, and with the current
// SSM and Auto Scaling packages the no-op (which calls neither) took 2.1
// times one raw round trip instead of 1.4 (BENCHMARKS.md); STS's schemas and
// endpoint tables cost every no-op too. So the caller's account, the role
// credential providers, prune, publishing and channels call these three
// services through Client, which sends the same requests with the SDK's own
// machinery (aws.Config's credentials, HTTP client, retryer and API options,
// the SigV4 signer, the smithy middleware stack), and the subpackages sts,
// ssm and autoscaling declare the operations, with the SDK's names and
// shapes, that ami-bakery uses. Only EC2, which the no-op calls, is the
// SDK's own client.
//
// Two protocols: SSM speaks AWS JSON 1.1 (Client.JSON), STS and Auto Scaling
// the AWS Query protocol with XML answers (Client.Query). An error answer is
// an *Error, which the SDK's retryer classifies as it does its own clients'
// errors (throttling and 5xx retried, the rest not).
package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Client calls one service in one region.
type Client struct {
	// Config gives the credentials, the HTTP client, the retryer and the
	// API options (middlewares every call gets, as the SDK's clients do).
	Config aws.Config
	// ServiceID is the SDK's name of the service ("SSM", "Auto Scaling").
	ServiceID string
	// SigningName is the service's SigV4 name ("ssm", "autoscaling").
	SigningName string
	// Region is where the calls go and what they are signed for.
	Region string
	// Endpoint is the service's base URL in Region; EndpointErr, when
	// set, says why there is none, and every call fails with it.
	Endpoint    string
	EndpointErr error
}

// New returns the client of the service sdkID (signed as signingName) in
// cfg.Region at cfg.BaseEndpoint, which must be set: the caller resolves
// the endpoint (awsclient does, as the SDK's clients do).
func New(cfg aws.Config, sdkID, signingName string) *Client {
	c := &Client{Config: cfg, ServiceID: sdkID, SigningName: signingName, Region: cfg.Region}
	if cfg.BaseEndpoint == nil {
		c.EndpointErr = fmt.Errorf("no %s endpoint in %s", sdkID, cfg.Region)
	} else {
		c.Endpoint = *cfg.BaseEndpoint
	}
	return c
}

// JSON calls op with the AWS JSON 1.1 protocol (target is the
// X-Amz-Target prefix, as "AmazonSSM"): in is sent as JSON, and the answer
// decoded into out.
func (c *Client) JSON(ctx context.Context, target, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", op, err)
	}
	header := http.Header{
		"Content-Type": {"application/x-amz-json-1.1"},
		"X-Amz-Target": {target + "." + op},
	}
	return c.call(ctx, op, header, body, func(status int, h http.Header, b []byte) error {
		if status >= 300 {
			return jsonError(status, h, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("decoding the answer to %s: %w", op, err)
		}
		return nil
	})
}

// Query calls op with the AWS Query protocol (version is the API version,
// as "2011-01-01"): params are sent form-encoded, and the answer's
// <opResult> element decoded into out.
func (c *Client) Query(ctx context.Context, version, op string, params url.Values, out any) error {
	form := url.Values{"Action": {op}, "Version": {version}}
	for k, v := range params {
		form[k] = v
	}
	header := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	return c.call(ctx, op, header, []byte(form.Encode()), func(status int, h http.Header, b []byte) error {
		if status >= 300 {
			return queryError(status, h, b)
		}
		if err := decodeResult(b, op+"Result", out); err != nil {
			return fmt.Errorf("decoding the answer to %s: %w", op, err)
		}
		return nil
	})
}

// decodeResult decodes the element named result, a child of the answer's
// root, into out.
func decodeResult(b []byte, result string, out any) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return fmt.Errorf("no <%s> element", result)
			}
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 2 && t.Name.Local == result {
				return d.DecodeElement(out, &t)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// call sends one operation through the SDK's middleware stack: the
// caller's API options, retries, the payload hash and SigV4 signature, and
// decode, which reads the answer (status, header, body).
func (c *Client) call(ctx context.Context, op string, header http.Header, body []byte, decode func(int, http.Header, []byte) error) error {
	if c.EndpointErr != nil {
		return &smithy.OperationError{ServiceID: c.ServiceID, OperationName: op, Err: c.EndpointErr}
	}
	endpoint, err := url.Parse(c.Endpoint)
	if err != nil || endpoint.Scheme == "" || endpoint.Host == "" {
		return fmt.Errorf("calling %s %s: the endpoint %q is not a URL", c.ServiceID, op, c.Endpoint)
	}
	stack := middleware.NewStack(op, smithyhttp.NewStackRequest)
	if err := c.build(stack, op, endpoint, header, body, decode); err != nil {
		return fmt.Errorf("calling %s %s: %w", c.ServiceID, op, err)
	}
	h := middleware.DecorateHandler(smithyhttp.NewClientHandler(c.Config.HTTPClient), stack)
	if _, _, err := h.Handle(ctx, struct{}{}); err != nil {
		return &smithy.OperationError{ServiceID: c.ServiceID, OperationName: op, Err: err}
	}
	return nil
}

func (c *Client) build(stack *middleware.Stack, op string, endpoint *url.URL, header http.Header, body []byte, decode func(int, http.Header, []byte) error) error {
	meta := middleware.InitializeMiddlewareFunc("ami-bakery/metadata", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
		ctx = awsmiddleware.SetServiceID(ctx, c.ServiceID)
		ctx = awsmiddleware.SetSigningName(ctx, c.SigningName)
		ctx = awsmiddleware.SetSigningRegion(ctx, c.Region)
		ctx = awsmiddleware.SetRegion(ctx, c.Region)
		ctx = awsmiddleware.SetOperationName(ctx, op)
		return next.HandleInitialize(ctx, in)
	})
	serialize := middleware.SerializeMiddlewareFunc("ami-bakery/serialize", func(ctx context.Context, in middleware.SerializeInput, next middleware.SerializeHandler) (middleware.SerializeOutput, middleware.Metadata, error) {
		req, ok := in.Request.(*smithyhttp.Request)
		if !ok {
			return middleware.SerializeOutput{}, middleware.Metadata{}, fmt.Errorf("unexpected request type %T", in.Request)
		}
		u := *endpoint
		if u.Path == "" {
			u.Path = "/"
		}
		req.URL = &u
		req.Method = http.MethodPost
		for k, v := range header {
			req.Header[k] = v
		}
		r, err := req.SetStream(bytes.NewReader(body))
		if err != nil {
			return middleware.SerializeOutput{}, middleware.Metadata{}, err
		}
		in.Request = r
		return next.HandleSerialize(ctx, in)
	})
	deserialize := middleware.DeserializeMiddlewareFunc("ami-bakery/deserialize", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
		out, md, err := next.HandleDeserialize(ctx, in)
		if err != nil {
			return out, md, err
		}
		resp, ok := out.RawResponse.(*smithyhttp.Response)
		if !ok {
			return out, md, fmt.Errorf("unexpected response type %T", out.RawResponse)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			// A broken answer is a connection error: retried.
			return out, md, &smithy.DeserializationError{Err: fmt.Errorf("reading the answer: %w", err)}
		}
		err = decode(resp.StatusCode, resp.Header, b)
		var apiErr *Error
		if errors.As(err, &apiErr) {
			err = &smithyhttp.ResponseError{Response: resp, Err: err}
		}
		return out, md, err
	})
	return errors.Join(
		stack.Initialize.Add(meta, middleware.Before),
		stack.Serialize.Add(serialize, middleware.After),
		smithyhttp.AddComputeContentLengthMiddleware(stack),
		awsmiddleware.AddRequestUserAgentMiddleware(stack),
		// Finalize, in this order, as in the SDK's clients: retry each
		// attempt, hash the payload, sign.
		stack.Finalize.Add(retry.NewAttemptMiddleware(c.retryer(), smithyhttp.RequestCloner), middleware.After),
		stack.Finalize.Add(&v4.ComputePayloadSHA256{}, middleware.After),
		stack.Finalize.Add(v4.NewSignHTTPRequestMiddleware(v4.SignHTTPRequestMiddlewareOptions{
			CredentialsProvider: c.Config.Credentials, Signer: v4.NewSigner(),
		}), middleware.After),
		stack.Deserialize.Add(deserialize, middleware.After),
		c.apiOptions(stack),
	)
}

func (c *Client) retryer() aws.Retryer {
	if c.Config.Retryer != nil {
		return c.Config.Retryer()
	}
	return retry.NewStandard()
}

func (c *Client) apiOptions(stack *middleware.Stack) error {
	for _, fn := range c.Config.APIOptions {
		if err := fn(stack); err != nil {
			return err
		}
	}
	return nil
}

// Error is an error answer of an AWS API: its code ("ParameterNotFound",
// "Throttling"), message, HTTP status and request id.
type Error struct {
	Code      string
	Message   string
	Status    int
	RequestID string
}

func (e *Error) Error() string {
	return fmt.Sprintf("api error %s: %s", e.Code, e.Message)
}

// ErrorCode, ErrorMessage and ErrorFault make Error a smithy.APIError, as
// the SDK's retryer and ami-bakery's error hints expect.
func (e *Error) ErrorCode() string    { return e.Code }
func (e *Error) ErrorMessage() string { return e.Message }
func (e *Error) ErrorFault() smithy.ErrorFault {
	if e.Status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// HasCode reports whether err is an error answer with this code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// jsonError reads an AWS JSON 1.1 error answer: the code in __type (or
// the X-Amzn-ErrorType header), after any "namespace#", before any ":".
func jsonError(status int, h http.Header, b []byte) error {
	var body struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(b, &body)
	code := h.Get("X-Amzn-ErrorType")
	if code == "" {
		code = body.Type
	}
	if i := strings.LastIndexByte(code, '#'); i >= 0 {
		code = code[i+1:]
	}
	code, _, _ = strings.Cut(code, ":")
	return &Error{Code: orStatus(code, status), Message: body.Message + body.MessageU, Status: status, RequestID: h.Get("X-Amzn-RequestId")}
}

// queryError reads an AWS Query error answer:
// <ErrorResponse><Error><Code/><Message/></Error><RequestId/></ErrorResponse>.
func queryError(status int, h http.Header, b []byte) error {
	var body struct {
		Error struct {
			Code    string
			Message string
		}
		RequestID string `xml:"RequestId"`
	}
	_ = xml.Unmarshal(b, &body)
	return &Error{Code: orStatus(body.Error.Code, status), Message: body.Error.Message, Status: status, RequestID: body.RequestID}
}

// orStatus is code, or for an answer without one its HTTP status.
func orStatus(code string, status int) string {
	if code != "" {
		return code
	}
	return fmt.Sprintf("HTTP%d", status)
}
