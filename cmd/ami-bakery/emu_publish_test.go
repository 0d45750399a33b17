package main

import (
	"context"
	"fmt"
	"strconv"
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
//	emu history REGION NAME               its versions: number value labels description
//	emu fail-nth ACTION N [CODE]          the Nth call of ACTION from now fails, only it
//	emu values REGION [PREFIX]            the parameters' names and values
//	emu no-faults                         no more injected faults
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
	case "fail-nth":
		// emu fail-nth ACTION N [CODE]: the Nth call of ACTION from now
		// fails (AccessDeniedException by default: not retried), and no other.
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		code := "AccessDeniedException"
		if len(args) > 3 {
			code = args[3]
		}
		emu.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{args[1]}, Codes: []string{code}, Skip: n - 1, Times: 1})
	case "values":
		out := ts.Stdout()
		for _, p := range emu.Parameters(awsemu.DefaultAccount, args[1]) {
			if len(args) < 3 || strings.HasPrefix(p.Name, args[2]) {
				fmt.Fprintf(out, "%s %s\n", p.Name, p.Value)
			}
		}
	case "history":
		out := ts.Stdout()
		h, err := emuSSM(ts, args[1]).GetParameterHistory(ctx, &ssm.GetParameterHistoryInput{Name: aws.String(args[2]), MaxResults: aws.Int32(50)})
		ts.Check(err)
		for _, v := range h.Parameters {
			fmt.Fprintf(out, "%d %s [%s] %s\n", v.Version, aws.ToString(v.Value), strings.Join(v.Labels, ","), aws.ToString(v.Description))
		}
	case "no-faults":
		emu.SetFaults(awsemu.Faults{})
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
