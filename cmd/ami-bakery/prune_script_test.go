package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// cmdEmuPrune holds the emu subcommands of the prune scripts, in us-east-1
// as the script's account; it reports whether it knew args[0]:
//
//	emu put-ami NAME IMAGE FINGERPRINT|@FILE AGE [key=value...]   an AMI created AGE ago ($PUT_IMAGE)
//	emu run AMI                  launch an instance ($INSTANCE)
//	emu terminate ID             terminate an instance
//	emu lt NAME IMAGE-ID         a launch template (IMAGE-ID may be resolve:ssm:NAME)
//	emu lt-version NAME IMAGE-ID a new version of it, not made the default
//	emu lc NAME AMI              a launch configuration
//	emu asg NAME LT [mixed]      a group launching LT's version 1 (or through a mixed-instances policy)
//	emu ssm NAME VALUE           an SSM parameter
//	emu protect AMI              deregistration protection
//	emu share AMI ACCOUNT|all    a launch permission
//	emu crash-delete AMI [legacy]  what a prune killed mid-delete leaves: snapshots tagged (with the AMI's
//	                             identity tags; legacy: ami-bakery:pruned-from only, as an older prune did), AMI deregistered
//	emu share-snapshot AMI ACCOUNT  a create-volume permission on the AMI's first snapshot
//	emu fail ACTION              fail every ACTION call with UnauthorizedOperation (not retried)
//	emu advance DURATION         move the clock, the emulator's and prune's
//	emu dump FILE                write the state prune may change, to compare
func cmdEmuPrune(ts *testscript.TestScript, emu *awsemu.Emulator, args []string) bool {
	ctx := context.Background()
	cfg := aws.Config{
		Region: "us-east-1", BaseEndpoint: aws.String(ts.Getenv("EMU")), HTTPClient: awsemu.HTTPClient(),
		Credentials: aws.NewCredentialsCache(staticCreds{ts.Getenv("AWS_ACCESS_KEY_ID")}),
		Retryer:     func() aws.Retryer { return aws.NopRetryer{} },
	}
	e, as, sm := ec2.NewFromConfig(cfg), autoscaling.NewFromConfig(cfg), ssm.NewFromConfig(cfg)
	var err error
	switch args[0] {
	case "put-ami":
		age, perr := time.ParseDuration(args[4])
		ts.Check(perr)
		tags := tagArgs(ts, args[5:])
		tags["ami-bakery:image"] = args[2]
		tags["ami_config_checksum"] = tagArgs(ts, []string{"fp=" + args[3]})["fp"] // @FILE: its content
		var id string
		id, err = emu.PutImage(awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Name: args[1], Tags: tags, CreationDate: emu.Now().Add(-age)})
		ts.Setenv("PUT_IMAGE", id)
	case "run":
		var out *ec2.RunInstancesOutput
		out, err = e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(args[1]), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro})
		if err == nil {
			ts.Setenv("INSTANCE", aws.ToString(out.Instances[0].InstanceId))
		}
	case "terminate":
		_, err = e.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: args[1:]})
	case "lt":
		_, err = e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(args[1]),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(args[2])}})
	case "lt-version":
		_, err = e.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String(args[1]),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(args[2])}})
	case "lc":
		_, err = as.CreateLaunchConfiguration(ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String(args[1]),
			ImageId: aws.String(args[2]), InstanceType: aws.String("t3.micro")})
	case "asg":
		in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(args[1]), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
			AvailabilityZones: []string{"us-east-1a"}}
		spec := &astypes.LaunchTemplateSpecification{LaunchTemplateName: aws.String(args[2]), Version: aws.String("1")}
		if len(args) > 3 && args[3] == "mixed" {
			in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{LaunchTemplateSpecification: spec}}
		} else {
			in.LaunchTemplate = spec
		}
		_, err = as.CreateAutoScalingGroup(ctx, in)
	case "ssm":
		_, err = sm.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(args[1]), Value: aws.String(args[2]), Type: "String", Overwrite: aws.Bool(true)})
	case "protect":
		_, err = e.EnableImageDeregistrationProtection(ctx, &ec2.EnableImageDeregistrationProtectionInput{ImageId: aws.String(args[1])})
	case "share":
		perm := types.LaunchPermission{UserId: aws.String(args[2])}
		if args[2] == "all" {
			perm = types.LaunchPermission{Group: types.PermissionGroupAll}
		}
		_, err = e.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(args[1]),
			LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{perm}}})
	case "crash-delete":
		im, ok := emu.Image(args[1])
		if !ok {
			ts.Fatalf("emu crash-delete: no image %s", args[1])
		}
		tags := []types.Tag{{Key: aws.String("ami-bakery:pruned-from"), Value: aws.String(args[1])}}
		for _, k := range []string{"ami-bakery:image", "ami-bakery:project", "ami-bakery:inputs"} {
			if v, ok := im.Tags[k]; ok && (len(args) < 3 || args[2] != "legacy") {
				tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
		}
		_, err = e.CreateTags(ctx, &ec2.CreateTagsInput{Resources: im.SnapshotIDs, Tags: tags})
		ts.Check(err)
		_, err = e.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(args[1])})
	case "share-snapshot":
		im, ok := emu.Image(args[1])
		if !ok || len(im.SnapshotIDs) == 0 {
			ts.Fatalf("emu share-snapshot: no image %s with a snapshot", args[1])
		}
		_, err = e.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(im.SnapshotIDs[0]),
			Attribute:              types.SnapshotAttributeNameCreateVolumePermission,
			CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: []types.CreateVolumePermission{{UserId: aws.String(args[2])}}}})
	case "fail":
		emu.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{args[1]}, Codes: []string{"UnauthorizedOperation"}, Seed: 1})
	case "advance":
		d, perr := time.ParseDuration(args[1])
		ts.Check(perr)
		emu.Advance(d)
		ts.Setenv("AMI_BAKERY_TEST_SKEW", emu.Now().Sub(time.Now()).String())
	case "dump":
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(emuDump(ctx, ts, e)), 0o644))
	default:
		return false
	}
	ts.Check(err)
	return true
}

