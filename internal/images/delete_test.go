package images

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// Delete takes the AMI and its snapshots away; an AMI already gone is no
// error; a pending one is waited for; a snapshot EC2 keeps is named.
func TestDelete(t *testing.T) {
	ctx := context.Background()
	srv := awsemu.NewTestServer(t)
	const owner, region = "111111111111", "us-east-1"
	c := srv.EC2(owner, region)
	w := Waiter{Poll: 10 * time.Millisecond, Timeout: 10 * time.Second}
	put := func(spec awsemu.ImageSpec) string {
		t.Helper()
		id, err := srv.PutImage(owner, region, spec)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	keep := put(awsemu.ImageSpec{Name: "keep"})
	snapshots := func() int { return len(srv.Snapshots(owner, region)) }

	id := put(awsemu.ImageSpec{Name: "made"})
	if gone, err := Delete(ctx, c, id, w); err != nil || !gone {
		t.Fatalf("Delete = %v, %v", gone, err)
	}
	if _, ok := srv.Image(id); ok {
		t.Error("the AMI is still there")
	}
	if _, ok := srv.Image(keep); !ok || snapshots() != 1 {
		t.Errorf("Delete took more than the AMI and its snapshot: %d snapshots left", snapshots())
	}

	// Gone already (packer deleted it): nothing to do.
	if gone, err := Delete(ctx, c, id, w); err != nil || gone {
		t.Errorf("Delete of a deleted AMI = %v, %v; want false, nil", gone, err)
	}

	// Pending: waited for, then deleted.
	pending := put(awsemu.ImageSpec{Name: "pending", State: "pending"})
	go func() {
		time.Sleep(50 * time.Millisecond)
		_ = srv.SetImageState(pending, "available")
	}()
	if gone, err := Delete(ctx, c, pending, w); err != nil || !gone {
		t.Fatalf("Delete of a pending AMI = %v, %v", gone, err)
	}
	if snapshots() != 1 {
		t.Errorf("%d snapshots left, want 1", snapshots())
	}

	// A snapshot EC2 refuses to delete (another AMI uses it): named in
	// the error.
	shared := put(awsemu.ImageSpec{Name: "shared"})
	im, err := Describe(ctx, c, shared)
	if err != nil {
		t.Fatal(err)
	}
	snap := im.Devices[0].SnapshotID
	if _, err := c.RegisterImage(ctx, &ec2.RegisterImageInput{Name: aws.String("also"), RootDeviceName: aws.String(im.Devices[0].Name),
		Architecture: types.ArchitectureValuesX8664, VirtualizationType: aws.String("hvm"),
		BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String(im.Devices[0].Name), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(snap)}}}}); err != nil {
		t.Fatal(err)
	}
	gone, err := Delete(ctx, c, shared, w)
	if !gone || err == nil || !strings.Contains(err.Error(), "not all of its snapshots were deleted: "+snap+" (") {
		t.Errorf("Delete with a kept snapshot = %v, %v", gone, err)
	}

	// Another account's AMI: EC2 refuses, and so does Delete.
	foreign, err := srv.PutImage("999999999999", region, awsemu.ImageSpec{Name: "theirs", SharedWith: []string{owner}})
	if err != nil {
		t.Fatal(err)
	}
	if gone, err := Delete(ctx, c, foreign, w); err == nil || gone {
		t.Errorf("Delete of another account's AMI = %v, %v", gone, err)
	}
	if _, ok := srv.Image(foreign); !ok {
		t.Error("another account's AMI was deleted")
	}
}
