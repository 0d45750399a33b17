package awsemu

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// The types below are copies of the emulator's state for tests to inspect.
// Tags are the owner's, including tags written by CreateTags that are not
// yet visible through the API (Options.TagVisibilityDelay).

// Image is a copy of an AMI's state.
type Image struct {
	ID, Name, Description       string
	Account, Region             string
	State                       string
	Public                      bool
	SharedWith                  []string
	Orgs, OUs                   []string // launch permissions for organizations and OUs
	Tags                        map[string]string
	CreationDate                time.Time
	Architecture                string
	SnapshotIDs                 []string
	SourceImageID, SourceRegion string
	SourceInstanceID            string
	// DeprecationTime is when the image is (or was) deprecated; zero when
	// it is not.
	DeprecationTime time.Time
}

// Instance is a copy of an instance's state.
type Instance struct {
	ID, Account, Region, ImageID, InstanceType, State string
	KeyName, SubnetID, VpcID, AvailabilityZone        string
	SecurityGroupIDs                                  []string
	VolumeIDs                                         []string
	Tags                                              map[string]string
	LaunchTime                                        time.Time
}

// KeyPair is a copy of a key pair's state.
type KeyPair struct {
	ID, Name, Account, Region, Fingerprint, KeyType string
	Tags                                            map[string]string
	CreateTime                                      time.Time
}

// SecurityGroup is a copy of a security group's state.
type SecurityGroup struct {
	ID, Name, Description, Account, Region, VpcID string
	IngressRules                                  int
	Tags                                          map[string]string
}

// Snapshot is a copy of a snapshot's state.
type Snapshot struct {
	ID, Account, Region, VolumeID, State, Description string
	SizeGiB                                           int
	Encrypted                                         bool
	KMSKeyID                                          string   // the key's ARN, for copies
	Public                                            bool     // create-volume permission for all
	SharedWith                                        []string // create-volume permissions

	Tags map[string]string
}

// Volume is a copy of a volume's state.
type Volume struct {
	ID, Account, Region, SnapshotID, State, InstanceID string
	SizeGiB                                            int
	DeleteOnTermination                                bool
	Tags                                               map[string]string
}

// inspect runs f on region's state (settled to now) under the lock; it does
// nothing for an unknown region.
func (e *Emulator) inspect(region string, f func(rs *regionState)) {
	if !knownRegion(region) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	f(e.regionLocked(region, e.nowLocked()))
}

func (im *image) export(region string) Image {
	return Image{
		ID: im.id, Name: im.name, Description: im.description, Account: im.owner, Region: region,
		State: im.state, Public: im.public, SharedWith: im.sharedAccounts(), Tags: im.tags.latest(im.owner),
		Orgs: slices.Sorted(maps.Keys(im.orgs)), OUs: slices.Sorted(maps.Keys(im.ous)),
		CreationDate: im.created, Architecture: im.arch, SnapshotIDs: im.snapshotIDs(),
		SourceImageID: im.sourceImageID, SourceRegion: im.sourceRegion, SourceInstanceID: im.sourceInstanceID,
		DeprecationTime: im.deprecateAt,
	}
}

func byID[T any](xs []T, id func(T) string) []T {
	slices.SortFunc(xs, func(a, b T) int { return strings.Compare(id(a), id(b)) })
	return xs
}

// Images returns the images account owns in region, sorted by id.
func (e *Emulator) Images(account, region string) []Image {
	return exportOwned(e, account, region, func(rs *regionState) map[string]*image { return rs.images },
		func(i Image) string { return i.ID })
}

// Image returns the image with id, in whatever region and account holds it.
func (e *Emulator) Image(id string) (Image, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range KnownRegions {
		rs := e.regionLocked(name, e.nowLocked())
		if im, ok := rs.images[id]; ok {
			return im.export(name), true
		}
	}
	return Image{}, false
}

func (in *instance) export(region string) Instance {
	x := Instance{
		ID: in.id, Account: in.owner, Region: region, ImageID: in.imageID, InstanceType: in.instanceType,
		State: in.state, KeyName: in.keyName, SubnetID: in.subnetID, VpcID: in.vpcID, AvailabilityZone: in.az,
		SecurityGroupIDs: in.groupIDs(), Tags: in.tags.latest(in.owner), LaunchTime: in.launched,
	}
	for _, a := range in.bdms {
		x.VolumeIDs = append(x.VolumeIDs, a.volumeID)
	}
	return x
}

