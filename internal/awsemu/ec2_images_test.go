package awsemu

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// putImages gives accountA a small catalogue to filter.
func putImages(t *testing.T, emu *Emulator) map[string]string {
	t.Helper()
	ids := map[string]string{}
	for _, s := range []struct {
		name string
		spec ImageSpec
	}{
		{"bake-web-1", ImageSpec{Tags: map[string]string{"Fingerprint": "aaa", "Role": "web", "Glob": "axb"}, Description: "web server"}},
		{"bake-web-2", ImageSpec{Tags: map[string]string{"Fingerprint": "bbb", "Role": "web"}, State: "pending"}},
		{"bake-db-1", ImageSpec{Tags: map[string]string{"Fingerprint": "ccc"}, Architecture: "arm64"}},
		{"bake-db-public", ImageSpec{Public: true, Tags: map[string]string{"Glob": "a*b"}}},
	} {
		s.spec.Name = s.name
		ids[s.name] = must(emu.PutImage(accountA, region, s.spec))(t)
	}
	return ids
}

func TestDescribeImagesOwnersAndFilters(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	ids := putImages(t, emu)
	c := client(url, accountA, region)
	seeds := SeedImageNames()
	slices.Sort(seeds)
	own := []string{"bake-db-1", "bake-db-public", "bake-web-1", "bake-web-2"}

	tests := []struct {
		name string
		in   ec2.DescribeImagesInput
		want []string
	}{
		{"self", ec2.DescribeImagesInput{Owners: []string{"self"}}, own},
		{"account id", ec2.DescribeImagesInput{Owners: []string{accountA}}, own},
		{"amazon alias", ec2.DescribeImagesInput{Owners: []string{"amazon"}}, seeds},
		{"amazon id", ec2.DescribeImagesInput{Owners: []string{AmazonAccount}}, seeds},
		{"no owner sees own and public", ec2.DescribeImagesInput{}, append(slices.Clone(own), seeds...)},
		{"image ids", ec2.DescribeImagesInput{ImageIds: []string{ids["bake-web-1"], SeedImageID(region, SeedUbuntu)}}, []string{"bake-web-1", SeedUbuntu}},
		{"name star", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("name", "bake-web-*")}}, []string{"bake-web-1", "bake-web-2"}},
		{"name question mark", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("name", "bake-???-1")}}, []string{"bake-web-1"}},
		{"tag wildcard matches a star", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:Glob", "a*b")}}, []string{"bake-db-public", "bake-web-1"}},
		{"escaped star is literal", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:Glob", `a\*b`)}}, []string{"bake-db-public"}},
		{"name values are ORed", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("name", "bake-db-1", "bake-web-1")}}, []string{"bake-db-1", "bake-web-1"}},
		{"filters are ANDed", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("name", "bake-*"), sdkFilter("tag:Role", "web"), sdkFilter("state", "available")}}, []string{"bake-web-1"}},
		{"tag", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:Fingerprint", "bbb")}}, []string{"bake-web-2"}},
		{"tag wildcard", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:Fingerprint", "?b*")}}, []string{"bake-web-2"}},
		{"tag-key", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag-key", "Role")}}, []string{"bake-web-1", "bake-web-2"}},
		{"tag-value", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag-value", "ccc", "web")}}, []string{"bake-db-1", "bake-web-1", "bake-web-2"}},
		{"tag-key and tag:K together", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag-key", "Glob"), sdkFilter("tag:Role", "web")}}, []string{"bake-web-1"}},
		{"state", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("state", "pending")}}, []string{"bake-web-2"}},
		{"image-id", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("image-id", ids["bake-db-1"])}}, []string{"bake-db-1"}},
		{"owner-id", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("owner-id", AmazonAccount)}}, seeds},
		{"owner-alias", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("owner-alias", "amazon"), sdkFilter("name", "ubuntu/*")}}, []string{SeedUbuntu}},
		{"is-public", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("is-public", "true")}}, []string{"bake-db-public"}},
		{"architecture", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("architecture", "arm64")}}, []string{"bake-db-1", SeedDebianArm}},
		{"root-device-type", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("root-device-type", "ebs")}}, own},
		{"virtualization-type", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("virtualization-type", "paravirtual")}}, nil},
		{"image-type", ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("image-type", "machine")}}, own},
		{"description", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("description", "web*")}}, []string{"bake-web-1"}},
		{"snapshot id", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("block-device-mapping.snapshot-id", emu.Images(accountA, region)[0].SnapshotIDs[0])}}, []string{emu.Images(accountA, region)[0].Name}},
		{"executable by self", ec2.DescribeImagesInput{ExecutableUsers: []string{"self"}}, own},
		{"executable by all", ec2.DescribeImagesInput{ExecutableUsers: []string{"all"}, Owners: []string{"self"}}, []string{"bake-db-public"}},
		{"no match is empty, not an error", ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("name", "nothing-*")}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := must(c.DescribeImages(ctx, &tt.in))(t)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if got := imageNames(out.Images); !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestDescribeErrorsNeverMatchAll(t *testing.T) {
	ctx := context.Background()
	_, url := serve(t, Options{})
	c := client(url, accountA, region)
	bad := []types.Filter{sdkFilter("no-such-filter", "x")}
	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"DescribeImages unknown filter", func() error {
			_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeImages tag: with no key", func() error {
			_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:", "x")}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeImages filter without values", func() error {
			_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{{Name: aws.String("name")}}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeImages unknown id", func() error {
			_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-0123456789abcdef0"}})
			return err
		}, "InvalidAMIID.NotFound"},
		{"DescribeImages malformed id", func() error {
			_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{"ami-nothex"}})
			return err
		}, "InvalidAMIID.Malformed"},
		{"DescribeImages bad owner", func() error {
			_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"somebody"}})
			return err
		}, "InvalidParameterValue"},
		{"DescribeInstances unknown filter", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeKeyPairs unknown filter", func() error {
			_, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeSecurityGroups unknown filter", func() error {
			_, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeSnapshots unknown filter", func() error {
			_, err := c.DescribeSnapshots(ctx, &ec2.DescribeSnapshotsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeVolumes unknown filter", func() error {
			_, err := c.DescribeVolumes(ctx, &ec2.DescribeVolumesInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeSubnets unknown filter", func() error {
			_, err := c.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeVpcs unknown filter", func() error {
			_, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeRegions unknown filter", func() error {
			_, err := c.DescribeRegions(ctx, &ec2.DescribeRegionsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeTags unknown filter", func() error {
			_, err := c.DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: bad})
			return err
		}, "InvalidParameterValue"},
		{"DescribeKeyPairs unknown name", func() error {
			_, err := c.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{KeyNames: []string{"nope"}})
			return err
		}, "InvalidKeyPair.NotFound"},
		{"DescribeSecurityGroups unknown id", func() error {
			_, err := c.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{"sg-0123456789abcdef0"}})
			return err
		}, "InvalidGroup.NotFound"},
		{"DescribeInstances unknown id", func() error {
			_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}, "InvalidInstanceID.NotFound"},
		{"unsupported action", func() error {
			_, err := c.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
			return err
		}, "InvalidAction"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.code) })
	}
}

