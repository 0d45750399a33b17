package options

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Publish names where a bake publishes its AMI besides the files: an SSM
// parameter and a launch template, in every region of the image.
type Publish struct {
	SSMParameter      string
	LaunchTemplate    string
	SetDefaultVersion bool
	Timeout           time.Duration
}

// AddFlags registers the publishing flags.
func (p *Publish) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.SSMParameter, "ssm-parameter", "", "after the bake, write the AMI id to this SSM parameter (data type aws:ec2:image) in every region, when it differs")
	fs.StringVar(&p.LaunchTemplate, "launch-template", "", "after the bake, add a version of this launch template with the AMI as its image, in every region, when $Latest has another")
	fs.BoolVar(&p.SetDefaultVersion, "set-default-version", false, "make the new launch template version the default one")
	AddPublishTimeout(fs, &p.Timeout)
	BindEnv(fs, "ssm-parameter", "AMI_BAKERY_SSM_PARAMETER")
	BindEnv(fs, "launch-template", "AMI_BAKERY_LAUNCH_TEMPLATE")
	BindEnv(fs, "set-default-version", "AMI_BAKERY_SET_DEFAULT_VERSION")
}

// AddPublishTimeout registers --publish-timeout (AMI_BAKERY_PUBLISH_TIMEOUT):
// how long a new SSM parameter version may take to be validated.
func AddPublishTimeout(fs *pflag.FlagSet, d *time.Duration) {
	fs.DurationVar(d, "publish-timeout", report.DefaultPublishTimeout, "how long to wait for EC2 to validate a new SSM parameter version")
	BindEnv(fs, "publish-timeout", "AMI_BAKERY_PUBLISH_TIMEOUT")
}

// Validate checks the publishing flags.
func (p *Publish) Validate() error {
	if p.Timeout < 0 {
		return flagErr("publish-timeout", usererr.Usagef("invalid --publish-timeout %s: it must be positive", p.Timeout))
	}
	if p.SSMParameter != "" {
		if err := report.CheckParameterName(p.SSMParameter); err != nil {
			return flagErr("ssm-parameter", usererr.Usage(err))
		}
	}
	if p.SetDefaultVersion && p.LaunchTemplate == "" {
		return flagErr("set-default-version", usererr.WithHint(usererr.Usagef("--set-default-version without --launch-template"),
			"name the launch template with --launch-template"))
	}
	return nil
}
