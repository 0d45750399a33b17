package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// cmdEmuPublish serves the emu subcommands about publishing; it reports
// whether it knew the subcommand:
//
//	emu ssm-validation DELAY|never        how long EC2 takes to validate aws:ec2:image
//	emu params REGION [ACCOUNT]                     the script account's parameters:
//	                                      name value version datatype pending=N
//	emu put-param REGION NAME VALUE [text] write a parameter (aws:ec2:image unless text)
//	emu lt-create REGION NAME IMAGE       create a launch template
//	emu lt-versions REGION NAME           its versions: number image [default]
//	emu advance DURATION                  move the emulator's clock
func cmdEmuPublish(ts *testscript.TestScript, emu *awsemu.Emulator, args []string) bool {
	ctx := context.Background()
	switch args[0] {
	case "ssm-validation":
		if args[1] == "never" {
			emu.SetSSMValidation(0, true)
			break
		}
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		emu.SetSSMValidation(d, false)
	case "params":
		account := awsemu.DefaultAccount
		if len(args) > 2 {
			account = args[2]
		}
		out := ts.Stdout() // replaced even when there is nothing to list
		for _, p := range emu.Parameters(account, args[1]) {
			fmt.Fprintf(out, "%s %s %d %s pending=%d\n", p.Name, p.Value, p.Version, p.DataType, p.Pending)
		}
	case "put-param":
		dt := "aws:ec2:image"
		if len(args) > 4 {
			dt = args[4]
		}
		_, err := emuSSM(ts, args[1]).PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(args[2]),
			Value: aws.String(args[3]), Type: ssmtypes.ParameterTypeString, DataType: aws.String(dt), Overwrite: aws.Bool(true)})
		ts.Check(err)
	case "lt-create":
		_, err := emuClient(ts, awsemu.DefaultAccount, args[1]).CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
			LaunchTemplateName: aws.String(args[2]),
			LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: aws.String(args[3]), InstanceType: ec2types.InstanceTypeT3Micro},
		})
		ts.Check(err)
	case "lt-versions":
		out, err := emuClient(ts, awsemu.DefaultAccount, args[1]).DescribeLaunchTemplateVersions(ctx,
			&ec2.DescribeLaunchTemplateVersionsInput{LaunchTemplateName: aws.String(args[2])})
		ts.Check(err)
		for _, v := range out.LaunchTemplateVersions {
			line := fmt.Sprintf("%d %s %s", aws.ToInt64(v.VersionNumber), aws.ToString(v.LaunchTemplateData.ImageId), v.LaunchTemplateData.InstanceType)
			if aws.ToBool(v.DefaultVersion) {
				line += " default"
			}
			fmt.Fprintln(ts.Stdout(), strings.TrimSpace(line))
		}
	case "advance":
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		emu.Advance(d)
	default:
		return false
	}
	return true
}

// emuSSM is an SSM client of the script's emulator as the script's account.
func emuSSM(ts *testscript.TestScript, region string) *ssm.Client {
	return ssm.New(ssm.Options{
		Region:       region,
		BaseEndpoint: aws.String(ts.Getenv("EMU")),
		Credentials:  credentials.NewStaticCredentialsProvider(awsemu.AccessKeyFor(awsemu.DefaultAccount), "x", ""),
		HTTPClient:   awsemu.HTTPClient(),
	})
}
