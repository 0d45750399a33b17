package awsemu

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// snapshot is an EBS snapshot; it is only visible to its owner.
type snapshot struct {
	id, owner, volumeID, description string
	// state is pending until readyAt, then completed.
	state     string
	readyAt   time.Time
	size      int
	started   time.Time
	encrypted bool
	// kmsKey is the ARN of the KMS key of an encrypted copy (kms.go).
	kmsKey string
	// public and users are the create-volume permissions (ec2_sharing.go).
	public bool
	users  map[string]bool
	tags   tagStore
}

// volume is an EBS volume, attached to an instance or available.
type volume struct {
	id, owner, az, snapshotID, volumeType string
	size, iops                            int
	encrypted                             bool
	created                               time.Time
	// instanceID is set while attached.
	instanceID, device  string
	deleteOnTermination bool
	attachTime          time.Time
	tags                tagStore
}

func (v *volume) status() string {
	if v.instanceID != "" {
		return "in-use"
	}
	return "available"
}

func (r *request) newSnapshot(volumeID string, size int, encrypted bool, description string) *snapshot {
	s := &snapshot{
		id: r.e.newID("snap"), owner: r.account, volumeID: volumeID, description: description,
		state: "pending", readyAt: r.e.readyAt(r.now), size: size, started: r.now, encrypted: encrypted,
	}
	r.rs.snapshots[s.id] = s
	return s
}

func (r *request) ownSnapshot(id string) (*snapshot, error) {
	return ownByID(r, r.rs.snapshots, id, "snap", "InvalidSnapshotID.Malformed",
		errorf("InvalidSnapshot.NotFound", "The snapshot '%s' does not exist.", id))
}

// snapshotUser returns an image still registered on the snapshot, if any.
func (rs *regionState) snapshotUser(id string) *image {
	var users []*image
	for _, im := range rs.images {
		if slices.Contains(im.snapshotIDs(), id) {
			users = append(users, im)
		}
	}
	if len(users) == 0 {
		return nil
	}
	slices.SortFunc(users, func(a, b *image) int { return strings.Compare(a.id, b.id) })
	return users[0]
}

// releaseVolumes detaches a terminated instance's volumes and deletes those
// marked delete-on-termination.
func (rs *regionState) releaseVolumes(in *instance) {
	for _, att := range in.bdms {
		v, ok := rs.volumes[att.volumeID]
		if !ok {
			continue
		}
		if v.deleteOnTermination {
			delete(rs.volumes, v.id)
			continue
		}
		v.instanceID, v.device, v.attachTime = "", "", time.Time{}
	}
}

// ---- DescribeSnapshots

type snapshotXML struct {
	SnapshotID  string   `xml:"snapshotId"`
	VolumeID    string   `xml:"volumeId"`
	Status      string   `xml:"status"`
	StartTime   string   `xml:"startTime"`
	Progress    string   `xml:"progress"`
	OwnerID     string   `xml:"ownerId"`
	VolumeSize  int      `xml:"volumeSize"`
	Description string   `xml:"description"`
	Encrypted   bool     `xml:"encrypted"`
	StorageTier string   `xml:"storageTier"`
	OwnerAlias  string   `xml:"ownerAlias,omitempty"`
	TagSet      []tagXML `xml:"tagSet>item,omitempty"`
}

type describeSnapshotsResponse struct {
	meta
	SnapshotSet items[snapshotXML] `xml:"snapshotSet"`
	NextToken   string             `xml:"nextToken,omitempty"`
}

func (s *snapshot) progress() string {
	if s.state == "completed" {
		return "100%"
	}
	return "0%"
}

var snapshotFields = fields[*snapshot]{
	"snapshot-id": func(s *snapshot) []string { return one(s.id) },
	"volume-id":   func(s *snapshot) []string { return one(s.volumeID) },
	"status":      func(s *snapshot) []string { return one(s.state) },
	"owner-id":    func(s *snapshot) []string { return one(s.owner) },
	"owner-alias": func(s *snapshot) []string {
		if s.owner == AmazonAccount {
			return one("amazon")
		}
		return nil
	},
	"description":  func(s *snapshot) []string { return one(s.description) },
	"volume-size":  func(s *snapshot) []string { return intStr(s.size) },
	"encrypted":    func(s *snapshot) []string { return boolStr(s.encrypted) },
	"start-time":   func(s *snapshot) []string { return one(awsTime(s.started)) },
	"progress":     func(s *snapshot) []string { return one(s.progress()) },
	"storage-tier": func(*snapshot) []string { return one("standard") },
}

var snapshotsDescribe = &describe[*snapshot]{
	render:  snapshotsResponse,
	idParam: "SnapshotId", idPrefix: "snap", malformed: "InvalidSnapshotID.Malformed",
	minPage: 5, maxPage: 1000,
	fields: snapshotFields,
	tags:   visibleTagsOf[*snapshot],
	key:    func(s *snapshot) string { return s.id },
	list: func(r *request, ids []string) ([]*snapshot, error) {
		all, err := named(valuesWhere(r.rs.snapshots, ownedBy[*snapshot](r.account)),
			func(s *snapshot) string { return s.id }, ids, notFoundIn("InvalidSnapshot.NotFound", "snapshot"))
		if owners := r.p.list("Owner"); len(owners) > 0 && err == nil {
			all = slices.DeleteFunc(all, func(s *snapshot) bool {
				return !slices.Contains(owners, s.owner) && !slices.Contains(owners, "self")
			})
		}
		return all, err
	},
}