// The ami-bakery program the scripts run measures time by the emulator's
// clock, moved by emu advance.
func init() {
	if skew, err := time.ParseDuration(os.Getenv("AMI_BAKERY_TEST_SKEW")); err == nil {
		clock = func() time.Time { return time.Now().Add(skew) }
	}
}

// emuDump lists what prune may change: images (state, deprecation, tags,
// snapshots) and snapshots (tags), as the owner sees them.
func emuDump(ctx context.Context, ts *testscript.TestScript, e *ec2.Client) string {
	var b strings.Builder
	imgs, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}, IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true)})
	ts.Check(err)
	for _, im := range imgs.Images {
		fmt.Fprintf(&b, "image %s %s %s deprecation=%s protection=%s tags=%s snapshots=%v\n", aws.ToString(im.ImageId), aws.ToString(im.Name),
			im.State, aws.ToString(im.DeprecationTime), aws.ToString(im.DeregistrationProtection), ec2Tags(im.Tags), len(im.BlockDeviceMappings))
	}
	snaps, err := e.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}})
	ts.Check(err)
	for _, s := range snaps.Snapshots {
		fmt.Fprintf(&b, "snapshot %s tags=%s\n", aws.ToString(s.SnapshotId), ec2Tags(s.Tags))
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n") + "\n"
}

func ec2Tags(tags []types.Tag) string {
	var out []string
	for _, t := range tags {
		out = append(out, aws.ToString(t.Key)+"="+aws.ToString(t.Value))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

type staticCreds struct{ key string }

func (c staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: c.key, SecretAccessKey: "emulator", Source: "script"}, nil
}
