package awsemu

import (
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// image is an AMI. Only EBS-backed machine images are modelled.
type image struct {
	id, name, description, owner string
	// state is pending, available, failed or disabled; pending turns
	// available at readyAt.
	state   string
	readyAt time.Time
	// public, sharedWith, orgs and ous are the launch permissions: group
	// "all", account ids, organization ARNs and organizational unit ARNs
	// (ec2_sharing.go).
	public     bool
	sharedWith map[string]bool
	orgs, ous  map[string]bool
	// failReason, when set, makes a pending image turn failed instead of
	// available (a copy under a KMS key it may not use, kms.go).
	failReason *stateReasonXML

	arch, virtType, rootDeviceType, rootDevice, platform string
	enaSupport                                           bool
	sriov, bootMode                                      string
	created                                              time.Time
	bdms                                                 []bdm
	tags                                                 tagStore

	sourceInstanceID, sourceImageID, sourceRegion string
	// lifecycle holds deprecation, deregistration protection and the last
	// launch (ec2_images_lifecycle.go); state "disabled" is DisableImage's.
	lifecycle
}

// bdm is a block device mapping of an image or a request.
type bdm struct {
	device, virtualName string
	noDevice            bool
	ebs                 *ebsSpec
}

type ebsSpec struct {
	snapshotID          string
	size, iops          int
	volumeType          string
	deleteOnTermination bool
	encrypted           bool
}

func (im *image) ownerAlias() string {
	if im.owner == AmazonAccount {
		return "amazon"
	}
	return ""
}

func (im *image) snapshotIDs() []string {
	var out []string
	for _, b := range im.bdms {
		if b.ebs != nil && b.ebs.snapshotID != "" {
			out = append(out, b.ebs.snapshotID)
		}
	}
	return out
}

func (im *image) sharedAccounts() []string {
	return slices.Sorted(maps.Keys(im.sharedWith))
}

// requiredAndImageName reads the required parameter param, then Name,
// checked with EC2's rules for image names, and fails in that order
// (CreateImage, CopyImage).
func (p params) requiredAndImageName(param string) (value, name string, err error) {
	if value, err = p.required(param); err != nil {
		return "", "", err
	}
	name = p.str("Name")
	return value, name, validateImageName(name)
}

var imageNamePattern = regexp.MustCompile(`^[a-zA-Z0-9()\[\] ./\-'@_]{3,128}$`)

func validateImageName(name string) error {
	if name == "" {
		return missingParameter("Name")
	}
	if !imageNamePattern.MatchString(name) {
		return errorf("InvalidAMIName.Malformed", "AMI names must be between 3 and 128 characters long, and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_' (got %q)", name)
	}
	return nil
}

// checkImageNameFree enforces unique AMI names per account and region.
func (rs *regionState) checkImageNameFree(owner, name string) error {
	for _, im := range rs.images {
		if im.owner == owner && im.name == name {
			return errorf("InvalidAMIName.Duplicate", "AMI name %s is already in use by AMI %s", name, im.id)
		}
	}
	return nil
}

// visibleImage finds an image the caller may see, or InvalidAMIID.NotFound.
func (r *request) visibleImage(rs *regionState, id string) (*image, error) {
	if err := checkIDs([]string{id}, "ami", "InvalidAMIID.Malformed"); err != nil {
		return nil, err
	}
	im, ok := rs.images[id]
	if !ok || !r.sees(im) {
		return nil, errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", id)
	}
	return im, nil
}

// ownImage finds an image the caller owns; a visible image of another account
// is AuthFailure, as in EC2.
func (r *request) ownImage(id string) (*image, error) {
	im, err := r.visibleImage(r.rs, id)
	if err != nil {
		return nil, err
	}
	if im.owner != r.account {
		return nil, errorf("AuthFailure", "Not authorized for image:%s", id)
	}
	return im, nil
}

// ownImageParam finds the caller's own image named by the ImageId parameter.
func (r *request) ownImageParam() (*image, error) {
	id, err := r.p.required("ImageId")
	if err != nil {
		return nil, err
	}
	return r.ownImage(id)
}

// ---- XML

type imageXML struct {
	ImageID            string          `xml:"imageId"`
	ImageLocation      string          `xml:"imageLocation"`
	ImageState         string          `xml:"imageState"`
	ImageOwnerID       string          `xml:"imageOwnerId"`
	CreationDate       string          `xml:"creationDate"`
	IsPublic           bool            `xml:"isPublic"`
	Architecture       string          `xml:"architecture"`
	ImageType          string          `xml:"imageType"`
	Platform           string          `xml:"platform,omitempty"`
	PlatformDetails    string          `xml:"platformDetails"`
	UsageOperation     string          `xml:"usageOperation"`
	ImageOwnerAlias    string          `xml:"imageOwnerAlias,omitempty"`
	Name               string          `xml:"name"`
	Description        string          `xml:"description,omitempty"`
	RootDeviceType     string          `xml:"rootDeviceType"`
	RootDeviceName     string          `xml:"rootDeviceName"`
	BlockDeviceMapping []bdmXML        `xml:"blockDeviceMapping>item"`
	VirtualizationType string          `xml:"virtualizationType"`
	TagSet             []tagXML        `xml:"tagSet>item,omitempty"`
	Hypervisor         string          `xml:"hypervisor"`
	EnaSupport         bool            `xml:"enaSupport"`
	SriovNetSupport    string          `xml:"sriovNetSupport,omitempty"`
	BootMode           string          `xml:"bootMode,omitempty"`
	SourceInstanceID   string          `xml:"sourceInstanceId,omitempty"`
	SourceImageID      string          `xml:"sourceImageId,omitempty"`
	SourceImageRegion  string          `xml:"sourceImageRegion,omitempty"`
	StateReason        *stateReasonXML `xml:"stateReason,omitempty"`
	DeprecationTime    string          `xml:"deprecationTime,omitempty"`
	DeregProtection    string          `xml:"deregistrationProtection,omitempty"`
	LastLaunchedTime   string          `xml:"lastLaunchedTime,omitempty"`
}

type stateReasonXML struct {
	Code    string `xml:"code"`
	Message string `xml:"message"`
}

type bdmXML struct {
	DeviceName  string  `xml:"deviceName"`
	VirtualName string  `xml:"virtualName,omitempty"`
	Ebs         *ebsXML `xml:"ebs,omitempty"`
	NoDevice    *string `xml:"noDevice,omitempty"`
}

type ebsXML struct {
	SnapshotID          string `xml:"snapshotId,omitempty"`
	VolumeSize          int    `xml:"volumeSize"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	VolumeType          string `xml:"volumeType"`
	Iops                int    `xml:"iops,omitempty"`
	Encrypted           bool   `xml:"encrypted"`
}

func bdmXMLs(bs []bdm) []bdmXML {
	var out []bdmXML
	for _, b := range bs {
		x := bdmXML{DeviceName: b.device, VirtualName: b.virtualName}
		if b.noDevice {
			x.NoDevice = new(string)
		}
		if b.ebs != nil {
			x.Ebs = &ebsXML{
				SnapshotID: b.ebs.snapshotID, VolumeSize: b.ebs.size, DeleteOnTermination: b.ebs.deleteOnTermination,
				VolumeType: b.ebs.volumeType, Iops: b.ebs.iops, Encrypted: b.ebs.encrypted,
			}
		}
		out = append(out, x)
	}
	return out
}

func (r *request) imageXML(im *image) imageXML {
	x := imageXML{
		ImageID: im.id, ImageLocation: im.owner + "/" + im.name, ImageState: im.state, ImageOwnerID: im.owner,
		CreationDate: awsTime(im.created), IsPublic: im.public, Architecture: im.arch, ImageType: "machine",
		Platform: im.platform, PlatformDetails: "Linux/UNIX", UsageOperation: "RunInstances",
		ImageOwnerAlias: im.ownerAlias(), Name: im.name, Description: im.description,
		RootDeviceType: im.rootDeviceType, RootDeviceName: im.rootDevice, BlockDeviceMapping: bdmXMLs(im.bdms),
		VirtualizationType: im.virtType, TagSet: tagXMLs(im.tags.visible(r.account, r.now)), Hypervisor: "xen",
		EnaSupport: im.enaSupport, SriovNetSupport: im.sriov, BootMode: im.bootMode,
		SourceImageID: im.sourceImageID, SourceImageRegion: im.sourceRegion,
	}
	if !im.deprecateAt.IsZero() {
		x.DeprecationTime = awsTime(im.deprecateAt)
	}
	if im.owner == r.account {
		x.SourceInstanceID = im.sourceInstanceID
		x.DeregProtection = im.protectionValue(r.now)
		if !im.lastLaunched.IsZero() {
			x.LastLaunchedTime = awsTime(im.lastLaunched)
		}
	}
	if im.platform == "windows" {
		x.PlatformDetails = "Windows"
		x.UsageOperation = "RunInstances:0002"
	}
	if im.state == "failed" {
		x.StateReason = &stateReasonXML{Code: "Client.InternalError", Message: "Client.InternalError: image creation failed"}
		if im.failReason != nil {
			x.StateReason = im.failReason
		}
	}
	return x
}

// ---- DescribeImages

type describeImagesResponse struct {
	meta
	ImagesSet items[imageXML] `xml:"imagesSet"`
	NextToken string          `xml:"nextToken,omitempty"`
}

var imageFields = fields[*image]{
	"architecture": func(im *image) []string { return one(im.arch) },
	"block-device-mapping.delete-on-termination": func(im *image) []string {
		return im.ebsValues(func(e *ebsSpec) string { return strconv.FormatBool(e.deleteOnTermination) })
	},
	"block-device-mapping.device-name": func(im *image) []string {
		var out []string
		for _, b := range im.bdms {
			out = append(out, b.device)
		}
		return out
	},
	"block-device-mapping.snapshot-id": func(im *image) []string { return im.snapshotIDs() },
	"block-device-mapping.volume-size": func(im *image) []string {
		return im.ebsValues(func(e *ebsSpec) string { return strconv.Itoa(e.size) })
	},
	"block-device-mapping.volume-type": func(im *image) []string {
		return im.ebsValues(func(e *ebsSpec) string { return e.volumeType })
	},
	"block-device-mapping.encrypted": func(im *image) []string {
		return im.ebsValues(func(e *ebsSpec) string { return strconv.FormatBool(e.encrypted) })
	},
	"boot-mode":           func(im *image) []string { return one(im.bootMode) },
	"creation-date":       func(im *image) []string { return one(awsTime(im.created)) },
	"description":         func(im *image) []string { return one(im.description) },
	"ena-support":         func(im *image) []string { return boolStr(im.enaSupport) },
	"hypervisor":          func(*image) []string { return one("xen") },
	"image-id":            func(im *image) []string { return one(im.id) },
	"image-type":          func(*image) []string { return one("machine") },
	"is-public":           func(im *image) []string { return boolStr(im.public) },
	"manifest-location":   func(im *image) []string { return one(im.owner + "/" + im.name) },
	"name":                func(im *image) []string { return one(im.name) },
	"owner-alias":         func(im *image) []string { return one(im.ownerAlias()) },
	"owner-id":            func(im *image) []string { return one(im.owner) },
	"platform":            func(im *image) []string { return one(im.platform) },
	"root-device-name":    func(im *image) []string { return one(im.rootDevice) },
	"root-device-type":    func(im *image) []string { return one(im.rootDeviceType) },
	"source-image-id":     func(im *image) []string { return one(im.sourceImageID) },
	"source-image-region": func(im *image) []string { return one(im.sourceRegion) },
	"sriov-net-support":   func(im *image) []string { return one(im.sriov) },
	"state":               func(im *image) []string { return one(im.state) },
	"virtualization-type": func(im *image) []string { return one(im.virtType) },
}

func (im *image) ebsValues(f func(*ebsSpec) string) []string {
	var out []string
	for _, b := range im.bdms {
		if b.ebs != nil {
			out = append(out, f(b.ebs))
		}
	}
	return out
}

var imagesDescribe = &describe[*image]{
	render:  imagesResponse,
	idParam: "ImageId", idPrefix: "ami", malformed: "InvalidAMIID.Malformed",
	minPage: 5, maxPage: 1000,
	fields: imageFields,
	tags:   visibleTagsOf[*image],
	key:    func(im *image) string { return im.id },
	list:   describableImages,
}

func imagesResponse(r *request, page []*image, next string) any {
	return &describeImagesResponse{ImagesSet: itemsOf(page, r.imageXML), NextToken: next}
}

// describableImages are the images the caller sees, narrowed by ImageId,
// Owner and ExecutableBy.
func describableImages(r *request, ids []string) ([]*image, error) {
	owners := r.p.list("Owner")
	for _, o := range owners {
		if o != "self" && o != "amazon" && o != "aws-marketplace" && o != "aws-backup-vault" && !isAccountID(o) {
			return nil, invalidParameter("Invalid owner: %s. Owners must be an account id, self, amazon or aws-marketplace", o)
		}
	}
	includeDeprecated, err := r.p.boolean("IncludeDeprecated", false)
	if err != nil {
		return nil, err
	}
	includeDisabled, err := r.p.boolean("IncludeDisabled", false)
	if err != nil {
		return nil, err
	}
	execBy := r.p.list("ExecutableBy")
	for _, x := range execBy {
		if x != "self" && x != "all" && !isAccountID(x) {
			return nil, invalidParameter("Invalid ExecutableBy: %s", x)
		}
	}
	all, err := named(valuesWhere(r.rs.images, r.sees),
		func(im *image) string { return im.id }, ids, func(missing []string) error {
			return errorf("InvalidAMIID.NotFound", "The image id '[%s]' does not exist", strings.Join(missing, ", "))
		})
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		all = slices.DeleteFunc(all, func(im *image) bool { return r.hiddenFromListing(im, includeDeprecated, includeDisabled) })
	}
	if len(owners) > 0 && !r.e.faults.f.IgnoreOwners { // e.mu is held
		all = slices.DeleteFunc(all, func(im *image) bool {
			for _, o := range owners {
				if o == im.owner || (o == "self" && im.owner == r.account) || (o == "amazon" && im.ownerAlias() == "amazon") {
					return false
				}
			}
			return true
		})
	}
	if len(execBy) > 0 {
		all = slices.DeleteFunc(all, func(im *image) bool {
			for _, x := range execBy {
				switch {
				case x == "all" && im.public,
					x == "self" && (im.owner == r.account || r.sharedWithCaller(im)),
					isAccountID(x) && (im.owner == x || im.sharedWith[x]):
					return false
				}
			}
			return true
		})
	}
	return all, nil
}

func isAccountID(s string) bool { return len(s) == 12 && strings.Trim(s, "0123456789") == "" }

// ---- CreateImage

type imageIDResponse struct {
	meta
	ImageID string `xml:"imageId"`
}

func createImage(r *request) (any, error) {
	instID, name, err := r.p.requiredAndImageName("InstanceId")
	if err != nil {
		return nil, err
	}
	in, err := r.ownInstance(instID)
	if err != nil {
		return nil, err
	}
	if in.state != "running" && in.state != "stopped" {
		return nil, errorf("IncorrectInstanceState", "Instance '%s' is not in a valid state for this operation (%s).", in.id, in.state)
	}
	if err := r.rs.checkImageNameFree(r.account, name); err != nil {
		return nil, err
	}
	specs, err := r.p.tagSpecs("image", "snapshot")
	if err != nil {
		return nil, err
	}
	overrides, err := r.p.blockDevices("BlockDeviceMapping")
	if err != nil {
		return nil, err
	}

	im := &image{
		id: r.e.newID("ami"), name: name, description: r.p.str("Description"), owner: r.account,
		state: "pending", readyAt: r.e.readyAt(r.now),
		arch: in.arch, virtType: in.virtType, rootDeviceType: "ebs", rootDevice: in.rootDevice,
		platform: in.platform, enaSupport: in.enaSupport, sriov: in.sriov, bootMode: in.bootMode,
		created: r.now, sourceInstanceID: in.id,
	}
	used := map[string]bool{}
	for _, att := range in.bdms {
		dev := att.device
		used[dev] = true
		ov := findBDM(overrides, dev)
		if ov != nil && ov.noDevice {
			continue
		}
		vol := r.rs.volumes[att.volumeID]
		if vol == nil {
			continue
		}
		spec := &ebsSpec{size: vol.size, volumeType: vol.volumeType, iops: vol.iops, deleteOnTermination: true, encrypted: vol.encrypted}
		if ov != nil && ov.ebs != nil {
			if err := mergeEBS(spec, ov.ebs); err != nil {
				return nil, err
			}
		}
		snap := r.newSnapshot(vol.id, spec.size, spec.encrypted, "Created by CreateImage("+in.id+") for "+im.id)
		spec.snapshotID = snap.id
		snap.tags.setAll(r.account, specs["snapshot"], r.now)
		im.bdms = append(im.bdms, bdm{device: dev, ebs: spec})
	}
	for _, ov := range overrides {
		if used[ov.device] || ov.noDevice {
			continue
		}
		b, err := r.newImageDevice(ov, specs["snapshot"])
		if err != nil {
			return nil, err
		}
		im.bdms = append(im.bdms, b)
	}
	im.tags.setAll(r.account, specs["image"], r.now)
	r.rs.images[im.id] = im
	return &imageIDResponse{ImageID: im.id}, nil
}

// newImageDevice turns a requested mapping that matches no instance volume
// into an image mapping: an ephemeral device, or a new EBS volume that is
// empty or restored from one of the caller's snapshots.
func (r *request) newImageDevice(ov bdm, snapTags []tag) (bdm, error) {
	if ov.ebs == nil {
		if ov.virtualName == "" {
			return bdm{}, errorf("InvalidBlockDeviceMapping", "The block device mapping for %s needs Ebs, VirtualName or NoDevice", ov.device)
		}
		return ov, nil
	}
	spec := *ov.ebs
	if spec.snapshotID != "" {
		s, err := r.ownSnapshot(spec.snapshotID)
		if err != nil {
			return bdm{}, err
		}
		if spec.size == 0 {
			spec.size = s.size
		}
		return bdm{device: ov.device, ebs: &spec}, nil
	}
	if spec.size == 0 {
		return bdm{}, errorf("InvalidBlockDeviceMapping", "The block device mapping for %s needs a VolumeSize or a SnapshotId", ov.device)
	}
	snap := r.newSnapshot("vol-ffffffff", spec.size, spec.encrypted, "Created by CreateImage for "+ov.device)
	snap.tags.setAll(r.account, snapTags, r.now)
	spec.snapshotID = snap.id
	return bdm{device: ov.device, ebs: &spec}, nil
}

func findBDM(bs []bdm, device string) *bdm {
	for i := range bs {
		if bs[i].device == device {
			return &bs[i]
		}
	}
	return nil
}

// mergeEBS applies a requested EBS override to a mapping.
func mergeEBS(dst, ov *ebsSpec) error {
	if ov.size != 0 {
		if ov.size < dst.size {
			return errorf("InvalidBlockDeviceMapping", "Volume of size %dGB is smaller than snapshot, expect size >= %dGB", ov.size, dst.size)
		}
		dst.size = ov.size
	}
	if ov.volumeType != "" {
		dst.volumeType = ov.volumeType
	}
	if ov.iops != 0 {
		dst.iops = ov.iops
	}
	dst.deleteOnTermination = ov.deleteOnTermination
	dst.encrypted = dst.encrypted || ov.encrypted
	return nil
}

var volumeTypes = []string{"standard", "gp2", "gp3", "io1", "io2", "sc1", "st1"}

// blockDevices reads prefix.N.DeviceName, .VirtualName, .NoDevice and
// .Ebs.* (SnapshotId, VolumeSize, VolumeType, Iops, DeleteOnTermination,
// Encrypted).
func (p params) blockDevices(prefix string) ([]bdm, error) {
	var out []bdm
	for _, n := range p.indices(prefix) {
		pre := prefix + "." + strconv.Itoa(n)
		b := bdm{device: p.str(pre + ".DeviceName"), virtualName: p.str(pre + ".VirtualName"), noDevice: p.has(pre + ".NoDevice")}
		if b.device == "" {
			return nil, missingParameter(pre + ".DeviceName")
		}
		if p.hasPrefix(pre + ".Ebs.") {
			if p.str(pre+".Ebs.KmsKeyId") != "" {
				return nil, unsupported("KMS keys are not modelled (%s.Ebs.KmsKeyId)", pre)
			}
			e := &ebsSpec{snapshotID: p.str(pre + ".Ebs.SnapshotId"), volumeType: p.str(pre + ".Ebs.VolumeType")}
			var err error
			if e.size, err = p.integer(pre+".Ebs.VolumeSize", 0); err != nil {
				return nil, err
			}
			if e.iops, err = p.integer(pre+".Ebs.Iops", 0); err != nil {
				return nil, err
			}
			if e.deleteOnTermination, err = p.boolean(pre+".Ebs.DeleteOnTermination", true); err != nil {
				return nil, err
			}
			if e.encrypted, err = p.boolean(pre+".Ebs.Encrypted", false); err != nil {
				return nil, err
			}
			if e.volumeType != "" && !slices.Contains(volumeTypes, e.volumeType) {
				return nil, invalidParameter("Value (%s) for parameter volumeType is invalid. Valid types: %s", e.volumeType, strings.Join(volumeTypes, ", "))
			}
			if e.size < 0 || e.size > 16384 {
				return nil, invalidParameter("Volume size %d is out of range (1-16384)", e.size)
			}
			b.ebs = e
		}
		out = append(out, b)
	}
	return out, nil
}

// hasPrefix tells whether any parameter starting with prefix has a
// non-empty value (SDKs send some unset fields as empty strings).
func (p params) hasPrefix(prefix string) bool {
	for k, vs := range p.v {
		if strings.HasPrefix(k, prefix) && len(vs) > 0 && vs[0] != "" {
			return true
		}
	}
	return false
}

// ---- RegisterImage

func registerImage(r *request) (any, error) {
	if r.p.str("ImageLocation") != "" {
		return nil, unsupported("instance-store AMIs (ImageLocation) are not modelled; register EBS snapshots instead")
	}
	name := r.p.str("Name")
	if err := validateImageName(name); err != nil {
		return nil, err
	}
	root, err := r.p.required("RootDeviceName")
	if err != nil {
		return nil, err
	}
	bdms, err := r.p.blockDevices("BlockDeviceMapping")
	if err != nil {
		return nil, err
	}
	rootMap := findBDM(bdms, root)
	if rootMap == nil || rootMap.ebs == nil || rootMap.ebs.snapshotID == "" {
		return nil, errorf("InvalidBlockDeviceMapping", "The root device %s must be mapped to an EBS snapshot", root)
	}
	for i, b := range bdms {
		if b.ebs == nil {
			continue
		}
		if b.ebs.snapshotID == "" {
			return nil, errorf("InvalidBlockDeviceMapping", "RegisterImage needs a SnapshotId for %s", b.device)
		}
		s, err := r.ownSnapshot(b.ebs.snapshotID)
		if err != nil {
			return nil, err
		}
		if b.ebs.size == 0 {
			bdms[i].ebs.size = s.size
		}
		if b.ebs.volumeType == "" {
			bdms[i].ebs.volumeType = "gp2"
		}
	}
	if err := r.rs.checkImageNameFree(r.account, name); err != nil {
		return nil, err
	}
	specs, err := r.p.tagSpecs("image")
	if err != nil {
		return nil, err
	}
	ena, err := r.p.boolean("EnaSupport", false)
	if err != nil {
		return nil, err
	}
	arch := r.p.str("Architecture")
	if arch == "" {
		arch = "i386" // EC2's default for EBS-backed images
	}
	if !slices.Contains([]string{"i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac"}, arch) {
		return nil, invalidParameter("Value (%s) for parameter architecture is invalid.", arch)
	}
	virt := r.p.str("VirtualizationType")
	if virt == "" {
		virt = "paravirtual"
	}
	if virt != "hvm" && virt != "paravirtual" {
		return nil, invalidParameter("Value (%s) for parameter virtualizationType is invalid.", virt)
	}
	im := &image{
		id: r.e.newID("ami"), name: name, description: r.p.str("Description"), owner: r.account,
		state: "pending", readyAt: r.e.readyAt(r.now), arch: arch, virtType: virt, rootDeviceType: "ebs",
		rootDevice: root, enaSupport: ena, sriov: r.p.str("SriovNetSupport"), bootMode: r.p.str("BootMode"),
		created: r.now, bdms: bdms,
	}
	im.tags.setAll(r.account, specs["image"], r.now)
	r.rs.images[im.id] = im
	return &imageIDResponse{ImageID: im.id}, nil
}

// ---- CopyImage

func copyImage(r *request) (any, error) {
	srcRegion, err := r.p.required("SourceRegion")
	if err != nil {
		return nil, err
	}
	srcID, name, err := r.p.requiredAndImageName("SourceImageId")
	if err != nil {
		return nil, err
	}
	if !knownRegion(srcRegion) {
		return nil, invalidParameter("Invalid source region: %s", srcRegion)
	}
	if r.p.str("DestinationOutpostArn") != "" {
		return nil, unsupported("Outposts are not modelled")
	}
	encrypted, err := r.p.boolean("Encrypted", false)
	if err != nil {
		return nil, err
	}
	copyTags, err := r.p.boolean("CopyImageTags", false)
	if err != nil {
		return nil, err
	}
	specs, err := r.p.tagSpecs("image", "snapshot")
	if err != nil {
		return nil, err
	}
	token := r.p.str("ClientToken")
	digest := strings.Join([]string{srcRegion, srcID, name, r.p.str("Description"), strconv.FormatBool(encrypted), strconv.FormatBool(copyTags), r.p.str("KmsKeyId")}, "\x00")
	if prev, ok, err := r.rs.claimToken(r.account, "CopyImage", token, digest); err != nil {
		return nil, err
	} else if ok {
		return &imageIDResponse{ImageID: prev.ids[0]}, nil
	}

	srcRS := r.e.regionLocked(srcRegion, r.now)
	src, err := r.visibleImage(srcRS, srcID)
	if err != nil {
		return nil, err
	}
	if src.state != "available" {
		return nil, errorf("IncorrectState", "The image %s is in state %s; only available images can be copied", src.id, src.state)
	}
	keyARN, fail, err := r.copyEncryption(src)
	if err != nil {
		return nil, err
	}
	if err := r.rs.checkImageNameFree(r.account, name); err != nil {
		return nil, err
	}
	desc := r.p.str("Description")
	if !r.p.has("Description") {
		desc = src.description
	}
	im := &image{
		id: r.e.newID("ami"), name: name, description: desc, owner: r.account,
		state: "pending", readyAt: r.e.readyAt(r.now),
		arch: src.arch, virtType: src.virtType, rootDeviceType: src.rootDeviceType, rootDevice: src.rootDevice,
		platform: src.platform, enaSupport: src.enaSupport, sriov: src.sriov, bootMode: src.bootMode,
		created: r.now, sourceImageID: src.id, sourceRegion: srcRegion, failReason: fail,
	}
	for _, b := range src.bdms {
		nb := b
		if b.ebs != nil {
			spec := *b.ebs
			spec.encrypted = keyARN != ""
			if spec.snapshotID != "" {
				snap := r.newSnapshot("vol-ffffffff", spec.size, spec.encrypted,
					"Copied for DestinationAmi "+im.id+" from SourceAmi "+src.id+" for SourceSnapshot "+spec.snapshotID)
				snap.tags.setAll(r.account, specs["snapshot"], r.now)
				snap.kmsKey = keyARN
				spec.snapshotID = snap.id
			}
			nb.ebs = &spec
		}
		im.bdms = append(im.bdms, nb)
	}
	if copyTags {
		// "Your user-defined AMI tags": the tags the caller sees on the
		// source, which for the owner are the image's tags.
		for k, v := range src.tags.visible(r.account, r.now) {
			im.tags.set(r.account, k, v, r.now, r.now)
		}
	}
	im.tags.setAll(r.account, specs["image"], r.now)
	r.rs.images[im.id] = im
	r.rs.saveToken(r.account, "CopyImage", token, digest, []string{im.id})
	return &imageIDResponse{ImageID: im.id}, nil
}

// ---- DeregisterImage

type deregisterImageResponse struct {
	meta
	Return                  bool                         `xml:"return"`
	DeleteSnapshotResultSet *items[deleteSnapshotResult] `xml:"deleteSnapshotResultSet,omitempty"`
}

type deleteSnapshotResult struct {
	SnapshotID string `xml:"snapshotId"`
	ReturnCode string `xml:"returnCode"`
}

func deregisterImage(r *request) (any, error) {
	im, err := r.ownImageParam()
	if err != nil {
		return nil, err
	}
	delSnaps, err := r.p.boolean("DeleteAssociatedSnapshots", false)
	if err != nil {
		return nil, err
	}
	if err := r.checkDeregistrable(im); err != nil {
		return nil, err
	}
	delete(r.rs.images, im.id)
	resp := &deregisterImageResponse{Return: true}
	if delSnaps {
		resp.DeleteSnapshotResultSet = &items[deleteSnapshotResult]{}
		for _, sid := range im.snapshotIDs() {
			code := "success"
			if s, ok := r.rs.snapshots[sid]; !ok || s.owner != r.account {
				code = "error-code"
			} else if r.rs.snapshotUser(sid) != nil {
				code = "client-error"
			} else {
				delete(r.rs.snapshots, sid)
			}
			resp.DeleteSnapshotResultSet.Items = append(resp.DeleteSnapshotResultSet.Items, deleteSnapshotResult{sid, code})
		}
	}
	return resp, nil
}

// ---- ModifyImageAttribute, ResetImageAttribute, DescribeImageAttribute

type returnResponse struct {
	meta
	Return bool `xml:"return"`
}

// imageAttribute reads the ImageId and Attribute parameters of the
// *ImageAttribute actions and finds the caller's own image.
func (r *request) imageAttribute() (*image, string, error) {
	id, err := r.p.required("ImageId")
	if err != nil {
		return nil, "", err
	}
	attr, err := r.p.required("Attribute")
	if err != nil {
		return nil, "", err
	}
	im, err := r.ownImage(id)
	return im, attr, err
}

func resetImageAttribute(r *request) (any, error) {
	im, attr, err := r.imageAttribute()
	if err != nil {
		return nil, err
	}
	if attr != "launchPermission" {
		return nil, invalidParameter("Value (%s) for parameter attribute is invalid. Only launchPermission can be reset.", attr)
	}
	im.public = false
	im.sharedWith = nil
	return &returnResponse{Return: true}, nil
}

type valueXML struct {
	Value string `xml:"value"`
}

type describeImageAttributeResponse struct {
	meta
	ImageID            string                      `xml:"imageId"`
	LaunchPermission   *items[launchPermissionXML] `xml:"launchPermission,omitempty"`
	Description        *valueXML                   `xml:"description,omitempty"`
	BlockDeviceMapping *items[bdmXML]              `xml:"blockDeviceMapping,omitempty"`
	SriovNetSupport    *valueXML                   `xml:"sriovNetSupport,omitempty"`
	BootMode           *valueXML                   `xml:"bootMode,omitempty"`
	Kernel             *valueXML                   `xml:"kernel,omitempty"`
	Ramdisk            *valueXML                   `xml:"ramdisk,omitempty"`
	ProductCodes       *items[struct{}]            `xml:"productCodes,omitempty"`
	LastLaunchedTime   *valueXML                   `xml:"lastLaunchedTime,omitempty"`
	DeregProtection    *valueXML                   `xml:"deregistrationProtection,omitempty"`
}

func describeImageAttribute(r *request) (any, error) {
	im, attr, err := r.imageAttribute()
	if err != nil {
		return nil, err
	}
	resp := &describeImageAttributeResponse{ImageID: im.id}
	switch attr {
	case "launchPermission":
		resp.LaunchPermission = im.launchPermissionItems()
	case "description":
		resp.Description = &valueXML{im.description}
	case "blockDeviceMapping":
		resp.BlockDeviceMapping = &items[bdmXML]{bdmXMLs(im.bdms)}
	case "sriovNetSupport":
		resp.SriovNetSupport = &valueXML{im.sriov}
	case "bootMode":
		resp.BootMode = &valueXML{im.bootMode}
	case "kernel":
		resp.Kernel = &valueXML{}
	case "ramdisk":
		resp.Ramdisk = &valueXML{}
	case "productCodes":
		resp.ProductCodes = &items[struct{}]{}
	case "lastLaunchedTime":
		resp.LastLaunchedTime = &valueXML{}
		if !im.lastLaunched.IsZero() {
			resp.LastLaunchedTime.Value = awsTime(im.lastLaunched)
		}
	case "deregistrationProtection":
		resp.DeregProtection = &valueXML{im.protectionValue(r.now)}
	case "imdsSupport", "tpmSupport", "uefiData":
		return nil, unsupported("image attribute %s is not modelled", attr)
	default:
		return nil, invalidParameter("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return resp, nil
}
