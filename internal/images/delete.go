package images

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Delete deregisters the AMI id and deletes its snapshots: for an AMI that
// ami-bakery had packer make only to throw it away (a template test run by
// a packer without skip_create_ami). The caller names the AMI: Delete never
// looks for what to delete.
//
// An AMI EC2 does not know is taken as deleted already (packer deletes the
// AMI it made when it is interrupted), and gone is false. A pending AMI is
// waited for, as w says, since its snapshots cannot be deleted before they
// are complete; a failed one is deleted as it is. Every snapshot that EC2
// does not report deleted is an error that names it.
func Delete(ctx context.Context, client EC2, id string, w Waiter) (gone bool, err error) {
	desc, err := client.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deleting %s: describing it: %w", id, err)
	}
	if len(desc.Images) == 0 || desc.Images[0].State == types.ImageStateDeregistered {
		return false, nil
	}
	im := fromSDK(desc.Images[0])
	if im.State == string(types.ImageStatePending) {
		if _, err := w.WaitAvailable(ctx, client, id); err != nil && !errors.Is(err, ErrNotAvailable) {
			return false, fmt.Errorf("deleting %s: %w", id, err)
		}
	}
	out, err := client.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id), DeleteAssociatedSnapshots: aws.Bool(true)})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("deregistering %s: %w", id, err)
	}
	deleted := map[string]bool{}
	var failed []string
	for _, r := range out.DeleteSnapshotResults {
		if r.ReturnCode == types.SnapshotReturnCodesSuccess {
			deleted[aws.ToString(r.SnapshotId)] = true
		} else {
			failed = append(failed, fmt.Sprintf("%s (%s)", aws.ToString(r.SnapshotId), r.ReturnCode))
		}
	}
	for _, d := range im.Devices {
		if !deleted[d.SnapshotID] && !slices.ContainsFunc(out.DeleteSnapshotResults, func(r types.DeleteSnapshotReturnCode) bool {
			return aws.ToString(r.SnapshotId) == d.SnapshotID
		}) {
			failed = append(failed, d.SnapshotID+" (not reported deleted)")
		}
	}
	if len(failed) > 0 {
		return true, fmt.Errorf("deregistered %s, but not all of its snapshots were deleted: %s", id, strings.Join(failed, ", "))
	}
	return true, nil
}
