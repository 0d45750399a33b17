package awsemu

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// TestSDKRoundTrip walks every supported action through the real SDK client,
// in the order a build uses them, and checks that what the SDK parses is what
// the emulator holds.
func TestSDKRoundTrip(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	c := client(url, accountA, region)

	regions := must(c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{}))(t)
	if len(regions.Regions) != len(KnownRegions) || aws.ToString(regions.Regions[0].Endpoint) == "" {
		t.Fatalf("DescribeRegions: %+v", regions.Regions)
	}
	azs := must(c.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{}))(t)
	if len(azs.AvailabilityZones) != 3 || aws.ToString(azs.AvailabilityZones[0].ZoneName) != "us-east-1a" ||
		aws.ToString(azs.AvailabilityZones[0].ZoneId) != "use1-az1" {
		t.Fatalf("DescribeAvailabilityZones: %+v", azs.AvailabilityZones[0])
	}
	attrs := must(c.DescribeAccountAttributes(ctx, &ec2.DescribeAccountAttributesInput{
		AttributeNames: []types.AccountAttributeName{types.AccountAttributeNameDefaultVpc},
	}))(t)
	if got := aws.ToString(attrs.AccountAttributes[0].AttributeValues[0].AttributeValue); got != DefaultVPCID(accountA, region) {
		t.Fatalf("default-vpc attribute = %s", got)
	}
	vpcs := must(c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: []types.Filter{sdkFilter("is-default", "true")}}))(t)
	if len(vpcs.Vpcs) != 1 || aws.ToString(vpcs.Vpcs[0].VpcId) != DefaultVPCID(accountA, region) || !aws.ToBool(vpcs.Vpcs[0].IsDefault) {
		t.Fatalf("DescribeVpcs: %+v", vpcs.Vpcs)
	}
	subnets := must(c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{
		Filters: []types.Filter{sdkFilter("availability-zone", "us-east-1a"), sdkFilter("vpc-id", DefaultVPCID(accountA, region))},
	}))(t)
	if len(subnets.Subnets) != 1 || aws.ToString(subnets.Subnets[0].SubnetId) != DefaultSubnetID(accountA, region) {
		t.Fatalf("DescribeSubnets: %+v", subnets.Subnets)
	}

	// Key pairs.
	kp := must(c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{
		KeyName:           aws.String("build-lock"),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeKeyPair, "Lock", "held")},
	}))(t)
	if !strings.HasPrefix(aws.ToString(kp.KeyMaterial), "-----BEGIN RSA PRIVATE KEY-----") ||
		!strings.HasPrefix(aws.ToString(kp.KeyPairId), "key-") || tagsOf(kp.Tags)["Lock"] != "held" {
		t.Fatalf("CreateKeyPair: %+v", kp)
	}
	_, pub, _ := newKeyMaterial("ed25519")
	imp := must(c.ImportKeyPair(ctx, &ec2.ImportKeyPairInput{KeyName: aws.String("imported"), PublicKeyMaterial: []byte(pub)}))(t)
	if aws.ToString(imp.KeyFingerprint) == "" {
		t.Fatalf("ImportKeyPair: %+v", imp)
	}
	kps := must(c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: []types.Filter{sdkFilter("tag:Lock", "held")}}))(t)
	if len(kps.KeyPairs) != 1 || aws.ToString(kps.KeyPairs[0].KeyPairId) != aws.ToString(kp.KeyPairId) || kps.KeyPairs[0].CreateTime == nil {
		t.Fatalf("DescribeKeyPairs by tag: %+v", kps.KeyPairs)
	}
	must(c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: imp.KeyPairId}))(t)

	// Security group.
	sg := must(c.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("packer_sg"), Description: aws.String("temporary"),
		TagSpecifications: []types.TagSpecification{tagSpec(types.ResourceTypeSecurityGroup, "Owner", "bakery")},
	}))(t)
	auth := must(c.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: sg.GroupId,
		IpPermissions: []types.IpPermission{{
			IpProtocol: aws.String("tcp"), FromPort: aws.Int32(22), ToPort: aws.Int32(22),
			IpRanges: []types.IpRange{{CidrIp: aws.String("0.0.0.0/0")}},
		}},
	}))(t)
	if !aws.ToBool(auth.Return) || len(auth.SecurityGroupRules) != 1 {
		t.Fatalf("AuthorizeSecurityGroupIngress: %+v", auth)
	}
	sgs := must(c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{aws.ToString(sg.GroupId)}}))(t)
	if g := sgs.SecurityGroups[0]; aws.ToString(g.GroupName) != "packer_sg" || len(g.IpPermissions) != 1 ||
		aws.ToInt32(g.IpPermissions[0].FromPort) != 22 || len(g.IpPermissionsEgress) != 1 || tagsOf(g.Tags)["Owner"] != "bakery" {
		t.Fatalf("DescribeSecurityGroups: %+v", g)
	}

	// Instance.
	src := SeedImageID(region, SeedDebian)
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(src), InstanceType: types.InstanceTypeT3Micro, MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		KeyName: aws.String("build-lock"), SecurityGroupIds: []string{aws.ToString(sg.GroupId)},
		TagSpecifications: []types.TagSpecification{
			tagSpec(types.ResourceTypeInstance, "Name", "Packer Builder"),
			tagSpec(types.ResourceTypeVolume, "Name", "root"),
		},
	}))(t)
	in := run.Instances[0]
	id := aws.ToString(in.InstanceId)
	if in.State.Name != types.InstanceStateNamePending || aws.ToString(in.SubnetId) != DefaultSubnetID(accountA, region) ||
		len(in.BlockDeviceMappings) != 1 || tagsOf(in.Tags)["Name"] != "Packer Builder" {
		t.Fatalf("RunInstances: %+v", in)
	}
	desc := must(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{
		Filters: []types.Filter{sdkFilter("instance-state-name", "running"), sdkFilter("tag:Name", "Packer*")},
	}))(t)
	if len(desc.Reservations) != 1 || aws.ToString(desc.Reservations[0].Instances[0].InstanceId) != id {
		t.Fatalf("DescribeInstances: %+v", desc.Reservations)
	}
	status := must(c.DescribeInstanceStatus(ctx, &ec2.DescribeInstanceStatusInput{InstanceIds: []string{id}}))(t)
	if len(status.InstanceStatuses) != 1 || status.InstanceStatuses[0].InstanceStatus.Status != types.SummaryStatusOk {
		t.Fatalf("DescribeInstanceStatus: %+v", status.InstanceStatuses)
	}
	vols := must(c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: []types.Filter{sdkFilter("attachment.instance-id", id)}}))(t)
	if len(vols.Volumes) != 1 || vols.Volumes[0].State != types.VolumeStateInUse || tagsOf(vols.Volumes[0].Tags)["Name"] != "root" {
		t.Fatalf("DescribeVolumes: %+v", vols.Volumes)
	}
	stop := must(c.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}}))(t)
	if stop.StoppingInstances[0].CurrentState.Name != types.InstanceStateNameStopping ||
		stop.StoppingInstances[0].PreviousState.Name != types.InstanceStateNameRunning {
		t.Fatalf("StopInstances: %+v", stop.StoppingInstances[0])
	}
	must(c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), EnaSupport: &types.AttributeBooleanValue{Value: aws.Bool(true)},
	}))(t)
	must(c.ModifyInstanceAttribute(ctx, &ec2.ModifyInstanceAttributeInput{
		InstanceId: aws.String(id), InstanceType: &types.AttributeValue{Value: aws.String("t3.small")},
	}))(t)
	start := must(c.StartInstances(ctx, &ec2.StartInstancesInput{InstanceIds: []string{id}}))(t)
	if start.StartingInstances[0].CurrentState.Name != types.InstanceStateNamePending {
		t.Fatalf("StartInstances: %+v", start.StartingInstances[0])
	}

	// Image.
	img := must(c.CreateImage(ctx, &ec2.CreateImageInput{
		InstanceId: aws.String(id), Name: aws.String("bakery-debian-1"), Description: aws.String("baked"),
		TagSpecifications: []types.TagSpecification{
			tagSpec(types.ResourceTypeImage, "Fingerprint", "f1"),
			tagSpec(types.ResourceTypeSnapshot, "Fingerprint", "f1"),
		},
	}))(t)
	amiID := aws.ToString(img.ImageId)
	ims := must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{amiID}}))(t)
	im := ims.Images[0]
	if im.State != types.ImageStateAvailable || aws.ToString(im.OwnerId) != accountA || aws.ToBool(im.Public) ||
		im.Architecture != types.ArchitectureValuesX8664 || im.RootDeviceType != types.DeviceTypeEbs ||
		im.VirtualizationType != types.VirtualizationTypeHvm || tagsOf(im.Tags)["Fingerprint"] != "f1" ||
		len(im.BlockDeviceMappings) != 1 || aws.ToString(im.Description) != "baked" || aws.ToString(im.SourceInstanceId) != id {
		t.Fatalf("DescribeImages: %+v", im)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", aws.ToString(im.CreationDate)); err != nil {
		t.Fatalf("CreationDate %q: %v", aws.ToString(im.CreationDate), err)
	}
	snapID := aws.ToString(im.BlockDeviceMappings[0].Ebs.SnapshotId)
	snaps := must(c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{OwnerIds: []string{"self"}, Filters: []types.Filter{sdkFilter("tag:Fingerprint", "f1")}}))(t)
	if len(snaps.Snapshots) != 1 || aws.ToString(snaps.Snapshots[0].SnapshotId) != snapID || snaps.Snapshots[0].State != types.SnapshotStateCompleted {
		t.Fatalf("DescribeSnapshots: %+v", snaps.Snapshots)
	}
	must(c.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(snapID),
		OperationType: types.OperationTypeAdd, UserIds: []string{accountB}}))(t)
	if perms := must(c.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{SnapshotId: aws.String(snapID),
		Attribute: types.SnapshotAttributeNameCreateVolumePermission}))(t); len(perms.CreateVolumePermissions) != 1 {
		t.Fatalf("DescribeSnapshotAttribute: %+v", perms.CreateVolumePermissions)
	}
	must(c.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(amiID),
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{UserId: aws.String(accountB)}}},
	}))(t)
	lp := must(c.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: aws.String(amiID), Attribute: types.ImageAttributeNameLaunchPermission}))(t)
	if len(lp.LaunchPermissions) != 1 || aws.ToString(lp.LaunchPermissions[0].UserId) != accountB {
		t.Fatalf("DescribeImageAttribute: %+v", lp.LaunchPermissions)
	}
	must(c.ResetImageAttribute(ctx, &ec2.ResetImageAttributeInput{ImageId: aws.String(amiID), Attribute: types.ResetImageAttributeNameLaunchPermission}))(t)
	if got, _ := emu.Image(amiID); len(got.SharedWith) != 0 {
		t.Fatalf("after ResetImageAttribute shared with %v", got)
	}
	reg := must(c.RegisterImage(ctx, &ec2.RegisterImageInput{
		Name: aws.String("registered"), RootDeviceName: aws.String("/dev/xvda"), Architecture: types.ArchitectureValuesX8664,
		VirtualizationType: aws.String("hvm"), EnaSupport: aws.Bool(true),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(snapID)}}},
	}))(t)
	cp := must(client(url, accountA, otherRegion).CopyImage(ctx, &ec2.CopyImageInput{
		Name: aws.String("bakery-debian-1"), SourceImageId: aws.String(amiID), SourceRegion: aws.String(region), CopyImageTags: aws.Bool(true),
	}))(t)
	if got := emu.Images(accountA, otherRegion); len(got) != 1 || got[0].ID != aws.ToString(cp.ImageId) || got[0].Tags["Fingerprint"] != "f1" {
		t.Fatalf("CopyImage: %+v", got)
	}

	// Tags.
	must(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{amiID, snapID}, Tags: []types.Tag{{Key: aws.String("Extra"), Value: aws.String("x")}}}))(t)
	tags := must(c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []types.Filter{sdkFilter("resource-id", amiID)}}))(t)
	if len(tags.Tags) != 2 || tags.Tags[0].ResourceType != types.ResourceTypeImage {
		t.Fatalf("DescribeTags: %+v", tags.Tags)
	}
	must(c.DeleteTags(ctx, &ec2.DeleteTagsInput{Resources: []string{amiID}, Tags: []types.Tag{{Key: aws.String("Extra")}}}))(t)
	if got, _ := emu.Image(amiID); len(got.Tags) != 1 {
		t.Fatalf("after DeleteTags: %v", got)
	}

	// Clean up, in the order packer does.
	_, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snapID)})
	wantCode(t, err, "InvalidSnapshot.InUse")
	// Retire it as prune does: deprecate, disable, protect, then undo.
	must(c.EnableImageDeprecation(ctx, &ec2.EnableImageDeprecationInput{ImageId: img.ImageId, DeprecateAt: aws.Time(time.Now())}))(t)
	must(c.DisableImageDeprecation(ctx, &ec2.DisableImageDeprecationInput{ImageId: img.ImageId}))(t)
	must(c.DisableImage(ctx, &ec2.DisableImageInput{ImageId: img.ImageId}))(t)
	must(c.EnableImage(ctx, &ec2.EnableImageInput{ImageId: img.ImageId}))(t)
	must(c.EnableImageDeregistrationProtection(ctx, &ec2.EnableImageDeregistrationProtectionInput{ImageId: img.ImageId}))(t)
	must(c.DisableImageDeregistrationProtection(ctx, &ec2.DisableImageDeregistrationProtectionInput{ImageId: img.ImageId}))(t)
	must(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: img.ImageId}))(t)
	must(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: reg.ImageId}))(t)
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{amiID}})
	wantCode(t, err, "InvalidAMIID.NotFound")
	must(c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snapID)}))(t)
	_, err = c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId})
	wantCode(t, err, "DependencyViolation")
	term := must(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}}))(t)
	if term.TerminatingInstances[0].CurrentState.Name != types.InstanceStateNameShuttingDown {
		t.Fatalf("TerminateInstances: %+v", term.TerminatingInstances[0])
	}
	if got := emu.NonTerminatedInstances(); len(got) != 0 {
		t.Fatalf("left running: %+v", got)
	}
	gone := must(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}))(t)
	if gone.Reservations[0].Instances[0].State.Name != types.InstanceStateNameTerminated {
		t.Fatalf("terminated instance not visible as terminated: %+v", gone.Reservations[0].Instances[0].State)
	}
	must(c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: sg.GroupId}))(t)
	must(c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("build-lock")}))(t)
	if got := emu.Volumes(accountA, region); len(got) != 0 {
		t.Fatalf("delete-on-termination volumes left: %+v", got)
	}
	if len(emu.KeyPairs(accountA, region)) != 0 || len(emu.SecurityGroups(accountA, region)) != 0 {
		t.Fatal("key pair or security group left")
	}

	// A launch template pointing at the seeded image, walked through its
	// versions (ec2_launchtemplates_test.go covers them in depth).
	lt := must(c.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String("app"),
		LaunchTemplateData: requestData(SeedImageID(region, SeedUbuntu))}))(t).LaunchTemplate
	must(c.CreateLaunchTemplateVersion(ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateId: lt.LaunchTemplateId,
		SourceVersion: aws.String("$Latest"), LaunchTemplateData: requestData(SeedImageID(region, SeedDebian))}))(t)
	must(c.ModifyLaunchTemplate(ctx, &ec2.ModifyLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId, DefaultVersion: aws.String("2")}))(t)
	must(c.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{}))(t)
	must(c.DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{Versions: []string{"$Default"}}))(t)
	must(c.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId}))(t)

	// Every action was exercised.
	var missing []string
	for _, a := range Actions() {
		if emu.CallCount(a) == 0 && a != "DeleteVolume" {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		t.Errorf("actions not exercised: %v", missing)
	}
}

func TestDeleteVolume(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	c := client(url, accountA, region)
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(SeedImageID(region, SeedUbuntu)), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/sdf"),
			Ebs: &types.EbsBlockDevice{VolumeSize: aws.Int32(20), DeleteOnTermination: aws.Bool(false)}}},
	}))(t)
	vols := emu.Volumes(accountA, region)
	if len(vols) != 2 {
		t.Fatalf("volumes: %+v", vols)
	}
	keep := vols[slices.IndexFunc(vols, func(v Volume) bool { return !v.DeleteOnTermination })]
	_, err := c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(keep.ID)})
	wantCode(t, err, "VolumeInUse")
	must(c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{aws.ToString(run.Instances[0].InstanceId)}}))(t)
	left := emu.Volumes(accountA, region)
	if len(left) != 1 || left[0].ID != keep.ID || left[0].State != "available" {
		t.Fatalf("after terminate: %+v", left)
	}
	must(c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(keep.ID)}))(t)
	_, err = c.DeleteVolume(ctx, &ec2.DeleteVolumeInput{VolumeId: aws.String(keep.ID)})
	wantCode(t, err, "InvalidVolume.NotFound")
}