// Instances returns account's instances in region, terminated ones included
// while they are retained, sorted by id.
func (e *Emulator) Instances(account, region string) []Instance {
	return exportOwned(e, account, region, func(rs *regionState) map[string]*instance { return rs.instances },
		func(i Instance) string { return i.ID })
}

// NonTerminatedInstances returns every instance of every account and region
// that is not terminated (shutting-down counts as not terminated), sorted by
// id. Tests use it to assert that nothing was left running.
func (e *Emulator) NonTerminatedInstances() []Instance {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Instance
	for name := range e.regions {
		rs := e.regionLocked(name, e.nowLocked())
		for _, in := range rs.instances {
			if in.state != "terminated" {
				out = append(out, in.export(name))
			}
		}
	}
	return byID(out, func(i Instance) string { return i.ID })
}

func (k *keyPair) export(region string) KeyPair {
	return KeyPair{ID: k.id, Name: k.name, Account: k.owner, Region: region,
		Fingerprint: k.fingerprint, KeyType: k.keyType, Tags: k.tags.latest(k.owner), CreateTime: k.created}
}

// KeyPairs returns account's key pairs in region, sorted by name.
func (e *Emulator) KeyPairs(account, region string) []KeyPair {
	return exportOwned(e, account, region, func(rs *regionState) map[string]*keyPair { return rs.keyPairs },
		func(k KeyPair) string { return k.Name })
}

func (g *securityGroup) export(region string) SecurityGroup {
	return SecurityGroup{ID: g.id, Name: g.name, Description: g.description, Account: g.owner,
		Region: region, VpcID: g.vpcID, IngressRules: len(g.ingress), Tags: g.tags.latest(g.owner)}
}

// SecurityGroups returns account's security groups in region, sorted by id.
func (e *Emulator) SecurityGroups(account, region string) []SecurityGroup {
	return exportOwned(e, account, region, func(rs *regionState) map[string]*securityGroup { return rs.groups },
		func(g SecurityGroup) string { return g.ID })
}

func (s *snapshot) export(region string) Snapshot {
	return Snapshot{ID: s.id, Account: s.owner, Region: region, VolumeID: s.volumeID,
		State: s.state, Description: s.description, SizeGiB: s.size, Tags: s.tags.latest(s.owner),
		Encrypted: s.encrypted, KMSKeyID: s.kmsKey, Public: s.public, SharedWith: slices.Sorted(maps.Keys(s.users))}
}

// Snapshots returns account's snapshots in region, sorted by id.
func (e *Emulator) Snapshots(account, region string) []Snapshot {
	return exportOwned(e, account, region, func(rs *regionState) map[string]*snapshot { return rs.snapshots },
		func(s Snapshot) string { return s.ID })
}

func (v *volume) export(region string) Volume {
	return Volume{ID: v.id, Account: v.owner, Region: region, SnapshotID: v.snapshotID,
		State: v.status(), InstanceID: v.instanceID, SizeGiB: v.size,
		DeleteOnTermination: v.deleteOnTermination, Tags: v.tags.latest(v.owner)}
}

// Volumes returns account's volumes in region, sorted by id.
func (e *Emulator) Volumes(account, region string) []Volume {
	return exportOwned(e, account, region, func(rs *regionState) map[string]*volume { return rs.volumes },
		func(v Volume) string { return v.ID })
}

// exported is a resource the state inspection copies out.
type exported[X any] interface {
	owned
	export(region string) X
}

// exportOwned copies out the resources of account in region, sorted by key.
func exportOwned[T exported[X], X any](e *Emulator, account, region string, all func(*regionState) map[string]T, key func(X) string) []X {
	var out []X
	e.inspect(region, func(rs *regionState) {
		for _, x := range all(rs) {
			if x.ownerID() == account {
				out = append(out, x.export(region))
			}
		}
	})
	return byID(out, key)
}

