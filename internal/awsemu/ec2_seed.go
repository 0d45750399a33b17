package awsemu

import (
	"slices"
	"time"
)

// Names of the public images every region is seeded with, owned by
// AmazonAccount. Their ids are stable: SeedImageID.
const (
	SeedDebian      = "debian-12-amd64-20260101"
	SeedDebianOlder = "debian-12-amd64-20251201"
	SeedDebianArm   = "debian-12-arm64-20260101"
	SeedUbuntu      = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20260101"
	SeedAmazonLinux = "amzn2-ami-hvm-2.0.20260101-x86_64-gp2"
)

type seedImage struct {
	name, description, arch, rootDevice string
	created                             time.Time
}

var seedImages = []seedImage{
	{SeedDebian, "Debian 12 (20260101)", "x86_64", "/dev/xvda", time.Date(2026, 1, 1, 4, 5, 6, 0, time.UTC)},
	{SeedDebianOlder, "Debian 12 (20251201)", "x86_64", "/dev/xvda", time.Date(2025, 12, 1, 4, 5, 6, 0, time.UTC)},
	{SeedDebianArm, "Debian 12 (20260101)", "arm64", "/dev/xvda", time.Date(2026, 1, 1, 4, 5, 7, 0, time.UTC)},
	{SeedUbuntu, "Canonical, Ubuntu, 22.04 LTS, amd64 jammy image build on 2026-01-01", "x86_64", "/dev/sda1", time.Date(2026, 1, 1, 9, 10, 11, 0, time.UTC)},
	{SeedAmazonLinux, "Amazon Linux 2 AMI 2.0.20260101 x86_64 HVM gp2", "x86_64", "/dev/xvda", time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)},
}

// SeedImageNames lists the names of the seeded public images.
func SeedImageNames() []string {
	var out []string
	for _, s := range seedImages {
		out = append(out, s.name)
	}
	return out
}

// SeedImageID returns the id of the seeded public image name in region, or ""
// if name is not a seeded image or region is not a known region.
func SeedImageID(region, name string) string {
	if !knownRegion(region) || !slices.ContainsFunc(seedImages, func(s seedImage) bool { return s.name == name }) {
		return ""
	}
	return hashID("ami", "seed", region, name)
}

const seedVolumeSize = 8

func seedRegion(rs *regionState) {
	for _, s := range seedImages {
		snap := &snapshot{
			id:          hashID("snap", "seed", rs.name, s.name),
			owner:       AmazonAccount,
			volumeID:    "vol-ffffffff",
			size:        seedVolumeSize,
			description: "Root snapshot of " + s.name,
			state:       "completed",
			started:     s.created,
		}
		rs.snapshots[snap.id] = snap
		im := &image{
			id:             SeedImageID(rs.name, s.name),
			name:           s.name,
			description:    s.description,
			owner:          AmazonAccount,
			state:          "available",
			public:         true,
			arch:           s.arch,
			virtType:       "hvm",
			rootDeviceType: "ebs",
			rootDevice:     s.rootDevice,
			enaSupport:     true,
			sriov:          "simple",
			created:        s.created,
			bdms: []bdm{{
				device: s.rootDevice,
				ebs:    &ebsSpec{snapshotID: snap.id, size: seedVolumeSize, volumeType: "gp3", deleteOnTermination: true},
			}},
		}
		rs.images[im.id] = im
	}
}