func TestDescribeImagesPagination(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	var want []string
	for i := range 23 {
		id := must(emu.PutImage(accountA, region, ImageSpec{Name: fmt.Sprintf("page-%02d", i)}))(t)
		want = append(want, id)
	}
	slices.Sort(want)
	c := client(url, accountA, region)

	in := &ec2.DescribeImagesInput{Owners: []string{"self"}, MaxResults: aws.Int32(5)}
	pages := ec2.NewDescribeImagesPaginator(c, in)
	var got []string
	n := 0
	for pages.HasMorePages() {
		page := must(pages.NextPage(ctx))(t)
		if len(page.Images) > 5 {
			t.Fatalf("page of %d images, MaxResults 5", len(page.Images))
		}
		for _, im := range page.Images {
			got = append(got, aws.ToString(im.ImageId))
		}
		n++
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paginated ids differ:\n got %v\nwant %v", got, want)
	}
	if n != 5 {
		t.Errorf("%d pages, want 5", n)
	}

	for _, bad := range []int32{4, 1001} {
		_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{MaxResults: aws.Int32(bad)})
		wantCode(t, err, "InvalidParameterValue")
	}
	_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{MaxResults: aws.Int32(5), ImageIds: want[:1]})
	wantCode(t, err, "InvalidParameterCombination")
	_, err = c.DescribeImages(ctx, &ec2.DescribeImagesInput{MaxResults: aws.Int32(5), NextToken: aws.String("garbage")})
	wantCode(t, err, "InvalidPaginationToken")
}