// ImageSpec describes an image for PutImage. Zero fields get defaults.
type ImageSpec struct {
	Name        string
	Description string
	// Tags are the owner's tags, visible at once.
	Tags map[string]string
	// State is pending, available (the default) or failed. A pending
	// image stays pending until SetImageState.
	State      string
	Public     bool
	SharedWith []string
	// CreationDate defaults to now.
	CreationDate time.Time
	// Architecture defaults to x86_64.
	Architecture string
	// DeprecationTime, when set, deprecates the image at that time (it may
	// lie in the past), as EnableImageDeprecation does.
	DeprecationTime time.Time
	// KMSKey, when set, encrypts the image's snapshot with that key: an
	// ARN from PutKMSKey, or DefaultKeyAlias for the account's default EBS
	// key.
	KMSKey string
}

// PutImage creates an image owned by account in region directly, with a
// completed root snapshot, and returns its id. It applies EC2's rules on
// names (valid and unique per account and region).
func (e *Emulator) PutImage(account, region string, spec ImageSpec) (string, error) {
	if !knownRegion(region) {
		return "", fmt.Errorf("putting image %q: unknown region %q", spec.Name, region)
	}
	if !isAccountID(account) {
		return "", fmt.Errorf("putting image %q: account %q is not a 12-digit account id", spec.Name, account)
	}
	if err := validateImageName(spec.Name); err != nil {
		return "", fmt.Errorf("putting image %q: %w", spec.Name, err)
	}
	state := spec.State
	if state == "" {
		state = "available"
	}
	if state != "pending" && state != "available" && state != "failed" {
		return "", fmt.Errorf("putting image %q: state %q is not pending, available or failed", spec.Name, state)
	}
	for _, u := range spec.SharedWith {
		if !isAccountID(u) {
			return "", fmt.Errorf("putting image %q: shared-with account %q is not a 12-digit account id", spec.Name, u)
		}
	}
	var id string
	var err error
	e.inspect(region, func(rs *regionState) {
		if err = rs.checkImageNameFree(account, spec.Name); err != nil {
			err = fmt.Errorf("putting image %q: %w", spec.Name, err)
			return
		}
		now := e.nowLocked()
		created := spec.CreationDate
		if created.IsZero() {
			created = now
		}
		arch := spec.Architecture
		if arch == "" {
			arch = "x86_64"
		}
		snap := &snapshot{id: e.newID("snap"), owner: account, volumeID: "vol-ffffffff", size: seedVolumeSize,
			description: "Root snapshot of " + spec.Name, state: "completed", started: created}
		rs.snapshots[snap.id] = snap
		if spec.KMSKey != "" {
			snap.encrypted, snap.kmsKey = true, spec.KMSKey
			if spec.KMSKey == DefaultKeyAlias {
				snap.kmsKey = e.defaultKey(account, region).arn()
			}
		}
		im := &image{
			id: e.newID("ami"), name: spec.Name, description: spec.Description, owner: account, state: state,
			public: spec.Public, arch: arch, virtType: "hvm", rootDeviceType: "ebs", rootDevice: "/dev/xvda",
			enaSupport: true, sriov: "simple", created: created,
			lifecycle: lifecycle{deprecateAt: spec.DeprecationTime},
			bdms:      []bdm{{device: "/dev/xvda", ebs: &ebsSpec{snapshotID: snap.id, size: seedVolumeSize, volumeType: "gp3", deleteOnTermination: true, encrypted: snap.encrypted}}},
		}
		for _, u := range spec.SharedWith {
			if im.sharedWith == nil {
				im.sharedWith = map[string]bool{}
			}
			im.sharedWith[u] = true
		}
		for k, v := range spec.Tags {
			im.tags.set(account, k, v, now, now)
		}
		rs.images[im.id] = im
		id = im.id
	})
	return id, err
}

// SetImageState forces an image's state (pending, available or failed),
// wherever it is; a pending image then stays pending until set again.
func (e *Emulator) SetImageState(id, state string) error {
	if state != "pending" && state != "available" && state != "failed" {
		return fmt.Errorf("setting image %s state: %q is not pending, available or failed", id, state)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, name := range KnownRegions {
		rs := e.regionLocked(name, e.nowLocked())
		if im, ok := rs.images[id]; ok {
			im.state, im.readyAt = state, time.Time{}
			return nil
		}
	}
	return fmt.Errorf("setting image %s state: no such image", id)
}