func snapshotsResponse(r *request, page []*snapshot, next string) any {
	return &describeSnapshotsResponse{NextToken: next, SnapshotSet: itemsOf(page, func(s *snapshot) snapshotXML {
		return snapshotXML{
			SnapshotID: s.id, VolumeID: s.volumeID, Status: s.state, StartTime: awsTime(s.started),
			Progress: s.progress(), OwnerID: s.owner, VolumeSize: s.size, Description: s.description,
			Encrypted: s.encrypted, StorageTier: "standard", TagSet: tagXMLs(r.visibleTags(&s.tags)),
		}
	})}
}

// ---- DeleteSnapshot

func deleteSnapshot(r *request) (any, error) {
	id, err := r.p.required("SnapshotId")
	if err != nil {
		return nil, err
	}
	s, err := r.ownSnapshot(id)
	if err != nil {
		return nil, err
	}
	if im := r.rs.snapshotUser(id); im != nil {
		return nil, errorf("InvalidSnapshot.InUse", "The snapshot %s is currently in use by %s", id, im.id)
	}
	delete(r.rs.snapshots, s.id)
	return &returnResponse{Return: true}, nil
}

// ---- DescribeVolumes

type volumeXML struct {
	VolumeID         string          `xml:"volumeId"`
	Size             int             `xml:"size"`
	SnapshotID       string          `xml:"snapshotId"`
	AvailabilityZone string          `xml:"availabilityZone"`
	Status           string          `xml:"status"`
	CreateTime       string          `xml:"createTime"`
	AttachmentSet    []attachmentXML `xml:"attachmentSet>item"`
	TagSet           []tagXML        `xml:"tagSet>item,omitempty"`
	VolumeType       string          `xml:"volumeType"`
	Iops             int             `xml:"iops,omitempty"`
	Encrypted        bool            `xml:"encrypted"`
	MultiAttach      bool            `xml:"multiAttachEnabled"`
}

type attachmentXML struct {
	VolumeID            string `xml:"volumeId"`
	InstanceID          string `xml:"instanceId"`
	Device              string `xml:"device"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type describeVolumesResponse struct {
	meta
	VolumeSet items[volumeXML] `xml:"volumeSet"`
	NextToken string           `xml:"nextToken,omitempty"`
}

var volumeFields = fields[*volume]{
	"volume-id":                        func(v *volume) []string { return one(v.id) },
	"status":                           func(v *volume) []string { return one(v.status()) },
	"size":                             func(v *volume) []string { return intStr(v.size) },
	"snapshot-id":                      func(v *volume) []string { return one(v.snapshotID) },
	"availability-zone":                func(v *volume) []string { return one(v.az) },
	"volume-type":                      func(v *volume) []string { return one(v.volumeType) },
	"encrypted":                        func(v *volume) []string { return boolStr(v.encrypted) },
	"create-time":                      func(v *volume) []string { return one(awsTime(v.created)) },
	"attachment.instance-id":           func(v *volume) []string { return one(v.instanceID) },
	"attachment.device":                func(v *volume) []string { return one(v.device) },
	"attachment.status":                func(v *volume) []string { return v.ifAttached("attached") },
	"attachment.delete-on-termination": func(v *volume) []string { return v.ifAttached(strconv.FormatBool(v.deleteOnTermination)) },
	"attachment.attach-time":           func(v *volume) []string { return v.ifAttached(awsTime(v.attachTime)) },
	"multi-attach-enabled":             func(*volume) []string { return boolStr(false) },
}

func (v *volume) ifAttached(s string) []string {
	if v.instanceID == "" {
		return nil
	}
	return []string{s}
}

var volumesDescribe = &describe[*volume]{
	render:  volumesResponse,
	idParam: "VolumeId", idPrefix: "vol", malformed: "InvalidVolumeID.Malformed",
	minPage: 5, maxPage: 500,
	fields: volumeFields,
	tags:   visibleTagsOf[*volume],
	key:    func(v *volume) string { return v.id },
	list: func(r *request, ids []string) ([]*volume, error) {
		return named(valuesWhere(r.rs.volumes, ownedBy[*volume](r.account)),
			func(v *volume) string { return v.id }, ids, notFoundIn("InvalidVolume.NotFound", "volume"))
	},
}

func volumesResponse(r *request, page []*volume, next string) any {
	return &describeVolumesResponse{NextToken: next, VolumeSet: itemsOf(page, func(v *volume) volumeXML {
		x := volumeXML{
			VolumeID: v.id, Size: v.size, SnapshotID: v.snapshotID, AvailabilityZone: v.az, Status: v.status(),
			CreateTime: awsTime(v.created), TagSet: tagXMLs(r.visibleTags(&v.tags)), VolumeType: v.volumeType, Iops: v.iops,
			Encrypted: v.encrypted,
		}
		if v.instanceID != "" {
			x.AttachmentSet = []attachmentXML{{
				VolumeID: v.id, InstanceID: v.instanceID, Device: v.device, Status: "attached",
				AttachTime: awsTime(v.attachTime), DeleteOnTermination: v.deleteOnTermination,
			}}
		}
		return x
	})}
}

// ---- DeleteVolume

func deleteVolume(r *request) (any, error) {
	id, err := r.p.required("VolumeId")
	if err != nil {
		return nil, err
	}
	v, err := ownByID(r, r.rs.volumes, id, "vol", "InvalidVolumeID.Malformed",
		errorf("InvalidVolume.NotFound", "The volume '%s' does not exist.", id))
	if err != nil {
		return nil, err
	}
	if v.instanceID != "" {
		return nil, errorf("VolumeInUse", "Volume %s is currently attached to %s", id, v.instanceID)
	}
	delete(r.rs.volumes, id)
	return &returnResponse{Return: true}, nil
}