// TestCrossAccountVisibility: own, public and shared images are visible;
// tags belong to the account that wrote them.
func TestCrossAccountVisibility(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	a, b, cc := client(url, accountA, region), client(url, accountB, region), client(url, accountC, region)
	private := must(emu.PutImage(accountA, region, ImageSpec{Name: "private", Tags: map[string]string{"Owner": "a"}}))(t)

	visible := func(c *ec2.Client, id string) bool {
		t.Helper()
		_, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
		if err != nil && apiCode(err) != "InvalidAMIID.NotFound" {
			t.Fatal(err)
		}
		return err == nil
	}
	if !visible(a, private) || visible(b, private) {
		t.Fatal("a private image must be visible to its owner only")
	}

	// Share with B: both request styles.
	must(a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId: aws.String(private), Attribute: aws.String("launchPermission"),
		OperationType: types.OperationTypeAdd, UserIds: []string{accountB},
	}))(t)
	if !visible(b, private) || visible(cc, private) {
		t.Fatal("shared with B: B sees it, C does not")
	}
	shared := must(b.DescribeImages(ctx, &ec2.DescribeImagesInput{ExecutableUsers: []string{"self"}}))(t)
	if got := imageNames(shared.Images); !slices.Equal(got, []string{"private"}) {
		t.Fatalf("B executable-by self: %v", got)
	}
	// B sees the image but not A's tags.
	im := must(b.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{private}}))(t).Images[0]
	if len(im.Tags) != 0 {
		t.Fatalf("B sees A's tags: %v", im.Tags)
	}
	must(a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(private),
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{Group: types.PermissionGroupAll}}},
	}))(t)
	if !visible(cc, private) {
		t.Fatal("public: C must see it")
	}
	must(a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId: aws.String(private),
		LaunchPermission: &types.LaunchPermissionModifications{Remove: []types.LaunchPermission{
			{Group: types.PermissionGroupAll}, {UserId: aws.String(accountB)},
		}},
	}))(t)
	if visible(b, private) || visible(cc, private) {
		t.Fatal("after removing permissions only A sees it")
	}
	// aws-sdk-go v1 clients (packer 1.6.6 with ami_users) send both forms
	// and no OperationType.
	must(a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
		ImageId:          aws.String(private),
		LaunchPermission: &types.LaunchPermissionModifications{Add: []types.LaunchPermission{{UserId: aws.String(accountC)}}},
		UserIds:          []string{accountC},
	}))(t)
	if !visible(cc, private) || visible(b, private) {
		t.Fatal("shared with C alone: C sees it, B does not")
	}
	_, err := a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(private), UserIds: []string{accountB}})
	wantCode(t, err, "InvalidParameterValue") // flat form without OperationType
	_, err = b.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(SeedImageID(region, SeedDebian)),
		Description: &types.AttributeValue{Value: aws.String("mine now")}})
	wantCode(t, err, "AuthFailure")
	_, err = a.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{ImageId: aws.String(private), OperationType: types.OperationTypeAdd, UserIds: []string{"bob"}})
	wantCode(t, err, "InvalidAMIAttributeItemValue")

	// B tags a public Amazon image; only B sees (and filters by) the tag.
	debian := SeedImageID(region, SeedDebian)
	must(b.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{debian}, Tags: []types.Tag{{Key: aws.String("Approved"), Value: aws.String("yes")}}}))(t)
	for _, tc := range []struct {
		name string
		c    *ec2.Client
		want []string
	}{{"B", b, []string{SeedDebian}}, {"A", a, nil}, {"C", cc, nil}} {
		out := must(tc.c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:Approved", "yes")}}))(t)
		if got := imageNames(out.Images); !slices.Equal(got, tc.want) {
			t.Errorf("%s filtering by B's tag: got %v, want %v", tc.name, got, tc.want)
		}
	}
	bView := must(b.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{debian}}))(t).Images[0]
	aView := must(a.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{debian}}))(t).Images[0]
	if tagsOf(bView.Tags)["Approved"] != "yes" || len(aView.Tags) != 0 {
		t.Fatalf("tags: B sees %v, A sees %v", bView.Tags, aView.Tags)
	}
	// A's instances and key pairs are invisible to B.
	must(a.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}))(t)
	if out := must(b.DescribeKeyPairs(ctx, &ec2.DescribeKeyPairsInput{}))(t); len(out.KeyPairs) != 0 {
		t.Fatalf("B sees A's key pairs: %+v", out.KeyPairs)
	}
	must(b.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("k")}))(t) // names are per account
}

