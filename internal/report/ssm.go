package report

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// SSM is what the SSM parameter sink calls, with the SDK's signatures.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
}

// Defaults of an SSMSink's wait for validation.
const (
	DefaultPublishTimeout = 2 * time.Minute
	defaultPublishPoll    = 2 * time.Second
)

// ssmIAMHint is the hint for a version that never became visible: EC2
// validates an aws:ec2:image value asynchronously, with the writer's
// permissions, and drops the version when it cannot.
const ssmIAMHint = "PutParameter succeeds before EC2 validates an aws:ec2:image value; the version is dropped when " +
	"validation fails: the caller needs ec2:DescribeImages besides ssm:PutParameter and ssm:GetParameter, and the AMI " +
	"must be visible to the parameter's account in that region"

// SSMSink writes the AMI id of every region to the SSM parameter Name in
// that region: Type String, DataType aws:ec2:image, so that a launch
// template's resolve:ssm:NAME and Terraform's aws_ssm_parameter read it.
// A parameter that holds the AMI already is left alone: a parameter keeps
// only 100 versions, and a rerun writes nothing.
type SSMSink struct {
	Param   string
	Clients func(region string) SSM
	// Timeout bounds the wait for a written version to become visible
	// (DefaultPublishTimeout when zero); Poll is the wait between reads.
	Timeout, Poll time.Duration
}

func (s *SSMSink) Name() string { return "SSM parameter " + s.Param }

// Check validates the parameter name as SSM would, without calling it.
func (s *SSMSink) Check() error {
	return CheckParameterName(s.Param)
}

// CheckParameterName refuses a name SSM would refuse.
func CheckParameterName(name string) error {
	bad := func(why string) error {
		return usererr.WithHint(fmt.Errorf("publishing to SSM parameter %q: %s", name, why),
			"name it like /amis/app/latest: letters, digits and . - _ /, starting with /")
	}
	switch {
	case name == "" || len(name) > 1011:
		return bad("a name has 1 to 1011 characters")
	case strings.Contains(name, "{image}"):
		return bad("{image} is expanded only in a project's publish block")
	case strings.Contains(name, "/") && !strings.HasPrefix(name, "/"):
		return bad("a hierarchical name starts with /")
	case strings.HasPrefix(strings.ToLower(strings.TrimPrefix(name, "/")), "aws") ||
		strings.HasPrefix(strings.ToLower(strings.TrimPrefix(name, "/")), "ssm"):
		return bad("names starting with aws or ssm are reserved")
	case strings.Count(name, "/") > 15:
		return bad("a name has at most 15 levels")
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c)) {
			return bad(fmt.Sprintf("%q is not allowed", c))
		}
	}
	return nil
}

// Stage reads the parameter in every region and decides where to write.
func (s *SSMSink) Stage(ctx context.Context, r Result) (Staged, error) {
	st := &ssmStaged{s: s}
	for _, region := range regionsOf(r) {
		p, err := s.Plan(ctx, region, r.AMIs[region], r.Fingerprint)
		if err != nil {
			return nil, err
		}
		st.pubs = append(st.pubs, p)
	}
	return st, nil
}

// Plan reads the parameter in region and says whether ami would be
// written (Pending) or is there already (Unchanged); it refuses a
// text-typed parameter, which cannot become aws:ec2:image.
func (s *SSMSink) Plan(ctx context.Context, region, ami, _ string) (Publication, error) {
	p := Publication{Kind: "ssm-parameter", Name: s.Param, Region: region, AMI: ami, Action: Pending}
	out, err := s.Clients(region).GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(s.Param)})
	switch {
	case ssm.IsParameterNotFound(err):
		return p, nil
	case err != nil:
		return p, fmt.Errorf("reading SSM parameter %s in %s: %w", s.Param, region, err)
	}
	cur := out.Parameter
	if dt := aws.ToString(cur.DataType); dt != "aws:ec2:image" {
		return p, usererr.WithHint(
			fmt.Errorf("publishing to SSM parameter %s in %s: it has data type %s, not aws:ec2:image, and a parameter's data type cannot change", s.Param, region, dt),
			"delete it (aws ssm delete-parameter --name %s --region %s) or name another parameter; ami-bakery creates it with data type aws:ec2:image", s.Param, region)
	}
	if ami != "" && aws.ToString(cur.Value) == ami {
		p.Action, p.Version = Unchanged, cur.Version
	}
	return p, nil
}

type ssmStaged struct {
	s    *SSMSink
	pubs []Publication
}

func (st *ssmStaged) late() bool                  { return false }
func (st *ssmStaged) Abort()                      {}
func (st *ssmStaged) publications() []Publication { return st.pubs }

// Commit writes the regions that need it and waits, in each, until the
// new version is visible.
func (st *ssmStaged) Commit(ctx context.Context) error {
	for i := range st.pubs {
		p := &st.pubs[i]
		if p.Action != Pending {
			continue
		}
		v, err := st.s.put(ctx, p.Region, p.AMI)
		if err != nil {
			return err
		}
		p.Action, p.Version = Written, v
	}
	return nil
}

// put writes ami to the parameter in region and waits until it is
// visible.
func (s *SSMSink) put(ctx context.Context, region, ami string) (int64, error) {
	return PutImageParameter(ctx, s.Clients(region), region, s.Param, ami, "AMI published by ami-bakery", s.Timeout, s.Poll)
}

// PutImageParameter writes ami to the parameter name in region (client c)
// as a new version
// (Type String, DataType aws:ec2:image, with the description) and waits
// until GetParameter shows it: the version EC2 validated. It waits at most
// timeout (DefaultPublishTimeout when zero), reading every poll. After
// PutParameter succeeded it returns the version written, errors included:
// that version may yet become visible.
func PutImageParameter(ctx context.Context, c SSM, region, name, ami, desc string, timeout, poll time.Duration) (int64, error) {
	out, err := c.PutParameter(ctx, &ssm.PutParameterInput{
		Name: aws.String(name), Value: aws.String(ami), Type: ssm.ParameterTypeString,
		DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true),
		Description: aws.String(desc),
	})
	if err != nil {
		return 0, fmt.Errorf("writing SSM parameter %s in %s: %w", name, region, err)
	}
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	if poll <= 0 {
		poll = defaultPublishPoll
	}
	deadline := time.Now().Add(timeout)
	for {
		got, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
		if err == nil && got.Parameter.Version >= out.Version && aws.ToString(got.Parameter.Value) == ami {
			return got.Parameter.Version, nil
		}
		if err != nil && !ssm.IsParameterNotFound(err) {
			return out.Version, fmt.Errorf("reading SSM parameter %s in %s after writing version %d: %w", name, region, out.Version, err)
		}
		if time.Now().After(deadline) {
			return out.Version, usererr.WithHint(fmt.Errorf("writing SSM parameter %s in %s: version %d (%s) was not visible after %s",
				name, region, out.Version, ami, timeout), ssmIAMHint)
		}
		select {
		case <-ctx.Done():
			return out.Version, fmt.Errorf("waiting for SSM parameter %s in %s: %w", name, region, ctx.Err())
		case <-time.After(poll):
		}
	}
}
