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
	smithy "github.com/aws/smithy-go"
)

// This file reads and writes who may use an AMI besides its owner: its
// launch permissions and its snapshots' create-volume permissions. EC2
// copies neither with CopyImage, so a copy is given its source's.

// Device is one EBS block device of an image.
type Device struct {
	Name, SnapshotID string
	Encrypted        bool
}

func devicesFromSDK(bdms []types.BlockDeviceMapping) []Device {
	var out []Device
	for _, b := range bdms {
		if b.Ebs == nil || aws.ToString(b.Ebs.SnapshotId) == "" {
			continue
		}
		out = append(out, Device{Name: aws.ToString(b.DeviceName), SnapshotID: aws.ToString(b.Ebs.SnapshotId), Encrypted: aws.ToBool(b.Ebs.Encrypted)})
	}
	return out
}

// Encrypted reports whether any of the image's EBS devices is encrypted.
func (im Image) Encrypted() bool {
	return slices.ContainsFunc(im.Devices, func(d Device) bool { return d.Encrypted })
}

func reason(im Image) string {
	if im.StateReason == "" {
		return ""
	}
	return " (" + im.StateReason + ")"
}

// Permissions say who besides the owner may use a resource: everyone
// (Public), accounts, and, for images only, organizations and
// organizational units by ARN. Lists are sorted.
type Permissions struct {
	Public   bool
	Accounts []string
	Orgs     []string
	OUs      []string
}

// Empty reports whether nobody besides the owner may use the resource.
func (p Permissions) Empty() bool {
	return !p.Public && len(p.Accounts)+len(p.Orgs)+len(p.OUs) == 0
}

// Missing returns what p grants that have does not.
func (p Permissions) Missing(have Permissions) Permissions {
	lack := func(want, got []string) []string {
		var out []string
		for _, x := range want {
			if !slices.Contains(got, x) {
				out = append(out, x)
			}
		}
		return out
	}
	return Permissions{
		Public:   p.Public && !have.Public,
		Accounts: lack(p.Accounts, have.Accounts),
		Orgs:     lack(p.Orgs, have.Orgs),
		OUs:      lack(p.OUs, have.OUs),
	}
}

// String says it for people: "private", or "public, 2 accounts, 1 org, 1 OU".
func (p Permissions) String() string {
	var parts []string
	if p.Public {
		parts = append(parts, "public")
	}
	count := func(n int, one, many string) {
		switch {
		case n == 1:
			parts = append(parts, "1 "+one)
		case n > 1:
			parts = append(parts, fmt.Sprintf("%d %s", n, many))
		}
	}
	count(len(p.Accounts), "account", "accounts")
	count(len(p.Orgs), "org", "orgs")
	count(len(p.OUs), "OU", "OUs")
	if len(parts) == 0 {
		return "private"
	}
	return strings.Join(parts, ", ")
}

func (p *Permissions) sort() {
	slices.Sort(p.Accounts)
	slices.Sort(p.Orgs)
	slices.Sort(p.OUs)
}

// Sharing is who may use an AMI: its launch permissions, and the
// create-volume permissions of its snapshots by device name.
type Sharing struct {
	Launch  Permissions
	Volumes map[string]Permissions
}

// Empty reports whether the AMI and its snapshots are private.
func (s Sharing) Empty() bool {
	for _, v := range s.Volumes {
		if !v.Empty() {
			return false
		}
	}
	return s.Launch.Empty()
}

// WithoutPublic returns s with every public permission removed.
func (s Sharing) WithoutPublic() Sharing {
	out := Sharing{Launch: s.Launch, Volumes: map[string]Permissions{}}
	out.Launch.Public = false
	for d, v := range s.Volumes {
		v.Public = false
		out.Volumes[d] = v
	}
	return out
}

// Public reports whether s makes the AMI or a snapshot public.
func (s Sharing) Public() bool {
	return s.Launch.Public || slices.ContainsFunc(mapValues(s.Volumes), func(p Permissions) bool { return p.Public })
}