func TestUniqueNamesAndValidation(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	c := client(url, accountA, region)
	taken := must(emu.PutImage(accountA, region, ImageSpec{Name: "taken"}))(t)
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(SeedImageID(region, SeedDebian)), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}))(t)
	inst := run.Instances[0].InstanceId
	snap := emu.Images(accountA, region)[0].SnapshotIDs[0]

	tests := []struct {
		name string
		call func() error
		code string
	}{
		{"CreateImage duplicate", func() error {
			_, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst, Name: aws.String("taken")})
			return err
		}, "InvalidAMIName.Duplicate"},
		{"CreateImage too short", func() error {
			_, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst, Name: aws.String("ab")})
			return err
		}, "InvalidAMIName.Malformed"},
		{"CreateImage bad characters", func() error {
			_, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst, Name: aws.String("a:b*c")})
			return err
		}, "InvalidAMIName.Malformed"},
		{"CopyImage duplicate", func() error {
			_, err := c.CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String("taken"), SourceImageId: aws.String(taken), SourceRegion: aws.String(region)})
			return err
		}, "InvalidAMIName.Duplicate"},
		{"RegisterImage duplicate", func() error {
			_, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("taken"), RootDeviceName: aws.String("/dev/xvda"),
				BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(snap)}}}})
			return err
		}, "InvalidAMIName.Duplicate"},
		{"CreateKeyPair duplicate", func() error {
			if _, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lock")}); err != nil {
				return err
			}
			_, err := c.CreateKeyPair(ctx, &ec2.CreateKeyPairInput{KeyName: aws.String("lock")})
			return err
		}, "InvalidKeyPair.Duplicate"},
		{"CreateSecurityGroup duplicate", func() error {
			in := &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")}
			if _, err := c.CreateSecurityGroup(ctx, in); err != nil {
				return err
			}
			_, err := c.CreateSecurityGroup(ctx, in)
			return err
		}, "InvalidGroup.Duplicate"},
		{"DeleteSecurityGroup missing", func() error {
			_, err := c.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-0123456789abcdef0")})
			return err
		}, "InvalidGroup.NotFound"},
		{"DeleteKeyPair missing id", func() error {
			_, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyPairId: aws.String("key-0123456789abcdef0")})
			return err
		}, "InvalidKeyPair.NotFound"},
		{"DeleteKeyPair missing name succeeds as in EC2", func() error {
			_, err := c.DeleteKeyPair(ctx, &ec2.DeleteKeyPairInput{KeyName: aws.String("never-created")})
			return err
		}, ""},
		{"RunInstances unknown key pair", func() error {
			_, err := c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(taken), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), KeyName: aws.String("nope")})
			return err
		}, "InvalidKeyPair.NotFound"},
		{"TerminateInstances unknown", func() error {
			_, err := c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{"i-0123456789abcdef0"}})
			return err
		}, "InvalidInstanceID.NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, tt.code)
		})
	}
}

