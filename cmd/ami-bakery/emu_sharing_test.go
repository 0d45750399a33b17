package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// cmdEmuSharing serves the emu subcommands about sharing and keys; it
// reports whether it knew the subcommand:
//
//	emu org ACCOUNT ORG_ARN [OU_ARN...]    put ACCOUNT in an organization and OUs
//	emu kms-key REGION [-account A] [-alias A] [-deny ACCOUNT] [-state S] VAR
//	                                       make a KMS key; $VAR is its ARN
//	emu visible ACCOUNT REGION             list, through the API as ACCOUNT, the
//	                                       script account's images it can see
//	emu perms REGION                       the script account's images in REGION:
//	                                       id launch=... snapshots=... key=...
//	emu unshare REGION                     remove the launch permissions of the
//	                                       script account's images in REGION and
//	                                       their snapshots' create-volume ones
func cmdEmuSharing(ts *testscript.TestScript, emu *awsemu.Emulator, args []string) bool {
	switch args[0] {
	case "org":
		ts.Check(emu.SetOrganization(args[1], args[2], args[3:]...))
	case "kms-key":
		emuKMSKey(ts, emu, args[1:])
	case "visible":
		out, err := emuClient(ts, args[1], args[2]).DescribeImages(context.Background(),
			&ec2.DescribeImagesInput{Owners: []string{awsemu.DefaultAccount}})
		ts.Check(err)
		w := ts.Stdout()
		for _, im := range out.Images {
			fmt.Fprintf(w, "%s %s\n", aws.ToString(im.ImageId), aws.ToString(im.Name))
		}
	case "perms":
		w := ts.Stdout()
		snaps := map[string]awsemu.Snapshot{}
		for _, s := range emu.Snapshots(awsemu.DefaultAccount, args[1]) {
			snaps[s.ID] = s
		}
		for _, im := range emu.Images(awsemu.DefaultAccount, args[1]) {
			launch := append(append(append([]string{}, im.SharedWith...), im.Orgs...), im.OUs...)
			if im.Public {
				launch = append(launch, "all")
			}
			var vol []string
			key := "none"
			for _, id := range im.SnapshotIDs {
				vol = append(vol, snaps[id].SharedWith...)
				if snaps[id].KMSKeyID != "" {
					key = snaps[id].KMSKeyID
				}
			}
			fmt.Fprintf(w, "%s launch=%s snapshots=%s key=%s\n", im.ID, strings.Join(launch, ","), strings.Join(vol, ","), key)
		}
	case "unshare":
		c := emuClient(ts, awsemu.DefaultAccount, args[1])
		ctx := context.Background()
		snaps := emu.Snapshots(awsemu.DefaultAccount, args[1])
		for _, im := range emu.Images(awsemu.DefaultAccount, args[1]) {
			_, err := c.ResetImageAttribute(ctx, &ec2.ResetImageAttributeInput{ImageId: aws.String(im.ID), Attribute: types.ResetImageAttributeNameLaunchPermission})
			ts.Check(err)
			for _, s := range snaps {
				if slices.Contains(im.SnapshotIDs, s.ID) && len(s.SharedWith) > 0 {
					_, err := c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(s.ID),
						OperationType: types.OperationTypeRemove, UserIds: s.SharedWith})
					ts.Check(err)
				}
			}
		}
	default:
		return false
	}
	return true
}

func emuKMSKey(ts *testscript.TestScript, emu *awsemu.Emulator, args []string) {
	account, spec := awsemu.DefaultAccount, awsemu.KMSKeySpec{}
	region, rest := args[0], args[1:]
	for len(rest) > 1 && strings.HasPrefix(rest[0], "-") {
		switch rest[0] {
		case "-account":
			account = rest[1]
		case "-alias":
			spec.Alias = rest[1]
		case "-deny":
			spec.Deny = append(spec.Deny, rest[1])
		case "-state":
			spec.State = rest[1]
		default:
			ts.Fatalf("emu kms-key: unknown option %s", rest[0])
		}
		rest = rest[2:]
	}
	if len(rest) != 1 {
		ts.Fatalf("usage: emu kms-key REGION [-account A] [-alias A] [-deny ACCOUNT] [-state S] VAR")
	}
	k, err := emu.PutKMSKey(account, region, spec)
	ts.Check(err)
	ts.Setenv(rest[0], k.ARN)
}

// emuClient is an EC2 client of the script's emulator acting as account.
func emuClient(ts *testscript.TestScript, account, region string) *ec2.Client {
	return emuClientKey(ts, awsemu.AccessKeyFor(account), region)
}

// emuClientKey is an EC2 client of the script's emulator with the access
// key id akid.
func emuClientKey(ts *testscript.TestScript, akid, region string) *ec2.Client {
	return ec2.New(ec2.Options{
		Region:       region,
		BaseEndpoint: aws.String(ts.Getenv("EMU")),
		Credentials:  credentials.NewStaticCredentialsProvider(akid, "x", ""),
		HTTPClient:   awsemu.HTTPClient(),
	})
}