func mapValues(m map[string]Permissions) []Permissions {
	out := make([]Permissions, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// ReadSharing reads the launch permissions of im and the create-volume
// permissions of each of its snapshots. Only the owner may.
func ReadSharing(ctx context.Context, client EC2, im Image) (Sharing, error) {
	out, err := client.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{
		ImageId: aws.String(im.ID), Attribute: types.ImageAttributeNameLaunchPermission,
	})
	if err != nil {
		return Sharing{}, fmt.Errorf("reading the launch permissions of %s: %w", im.ID, err)
	}
	s := Sharing{Volumes: map[string]Permissions{}}
	for _, lp := range out.LaunchPermissions {
		switch {
		case lp.Group == types.PermissionGroupAll:
			s.Launch.Public = true
		case lp.UserId != nil:
			s.Launch.Accounts = append(s.Launch.Accounts, *lp.UserId)
		case lp.OrganizationArn != nil:
			s.Launch.Orgs = append(s.Launch.Orgs, *lp.OrganizationArn)
		case lp.OrganizationalUnitArn != nil:
			s.Launch.OUs = append(s.Launch.OUs, *lp.OrganizationalUnitArn)
		}
	}
	s.Launch.sort()
	for _, d := range im.Devices {
		out, err := client.DescribeSnapshotAttribute(ctx, &ec2.DescribeSnapshotAttributeInput{
			SnapshotId: aws.String(d.SnapshotID), Attribute: types.SnapshotAttributeNameCreateVolumePermission,
		})
		if err != nil {
			return Sharing{}, fmt.Errorf("reading the create-volume permissions of %s (%s of %s): %w", d.SnapshotID, d.Name, im.ID, err)
		}
		var p Permissions
		for _, cv := range out.CreateVolumePermissions {
			if cv.Group == types.PermissionGroupAll {
				p.Public = true
			} else if cv.UserId != nil {
				p.Accounts = append(p.Accounts, *cv.UserId)
			}
		}
		p.sort()
		s.Volumes[d.Name] = p
	}
	return s, nil
}

// Grant gives im every permission in want that it lacks (it never takes one
// away) and returns what it added; a rerun adds nothing. Snapshot
// permissions apply to the snapshot of the device of the same name.
func Grant(ctx context.Context, client EC2, im Image, want Sharing) (Sharing, error) {
	have, err := ReadSharing(ctx, client, im)
	if err != nil {
		return Sharing{}, err
	}
	added := Sharing{Launch: want.Launch.Missing(have.Launch), Volumes: map[string]Permissions{}}
	if !added.Launch.Empty() {
		if _, err := client.ModifyImageAttribute(ctx, &ec2.ModifyImageAttributeInput{
			ImageId: aws.String(im.ID), Attribute: aws.String("launchPermission"),
			LaunchPermission: &types.LaunchPermissionModifications{Add: launchPermissions(added.Launch)},
		}); err != nil {
			return Sharing{}, fmt.Errorf("sharing %s with %s: %w", im.ID, added.Launch, err)
		}
	}
	for _, d := range im.Devices {
		lack := want.Volumes[d.Name].Missing(have.Volumes[d.Name])
		if lack.Empty() {
			continue
		}
		var add []types.CreateVolumePermission
		if lack.Public {
			add = append(add, types.CreateVolumePermission{Group: types.PermissionGroupAll})
		}
		for _, a := range lack.Accounts {
			add = append(add, types.CreateVolumePermission{UserId: aws.String(a)})
		}
		if _, err := client.ModifySnapshotAttribute(ctx, &ec2.ModifySnapshotAttributeInput{
			SnapshotId: aws.String(d.SnapshotID), Attribute: types.SnapshotAttributeNameCreateVolumePermission,
			CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: add},
		}); err != nil {
			return Sharing{}, fmt.Errorf("sharing snapshot %s (%s of %s) with %s: %w", d.SnapshotID, d.Name, im.ID, lack, err)
		}
		added.Volumes[d.Name] = lack
	}
	return added, nil
}

func launchPermissions(p Permissions) []types.LaunchPermission {
	var out []types.LaunchPermission
	if p.Public {
		out = append(out, types.LaunchPermission{Group: types.PermissionGroupAll})
	}
	for _, a := range p.Accounts {
		out = append(out, types.LaunchPermission{UserId: aws.String(a)})
	}
	for _, o := range p.Orgs {
		out = append(out, types.LaunchPermission{OrganizationArn: aws.String(o)})
	}
	for _, o := range p.OUs {
		out = append(out, types.LaunchPermission{OrganizationalUnitArn: aws.String(o)})
	}
	return out
}

// Discard deregisters a failed copy and deletes its snapshots, so that its
// name is free for the next copy.
func Discard(ctx context.Context, client EC2, id string) error {
	if _, err := client.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id), DeleteAssociatedSnapshots: aws.Bool(true)}); err != nil {
		return fmt.Errorf("deregistering the failed copy %s: %w", id, err)
	}
	return nil
}

// IsNotFound reports whether err is EC2's InvalidAMIID.NotFound.
func IsNotFound(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && ae.ErrorCode() == "InvalidAMIID.NotFound"
}