func TestCopyImageIdempotencyAndTags(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	src := must(emu.PutImage(accountA, region, ImageSpec{Name: "src", Tags: map[string]string{"Fingerprint": "fp1", "Name": "src"}}))(t)
	dst := client(url, accountA, otherRegion)
	in := &ec2.CopyImageInput{Name: aws.String("copy"), SourceImageId: aws.String(src), SourceRegion: aws.String(region),
		ClientToken: aws.String("token-1"), CopyImageTags: aws.Bool(true)}

	first := must(dst.CopyImage(ctx, in))(t)
	again := must(dst.CopyImage(ctx, in))(t)
	if aws.ToString(first.ImageId) != aws.ToString(again.ImageId) {
		t.Fatalf("same ClientToken gave %s then %s", aws.ToString(first.ImageId), aws.ToString(again.ImageId))
	}
	for _, c := range emu.Calls() {
		if c.Action == "CopyImage" && c.ClientToken != "token-1" {
			t.Errorf("the call log has CopyImage's ClientToken as %q, want token-1", c.ClientToken)
		}
	}
	copies := emu.Images(accountA, otherRegion)
	if len(copies) != 1 {
		t.Fatalf("%d copies, want 1", len(copies))
	}
	if got := copies[0]; got.Tags["Fingerprint"] != "fp1" || got.SourceImageID != src || got.SourceRegion != region {
		t.Fatalf("copy: %+v", got)
	}
	im := must(dst.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{copies[0].ID}}))(t).Images[0]
	if aws.ToString(im.SourceImageId) != src || aws.ToString(im.SourceImageRegion) != region || len(im.BlockDeviceMappings) != 1 {
		t.Fatalf("copy as described: %+v", im)
	}

	in.Name = aws.String("other-name")
	_, err := dst.CopyImage(ctx, in)
	wantCode(t, err, "IdempotentParameterMismatch")

	plain := must(dst.CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String("untagged"), SourceImageId: aws.String(src), SourceRegion: aws.String(region)}))(t)
	if got, _ := emu.Image(aws.ToString(plain.ImageId)); len(got.Tags) != 0 {
		t.Fatalf("CopyImageTags unset but tags copied: %v", got.Tags)
	}

	// B cannot copy A's private image, but can copy a public one.
	b := client(url, accountB, otherRegion)
	_, err = b.CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String("stolen"), SourceImageId: aws.String(src), SourceRegion: aws.String(region)})
	wantCode(t, err, "InvalidAMIID.NotFound")
	must(b.CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String("debian"), SourceImageId: aws.String(SeedImageID(region, SeedDebian)), SourceRegion: aws.String(region)}))(t)
}

func TestPendingBecomesAvailable(t *testing.T) {
	ctx := context.Background()
	const delay = 150 * time.Millisecond
	emu, url := serve(t, Options{PendingDelay: delay})
	c := client(url, accountA, region)
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(SeedImageID(region, SeedAmazonLinux)), MinCount: aws.Int32(1), MaxCount: aws.Int32(1)}))(t)
	id := aws.ToString(run.Instances[0].InstanceId)
	state := func() types.InstanceStateName {
		out := must(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}))(t)
		return out.Reservations[0].Instances[0].State.Name
	}
	if got := state(); got != types.InstanceStateNamePending {
		t.Fatalf("right after RunInstances: %s", got)
	}
	_, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("too-early")})
	wantCode(t, err, "IncorrectInstanceState")
	time.Sleep(delay)
	if got := state(); got != types.InstanceStateNameRunning {
		t.Fatalf("after the delay: %s", got)
	}

	img := must(c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: aws.String(id), Name: aws.String("pending-image")}))(t)
	imState := func() types.ImageState {
		return must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{aws.ToString(img.ImageId)}}))(t).Images[0].State
	}
	if got := imState(); got != types.ImageStatePending {
		t.Fatalf("right after CreateImage: %s", got)
	}
	if snaps := emu.Snapshots(accountA, region); len(snaps) != 1 || snaps[0].State != "pending" {
		t.Fatalf("snapshot right after CreateImage: %+v", snaps)
	}
	// CopyImage of a pending image is refused.
	_, err = client(url, accountA, otherRegion).CopyImage(ctx, &ec2.CopyImageInput{Name: aws.String("x-copy"), SourceImageId: img.ImageId, SourceRegion: aws.String(region)})
	wantCode(t, err, "IncorrectState")
	time.Sleep(delay)
	if got := imState(); got != types.ImageStateAvailable {
		t.Fatalf("after the delay: %s", got)
	}

	// SetImageState pins a state until set again.
	if err := emu.SetImageState(aws.ToString(img.ImageId), "failed"); err != nil {
		t.Fatal(err)
	}
	if got := imState(); got != types.ImageStateFailed {
		t.Fatalf("after SetImageState failed: %s", got)
	}
	if err := emu.SetImageState("ami-0123456789abcdef0", "available"); err == nil {
		t.Fatal("SetImageState of an unknown image succeeded")
	}
}

