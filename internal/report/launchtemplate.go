package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// LaunchTemplateEC2 is what the launch template sink calls, with the SDK's
// signatures.
type LaunchTemplateEC2 interface {
	DescribeLaunchTemplateVersions(ctx context.Context, in *ec2.DescribeLaunchTemplateVersionsInput, optFns ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplateVersionsOutput, error)
	CreateLaunchTemplateVersion(ctx context.Context, in *ec2.CreateLaunchTemplateVersionInput, optFns ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateVersionOutput, error)
	ModifyLaunchTemplate(ctx context.Context, in *ec2.ModifyLaunchTemplateInput, optFns ...func(*ec2.Options)) (*ec2.ModifyLaunchTemplateOutput, error)
}

// LaunchTemplateSink makes, in every region of the result, a new version of
// the launch template Template from its $Latest version with only the
// ImageId changed, when $Latest has another image. The template itself is
// the user's (Terraform's): it must exist. SetDefault also makes the new
// version the default; without it the default version is left alone.
type LaunchTemplateSink struct {
	Template   string
	Clients    func(region string) LaunchTemplateEC2
	SetDefault bool
}

func (s *LaunchTemplateSink) Name() string { return "launch template " + s.Template }

// Check validates the template name as EC2 would, without calling it.
func (s *LaunchTemplateSink) Check() error {
	n := s.Template
	ok := len(n) >= 3 && len(n) <= 128 && !strings.Contains(n, "{image}")
	for _, c := range n {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("()./_-", c))
	}
	if !ok {
		return usererr.WithHint(fmt.Errorf("publishing to launch template %q: not a launch template name", n),
			"a name has 3 to 128 letters, digits and ( ) . / _ -; {image} is expanded only in a project's publish block")
	}
	return nil
}

// ltPlan is a launch template version to make in one region.
type ltPlan struct {
	Publication
	source int64 // the $Latest version the new one starts from
	token  string
}

// Stage reads $Latest in every region and decides where a version is due.
func (s *LaunchTemplateSink) Stage(ctx context.Context, r Result) (Staged, error) {
	st := &ltStaged{s: s}
	for _, region := range regionsOf(r) {
		p, err := s.plan(ctx, region, r.AMIs[region], r.Fingerprint)
		if err != nil {
			return nil, err
		}
		st.plans = append(st.plans, p)
	}
	return st, nil
}

// Plan says whether a version with ami would be made in region.
func (s *LaunchTemplateSink) Plan(ctx context.Context, region, ami, fingerprint string) (Publication, error) {
	p, err := s.plan(ctx, region, ami, fingerprint)
	return p.Publication, err
}

func (s *LaunchTemplateSink) plan(ctx context.Context, region, ami, fingerprint string) (ltPlan, error) {
	p := ltPlan{Publication: Publication{Kind: "launch-template", Name: s.Template, Region: region, AMI: ami, Action: Pending}}
	out, err := s.Clients(region).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateName: aws.String(s.Template), Versions: []string{"$Latest"},
	})
	if err != nil {
		err = fmt.Errorf("reading launch template %s in %s: %w", s.Template, region, err)
		if strings.Contains(err.Error(), "NotFound") {
			err = usererr.WithHint(err, "create the launch template first (e.g. with Terraform's aws_launch_template); ami-bakery only adds versions to it")
		}
		return p, err
	}
	if len(out.LaunchTemplateVersions) != 1 {
		return p, fmt.Errorf("reading launch template %s in %s: $Latest gave %d versions", s.Template, region, len(out.LaunchTemplateVersions))
	}
	latest := out.LaunchTemplateVersions[0]
	var image string
	if latest.LaunchTemplateData != nil {
		image = aws.ToString(latest.LaunchTemplateData.ImageId)
	}
	if strings.HasPrefix(image, "resolve:ssm:") {
		return p, usererr.WithHint(
			fmt.Errorf("publishing to launch template %s in %s: its $Latest version reads its image from %s", s.Template, region, image),
			"publish to that parameter with --ssm-parameter instead; a version with a fixed ImageId would stop following it")
	}
	p.source = aws.ToInt64(latest.VersionNumber)
	if ami != "" && image == ami {
		p.Action, p.Version = Unchanged, p.source
		return p, nil
	}
	// The token names what is made: a retry (a lost answer, a rerun after a
	// failure) gets the same version back instead of a second one.
	sum := sha256.Sum256([]byte(strings.Join([]string{fingerprint, region, s.Template, strconv.FormatInt(p.source, 10)}, "\x00")))
	p.token = "ami-bakery-" + hex.EncodeToString(sum[:20])
	return p, nil
}

type ltStaged struct {
	s     *LaunchTemplateSink
	plans []ltPlan
}

func (st *ltStaged) late() bool { return false }
func (st *ltStaged) Abort()     {}

func (st *ltStaged) publications() []Publication {
	out := make([]Publication, len(st.plans))
	for i, p := range st.plans {
		out[i] = p.Publication
	}
	return out
}

func (st *ltStaged) Commit(ctx context.Context) error {
	for i := range st.plans {
		p := &st.plans[i]
		if p.Action != Pending {
			continue
		}
		v, err := st.s.create(ctx, p)
		if err != nil {
			return err
		}
		p.Action, p.Version = Written, v
	}
	return nil
}

// create makes the version p plans, and makes it the default if asked.
func (s *LaunchTemplateSink) create(ctx context.Context, p *ltPlan) (int64, error) {
	c := s.Clients(p.Region)
	out, err := c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{
		LaunchTemplateName: aws.String(s.Template),
		SourceVersion:      aws.String(strconv.FormatInt(p.source, 10)),
		ClientToken:        aws.String(p.token),
		VersionDescription: aws.String("ami-bakery: " + p.AMI),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(p.AMI)},
	})
	if err != nil {
		return 0, fmt.Errorf("creating a version of launch template %s in %s: %w", s.Template, p.Region, err)
	}
	v := aws.ToInt64(out.LaunchTemplateVersion.VersionNumber)
	if !s.SetDefault {
		return v, nil
	}
	_, err = c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{
		LaunchTemplateName: aws.String(s.Template), DefaultVersion: aws.String(strconv.FormatInt(v, 10)),
	})
	if err != nil {
		return v, fmt.Errorf("making version %d the default of launch template %s in %s: %w", v, s.Template, p.Region, err)
	}
	return v, nil
}
