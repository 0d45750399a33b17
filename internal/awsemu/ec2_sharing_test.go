package awsemu

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

const (
	testOrg = "arn:aws:organizations::111111111111:organization/o-abcdefghij"
	testOU  = "arn:aws:organizations::111111111111:ou/o-abcdefghij/ou-ab12-cdefgh34"
)

func TestLaunchPermissionsForOrganizationsAndOUs(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	if err := emu.SetOrganization(accountB, testOrg); err != nil {
		t.Fatal(err)
	}
	if err := emu.SetOrganization(accountC, testOrg, testOU); err != nil {
		t.Fatal(err)
	}
	id := must(emu.PutImage(accountA, region, ImageSpec{Name: "org-shared"}))(t)
	a, b, c := client(url, accountA, region), client(url, accountB, region), client(url, accountC, region)
	sees := func(cl *ec2.Client) bool {
		_, err := cl.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		return err == nil
	}
	must(a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{OrganizationalUnitArn: aws.String(testOU)}}}}))(t)
	if !sees(c) || sees(b) {
		t.Fatal("shared with an OU: its member C sees it, B (same org, other OU) does not")
	}
	must(a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
		OperationType: types.OperationTypeAdd, OrganizationArns: []string{testOrg}}))(t)
	if !sees(b) {
		t.Fatal("shared with the organization: B sees it")
	}
	attr := must(a.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(id), Attribute: types.ImageAttributeNameLaunchPermission}))(t)
	var got []string
	for _, p := range attr.LaunchPermissions {
		got = append(got, aws.ToString(p.OrganizationArn)+aws.ToString(p.OrganizationalUnitArn))
	}
	if !slices.Equal(got, []string{testOrg, testOU}) {
		t.Fatalf("launch permissions: %v", got)
	}
	_, err := a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(id),
		OperationType: types.OperationTypeAdd, OrganizationArns: []string{"o-bad"}})
	wantCode(t, err, "InvalidAMIAttributeItemValue")
}

func TestSnapshotCreateVolumePermissions(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	a := client(url, accountA, region)
	id := must(emu.PutImage(accountA, region, ImageSpec{Name: "plain"}))(t)
	im, _ := emu.Image(id)
	snap := im.SnapshotIDs[0]
	must(a.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(snap),
		Attribute: types.SnapshotAttributeNameCreateVolumePermission, OperationType: types.OperationTypeAdd, UserIds: []string{accountB}}))(t)
	out := must(a.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: aws.String(snap),
		Attribute: types.SnapshotAttributeNameCreateVolumePermission}))(t)
	if len(out.CreateVolumePermissions) != 1 || aws.ToString(out.CreateVolumePermissions[0].UserId) != accountB {
		t.Fatalf("create-volume permissions: %+v", out.CreateVolumePermissions)
	}
	_, err := client(url, accountB, region).DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: aws.String(snap),
		Attribute: types.SnapshotAttributeNameCreateVolumePermission})
	wantCode(t, err, "InvalidSnapshot.NotFound")

	enc := must(emu.PutImage(accountA, region, ImageSpec{Name: "default-key", KMSKey: DefaultKeyAlias}))(t)
	im, _ = emu.Image(enc)
	_, err = a.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(im.SnapshotIDs[0]),
		CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: []types.CreateVolumePermission{{UserId: aws.String(accountB)}}}})
	wantCode(t, err, "OperationNotPermitted")
}

func TestCopyImageWithKMSKeys(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	good := must(emu.PutKMSKey(accountA, otherRegion, KMSKeySpec{Alias: "alias/amis"}))(t)
	denied := must(emu.PutKMSKey(accountA, otherRegion, KMSKeySpec{Deny: []string{accountA}}))(t)
	dying := must(emu.PutKMSKey(accountA, otherRegion, KMSKeySpec{State: "PendingDeletion"}))(t)
	src := must(emu.PutImage(accountA, region, ImageSpec{Name: "src", KMSKey: DefaultKeyAlias}))(t)
	dst := client(url, accountA, otherRegion)
	copyWith := func(name, key string) (string, error) {
		in := &ec2.CopyImageInput{Name: aws.String(name), SourceImageId: aws.String(src), SourceRegion: aws.String(region), Encrypted: aws.Bool(true)}
		if key != "" {
			in.KmsKeyId = aws.String(key)
		}
		out, err := dst.CopyImage(ctx, in)
		if err != nil {
			return "", err
		}
		return aws.ToString(out.ImageId), nil
	}
	state := func(id string) (string, string) {
		im := must(dst.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}}))(t).Images[0]
		reason := ""
		if im.StateReason != nil {
			reason = aws.ToString(im.StateReason.Code)
		}
		return string(im.State), reason
	}
	for _, tc := range []struct{ name, key, state, reason, snapKey string }{
		{"by-alias", "alias/amis", "available", "", good.ARN},
		{"by-arn", good.ARN, "available", "", good.ARN},
		{"by-id", good.ID, "available", "", good.ARN},
		{"default", "", "available", "", emu.DefaultKMSKey(accountA, otherRegion).ARN},
		{"denied", denied.ARN, "failed", "Client.InternalError", denied.ARN},
		{"missing", "alias/nope", "failed", "Client.InternalError", "alias/nope"},
		{"dying", dying.ID, "failed", "Client.InvalidKMSKey.InvalidState", dying.ARN},
		{"other-region", "arn:aws:kms:" + region + ":" + accountA + ":alias/amis", "failed", "Client.InternalError", "arn:aws:kms:" + region + ":" + accountA + ":alias/amis"},
	} {
		id, err := copyWith(tc.name, tc.key)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if st, why := state(id); st != tc.state || why != tc.reason {
			t.Errorf("%s: state %s (%s), want %s (%s)", tc.name, st, why, tc.state, tc.reason)
		}
		im, _ := emu.Image(id)
		if snaps := emu.Snapshots(accountA, otherRegion); !slices.ContainsFunc(snaps, func(s Snapshot) bool {
			return slices.Contains(im.SnapshotIDs, s.ID) && s.KMSKeyID == tc.snapKey && s.Encrypted
		}) {
			t.Errorf("%s: no snapshot encrypted with %s", tc.name, tc.snapKey)
		}
	}
	_, err := copyWith("malformed", "not a key")
	wantCode(t, err, "InvalidParameterValue")
	_, err = dst.CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String("no-flag"), SourceImageId: aws.String(src), SourceRegion: aws.String(region), KmsKeyId: aws.String(good.ARN)})
	wantCode(t, err, "InvalidParameterDependency")
}