func TestTagVisibilityDelay(t *testing.T) {
	ctx := context.Background()
	const delay = 150 * time.Millisecond
	emu, url := serve(t, Options{TagVisibilityDelay: delay})
	id := must(emu.PutImage(accountA, region, ImageSpec{Name: "img", Tags: map[string]string{"Stage": "old"}}))(t)
	c := client(url, accountA, region)
	must(c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: []types.Tag{
		{Key: aws.String("Fingerprint"), Value: aws.String("f")}, {Key: aws.String("Stage"), Value: aws.String("new")},
	}}))(t)
	find := func() []types.Image {
		return must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{Filters: []types.Filter{sdkFilter("tag:Fingerprint", "f")}}))(t).Images
	}
	if got := find(); len(got) != 0 {
		t.Fatalf("tag visible before the delay: %+v", got)
	}
	im := must(c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}}))(t).Images[0]
	if tags := tagsOf(im.Tags); tags["Stage"] != "old" || tags["Fingerprint"] != "" {
		t.Fatalf("before the delay: %v", tags)
	}
	if got, _ := emu.Image(id); got.Tags["Fingerprint"] != "f" {
		t.Fatalf("state inspection must show the written tag: %v", got.Tags)
	}
	time.Sleep(delay)
	if got := find(); len(got) != 1 || tagsOf(got[0].Tags)["Stage"] != "new" {
		t.Fatalf("after the delay: %+v", got)
	}
}

func TestDeregisterKeepsSnapshots(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	c := client(url, accountA, region)
	id := must(emu.PutImage(accountA, region, ImageSpec{Name: "old"}))(t)
	snap := emu.Images(accountA, region)[0].SnapshotIDs[0]
	_, err := c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)})
	wantCode(t, err, "InvalidSnapshot.InUse")
	_, err = c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(SeedImageID(region, SeedDebian))})
	wantCode(t, err, "AuthFailure")
	must(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)}))(t)
	if len(emu.Images(accountA, region)) != 0 || len(emu.Snapshots(accountA, region)) != 1 {
		t.Fatal("deregistering must remove the image and keep its snapshot")
	}
	must(c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)}))(t)
	_, err = c.DeleteSnapshot(ctx, &ec2.DeleteSnapshotInput{SnapshotId: aws.String(snap)})
	wantCode(t, err, "InvalidSnapshot.NotFound")

	// DeleteAssociatedSnapshots removes them with the image.
	id = must(emu.PutImage(accountA, region, ImageSpec{Name: "old2"}))(t)
	out := must(c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id), DeleteAssociatedSnapshots: aws.Bool(true)}))(t)
	if len(out.DeleteSnapshotResults) != 1 || len(emu.Snapshots(accountA, region)) != 0 {
		t.Fatalf("DeleteAssociatedSnapshots: %+v", out.DeleteSnapshotResults)
	}
}

// The IgnoreOwners test hook makes DescribeImages return images of owners
// that were not asked for, as a broken or hostile endpoint might.
func TestIgnoreOwnersHook(t *testing.T) {
	ctx := context.Background()
	emu, url := serve(t, Options{})
	if _, err := emu.PutImage(accountB, region, ImageSpec{Name: "foreign", Public: true}); err != nil {
		t.Fatal(err)
	}
	c := client(url, accountA, region)
	in := &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: []types.Filter{sdkFilter("name", "foreign")}}
	out, err := c.DescribeImages(ctx, in)
	if err != nil || len(out.Images) != 0 {
		t.Fatalf("without the hook: %v, %v; want no images", out, err)
	}
	emu.SetFaults(Faults{IgnoreOwners: true})
	out, err = c.DescribeImages(ctx, in)
	if err != nil || len(out.Images) != 1 || aws.ToString(out.Images[0].OwnerId) != accountB {
		t.Fatalf("with the hook: %v, %v; want the foreign image", out, err)
	}
}
