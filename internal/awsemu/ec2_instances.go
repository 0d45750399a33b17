package awsemu

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// instance is an EC2 instance. Nothing runs: only the lifecycle and the
// attached EBS volumes are modelled.
type instance struct {
	id, owner, reservationID, imageID, instanceType string
	// state moves to the next settled state at readyAt (see advance).
	state, transitionReason, stateReasonCode string
	readyAt, terminatedAt                    time.Time
	launched                                 time.Time
	launchIndex                              int

	keyName, subnetID, vpcID, az, privateIP, publicIP string
	groups                                            []groupRef
	bdms                                              []attachment
	tags                                              tagStore
	clientToken                                       string

	arch, virtType, rootDevice, platform string
	enaSupport, ebsOptimized             bool
	sourceDestCheck, apiTermination      bool
	sriov, bootMode, shutdownBehavior    string
	iamProfile                           string
}

type groupRef struct{ id, name string }

type attachment struct {
	device, volumeID string
}

// maxInstances is the default per-account, per-region quota of
// non-terminated instances (Options.InstanceQuota changes it).
const maxInstances = 20

var stateCodes = map[string]int{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

func (in *instance) setState(s, reason string, now time.Time) {
	in.state = s
	switch s {
	case "stopping", "stopped", "shutting-down", "terminated":
		if reason != "" {
			in.transitionReason = fmt.Sprintf("%s (%s)", reason, now.UTC().Format("2006-01-02 15:04:05 MST"))
		}
		in.stateReasonCode = "Client.UserInitiatedShutdown"
	default:
		in.transitionReason, in.stateReasonCode = "", ""
	}
}

func (in *instance) groupIDs() []string {
	var out []string
	for _, g := range in.groups {
		out = append(out, g.id)
	}
	return out
}

func (r *request) ownInstance(id string) (*instance, error) {
	return ownByID(r, r.rs.instances, id, "i", "InvalidInstanceID.Malformed",
		notFoundList("InvalidInstanceID.NotFound", "instance ID", []string{id}))
}

// ownInstances resolves InstanceId.N, all or nothing.
func (r *request) ownInstances(required bool) ([]*instance, error) {
	ids := r.p.list("InstanceId")
	if len(ids) == 0 && required {
		return nil, missingParameter("InstanceId")
	}
	if err := checkIDs(ids, "i", "InvalidInstanceID.Malformed"); err != nil {
		return nil, err
	}
	var out []*instance
	var missing []string
	for _, id := range ids {
		in, ok := r.rs.instances[id]
		if !ok || in.owner != r.account {
			missing = append(missing, id)
			continue
		}
		out = append(out, in)
	}
	if len(missing) > 0 {
		return nil, notFoundList("InvalidInstanceID.NotFound", "instance ID", missing)
	}
	return out, nil
}

// ---- XML

type instanceStateXML struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

func stateXML(s string) instanceStateXML { return instanceStateXML{stateCodes[s], s} }

type placementXML struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	Tenancy          string `xml:"tenancy"`
}

type groupXML struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

type instanceBDMXML struct {
	DeviceName string         `xml:"deviceName"`
	Ebs        instanceEBSXML `xml:"ebs"`
}

type instanceEBSXML struct {
	VolumeID            string `xml:"volumeId"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

type iamProfileXML struct {
	Arn string `xml:"arn"`
	ID  string `xml:"id"`
}

type instanceXML struct {
	InstanceID     string           `xml:"instanceId"`
	ImageID        string           `xml:"imageId"`
	InstanceState  instanceStateXML `xml:"instanceState"`
	PrivateDNSName string           `xml:"privateDnsName"`
	DNSName        string           `xml:"dnsName"`
	Reason         string           `xml:"reason"`
	KeyName        string           `xml:"keyName,omitempty"`
	AmiLaunchIndex int              `xml:"amiLaunchIndex"`
	InstanceType   string           `xml:"instanceType"`
	LaunchTime     string           `xml:"launchTime"`
	Placement      placementXML     `xml:"placement"`
	Platform       string           `xml:"platform,omitempty"`
	Monitoring     struct {
		State string `xml:"state"`
	} `xml:"monitoring"`
	SubnetID           string           `xml:"subnetId,omitempty"`
	VpcID              string           `xml:"vpcId,omitempty"`
	PrivateIPAddress   string           `xml:"privateIpAddress,omitempty"`
	IPAddress          string           `xml:"ipAddress,omitempty"`
	SourceDestCheck    bool             `xml:"sourceDestCheck"`
	GroupSet           []groupXML       `xml:"groupSet>item"`
	StateReason        *stateReasonXML  `xml:"stateReason,omitempty"`
	Architecture       string           `xml:"architecture"`
	RootDeviceType     string           `xml:"rootDeviceType"`
	RootDeviceName     string           `xml:"rootDeviceName"`
	BlockDeviceMapping []instanceBDMXML `xml:"blockDeviceMapping>item"`
	VirtualizationType string           `xml:"virtualizationType"`
	ClientToken        string           `xml:"clientToken"`
	TagSet             []tagXML         `xml:"tagSet>item,omitempty"`
	Hypervisor         string           `xml:"hypervisor"`
	IamInstanceProfile *iamProfileXML   `xml:"iamInstanceProfile,omitempty"`
	EbsOptimized       bool             `xml:"ebsOptimized"`
	EnaSupport         bool             `xml:"enaSupport"`
	SriovNetSupport    string           `xml:"sriovNetSupport,omitempty"`
	BootMode           string           `xml:"bootMode,omitempty"`
}

func (r *request) instanceXML(in *instance) instanceXML {
	x := instanceXML{
		InstanceID: in.id, ImageID: in.imageID, InstanceState: stateXML(in.state), Reason: in.transitionReason,
		KeyName: in.keyName, AmiLaunchIndex: in.launchIndex, InstanceType: in.instanceType,
		LaunchTime: awsTime(in.launched), Placement: placementXML{AvailabilityZone: in.az, Tenancy: "default"},
		Platform: in.platform, SourceDestCheck: in.sourceDestCheck, Architecture: in.arch,
		RootDeviceType: "ebs", RootDeviceName: in.rootDevice, VirtualizationType: in.virtType,
		ClientToken: in.clientToken, TagSet: tagXMLs(in.tags.visible(r.account, r.now)), Hypervisor: "xen",
		EbsOptimized: in.ebsOptimized, EnaSupport: in.enaSupport, SriovNetSupport: in.sriov, BootMode: in.bootMode,
	}
	x.Monitoring.State = "disabled"
	if in.state != "terminated" {
		x.SubnetID, x.VpcID, x.PrivateIPAddress = in.subnetID, in.vpcID, in.privateIP
		x.PrivateDNSName = privateDNS(r.region, in.privateIP)
		for _, g := range in.groups {
			x.GroupSet = append(x.GroupSet, groupXML{g.id, g.name})
		}
		for _, a := range in.bdms {
			v, ok := r.rs.volumes[a.volumeID]
			if !ok {
				continue
			}
			x.BlockDeviceMapping = append(x.BlockDeviceMapping, instanceBDMXML{a.device, instanceEBSXML{
				VolumeID: v.id, Status: "attached", AttachTime: awsTime(v.attachTime), DeleteOnTermination: v.deleteOnTermination,
			}})
		}
	}
	if in.state == "running" || in.state == "pending" {
		x.IPAddress = in.publicIP
		if in.publicIP != "" {
			x.DNSName = "ec2-" + strings.ReplaceAll(in.publicIP, ".", "-") + ".compute-1.amazonaws.com"
		}
	}
	// EC2 explains pending instances too (code and message "pending");
	// packer 1.6.6 dereferences StateReason.Message when interrupted while
	// waiting for a pending instance.
	switch {
	case in.state == "pending":
		x.StateReason = &stateReasonXML{"pending", "pending"}
	case in.stateReasonCode != "":
		x.StateReason = &stateReasonXML{in.stateReasonCode, in.stateReasonCode + ": User initiated shutdown"}
	}
	if in.iamProfile != "" {
		x.IamInstanceProfile = &iamProfileXML{Arn: in.iamProfile, ID: "AIPA" + strings.ToUpper(in.id[2:])}
	}
	return x
}

func privateDNS(region, ip string) string {
	host := "ip-" + strings.ReplaceAll(ip, ".", "-")
	if region == "us-east-1" {
		return host + ".ec2.internal"
	}
	return host + "." + region + ".compute.internal"
}

// ---- RunInstances

type reservationXML struct {
	meta
	ReservationID string             `xml:"reservationId"`
	OwnerID       string             `xml:"ownerId"`
	GroupSet      items[groupXML]    `xml:"groupSet"`
	InstancesSet  items[instanceXML] `xml:"instancesSet"`
}

var instanceTypePattern = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9-]+$`)

// launch is a RunInstances request, read and checked step by step in EC2's
// order of errors.
type launch struct {
	imageID, itype, keyName, token string
	minCount, maxCount             int

	im                       *image
	sub                      *subnet
	groups                   []groupRef
	publicIP, ebsOpt, noTerm bool
	overrides                []bdm
	specs                    map[string][]tag
}

// plannedVolume is a volume RunInstances will create for each instance.
type plannedVolume struct {
	device string
	spec   ebsSpec
}

func runInstances(r *request) (any, error) {
	l, err := r.launchParams()
	if err != nil {
		return nil, err
	}
	digest := strings.Join([]string{l.imageID, l.itype, strconv.Itoa(l.minCount), strconv.Itoa(l.maxCount), l.keyName, r.p.str("SubnetId")}, "\x00")
	if prev, ok, err := r.rs.claimToken(r.account, "RunInstances", l.token, digest); err != nil {
		return nil, err
	} else if ok {
		return r.reservationResponse(prev.ids), nil
	}
	if err := r.resolveLaunch(l); err != nil {
		return nil, err
	}
	count, err := r.launchCount(l.minCount, l.maxCount)
	if err != nil {
		return nil, err
	}
	// Resolve the volumes once, before anything is created, so that a bad
	// mapping leaves no trace.
	planned, err := r.planVolumes(l.im, l.overrides)
	if err != nil {
		return nil, err
	}
	resID := r.e.newID("r")
	var ids []string
	for i := 0; i < count; i++ {
		ids = append(ids, r.launchInstance(l, resID, i, planned).id)
	}
	r.rs.saveToken(r.account, "RunInstances", l.token, digest, ids)
	return r.reservationResponse(ids), nil
}

// launchParams reads what RunInstances checks before its idempotency token.
func (r *request) launchParams() (*launch, error) {
	if r.p.hasPrefix("LaunchTemplate.") || r.p.hasPrefix("InstanceMarketOptions.") || r.p.hasPrefix("ElasticGpuSpecification") {
		return nil, unsupported("launch templates, spot market options and elastic GPUs are not modelled")
	}
	l := &launch{keyName: r.p.str("KeyName"), token: r.p.str("ClientToken")}
	var err error
	if l.imageID, err = r.p.required("ImageId"); err != nil {
		return nil, err
	}
	if l.minCount, err = r.p.integer("MinCount", 0); err != nil {
		return nil, err
	}
	if l.maxCount, err = r.p.integer("MaxCount", 0); err != nil {
		return nil, err
	}
	if !r.p.has("MinCount") {
		return nil, missingParameter("MinCount")
	}
	if !r.p.has("MaxCount") {
		return nil, missingParameter("MaxCount")
	}
	if l.minCount < 1 || l.maxCount < l.minCount {
		return nil, invalidParameter("Invalid value for MinCount (%d) and MaxCount (%d): need 1 <= MinCount <= MaxCount", l.minCount, l.maxCount)
	}
	l.itype = r.p.str("InstanceType")
	if l.itype == "" {
		l.itype = "m1.small"
	}
	if !instanceTypePattern.MatchString(l.itype) {
		return nil, invalidParameter("Invalid value '%s' for InstanceType.", l.itype)
	}
	return l, nil
}

// resolveLaunch finds the image, key pair, subnet and groups, and reads the
// remaining parameters.
func (r *request) resolveLaunch(l *launch) error {
	var err error
	if l.im, err = r.visibleImage(r.rs, l.imageID); err != nil {
		return err
	}
	if l.im.state != "available" {
		return errorf("InvalidAMIID.Unavailable", "AMI '%s' is %s, and cannot be run", l.im.id, l.im.state)
	}
	if l.keyName != "" && r.rs.keyPairByName(r.account, l.keyName) == nil {
		return errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", l.keyName)
	}
	if l.sub, err = r.launchSubnet(); err != nil {
		return err
	}
	if l.groups, err = r.launchGroups(l.sub.vpcID); err != nil {
		return err
	}
	l.publicIP = true
	if r.p.has("NetworkInterface.1.AssociatePublicIpAddress") {
		if l.publicIP, err = r.p.boolean("NetworkInterface.1.AssociatePublicIpAddress", true); err != nil {
			return err
		}
	}
	if l.overrides, err = r.p.blockDevices("BlockDeviceMapping"); err != nil {
		return err
	}
	if l.specs, err = r.p.tagSpecs("instance", "volume", "network-interface"); err != nil {
		return err
	}
	if l.ebsOpt, err = r.p.boolean("EbsOptimized", false); err != nil {
		return err
	}
	l.noTerm, err = r.p.boolean("DisableApiTermination", false)
	return err
}

// launchCount is how many instances to start: up to maxCount as the quota
// allows, and at least minCount or none.
func (r *request) launchCount(minCount, maxCount int) (int, error) {
	live := 0
	for _, in := range r.rs.instances {
		if in.owner == r.account && in.state != "terminated" && in.state != "shutting-down" {
			live++
		}
	}
	quota := maxInstances
	if r.e.opts.InstanceQuota > 0 {
		quota = r.e.opts.InstanceQuota
	}
	if live+minCount > quota {
		return 0, errorf("InstanceLimitExceeded", "Your quota allows for %d more running instance(s). You requested at least %d.", quota-live, minCount)
	}
	return min(maxCount, quota-live), nil
}

// planVolumes merges the image's block devices with the request's
// overrides and additions.
func (r *request) planVolumes(im *image, overrides []bdm) ([]plannedVolume, error) {
	var planned []plannedVolume
	for _, b := range im.bdms {
		if b.ebs == nil {
			continue
		}
		spec := *b.ebs
		if ov := findBDM(overrides, b.device); ov != nil {
			if ov.noDevice {
				continue
			}
			if ov.ebs != nil {
				if err := mergeEBS(&spec, ov.ebs); err != nil {
					return nil, err
				}
			}
		}
		planned = append(planned, plannedVolume{b.device, spec})
	}
	for _, ov := range overrides {
		if ov.noDevice || ov.ebs == nil || findBDM(im.bdms, ov.device) != nil {
			continue
		}
		spec := *ov.ebs
		if spec.snapshotID != "" {
			s, err := r.ownSnapshot(spec.snapshotID)
			if err != nil {
				return nil, err
			}
			spec.size = max(spec.size, s.size)
		} else if spec.size == 0 {
			return nil, errorf("InvalidBlockDeviceMapping", "The block device mapping for %s needs a VolumeSize or a SnapshotId", ov.device)
		}
		if spec.volumeType == "" {
			spec.volumeType = "gp2"
		}
		planned = append(planned, plannedVolume{ov.device, spec})
	}
	return planned, nil
}

// launchInstance creates the i-th instance of reservation resID, with its
// volumes.
func (r *request) launchInstance(l *launch, resID string, i int, planned []plannedVolume) *instance {
	im, sub := l.im, l.sub
	im.lastLaunched = r.now
	in := &instance{
		id: r.e.newID("i"), owner: r.account, reservationID: resID, imageID: im.id, instanceType: l.itype,
		state: "pending", readyAt: r.e.readyAt(r.now), launched: r.now, launchIndex: i,
		keyName: l.keyName, subnetID: sub.id, vpcID: sub.vpcID, az: sub.az, groups: l.groups,
		clientToken: l.token, arch: im.arch, virtType: im.virtType, rootDevice: im.rootDevice,
		platform: im.platform, enaSupport: im.enaSupport, ebsOptimized: l.ebsOpt, sourceDestCheck: true,
		apiTermination: l.noTerm, sriov: im.sriov, bootMode: im.bootMode,
		shutdownBehavior: r.p.str("InstanceInitiatedShutdownBehavior"),
		iamProfile:       r.p.str("IamInstanceProfile.Arn"),
	}
	if name := r.p.str("IamInstanceProfile.Name"); name != "" {
		in.iamProfile = "arn:aws:iam::" + r.account + ":instance-profile/" + name
	}
	in.privateIP = privateIP(sub, in.id)
	if l.publicIP {
		in.publicIP = "203.0.113." + strconv.Itoa(1+int(in.id[2])%250)
	}
	for _, pv := range planned {
		v := &volume{
			id: r.e.newID("vol"), owner: r.account, az: sub.az, snapshotID: pv.spec.snapshotID,
			volumeType: pv.spec.volumeType, size: pv.spec.size, iops: pv.spec.iops, encrypted: pv.spec.encrypted,
			created: r.now, instanceID: in.id, device: pv.device, deleteOnTermination: pv.spec.deleteOnTermination,
			attachTime: r.now,
		}
		v.tags.setAll(r.account, l.specs["volume"], r.now)
		r.rs.volumes[v.id] = v
		in.bdms = append(in.bdms, attachment{device: pv.device, volumeID: v.id})
	}
	in.tags.setAll(r.account, l.specs["instance"], r.now)
	r.rs.instances[in.id] = in
	return in
}

func (r *request) reservationResponse(ids []string) *reservationXML {
	resp := &reservationXML{OwnerID: r.account}
	for _, id := range ids {
		in, ok := r.rs.instances[id]
		if !ok {
			continue
		}
		resp.ReservationID = in.reservationID
		resp.InstancesSet.Items = append(resp.InstancesSet.Items, r.instanceXML(in))
	}
	return resp
}

func privateIP(s *subnet, id string) string {
	base, _ := strconv.Atoi(strings.Split(s.cidr, ".")[2])
	h, _ := strconv.ParseUint(id[len(id)-4:], 16, 32)
	return fmt.Sprintf("172.31.%d.%d", base+int(h>>8)%16, 4+int(h&0xff)%250)
}

// launchSubnet picks the subnet from SubnetId, the first network interface,
// Placement.AvailabilityZone, or the first default subnet.
func (r *request) launchSubnet() (*subnet, error) {
	id := r.p.str("SubnetId")
	if id == "" {
		id = r.p.str("NetworkInterface.1.SubnetId")
	}
	n := r.rs.networkFor(r.account)
	if id != "" {
		if err := checkIDs([]string{id}, "subnet", "InvalidSubnetID.Malformed"); err != nil {
			return nil, err
		}
		s := r.rs.subnet(r.account, id)
		if s == nil {
			return nil, errorf("InvalidSubnetID.NotFound", "The subnet ID '%s' does not exist", id)
		}
		return s, nil
	}
	if az := r.p.str("Placement.AvailabilityZone"); az != "" {
		for _, s := range n.subnets {
			if s.az == az {
				return s, nil
			}
		}
		return nil, invalidParameter("Invalid availability zone: [%s]", az)
	}
	return n.subnets[0], nil
}

// launchGroups resolves SecurityGroupId.N, SecurityGroup.N (names) and the
// first network interface's SecurityGroupId.N, all in vpcID.
func (r *request) launchGroups(vpcID string) ([]groupRef, error) {
	ids := append(r.p.list("SecurityGroupId"), r.p.list("NetworkInterface.1.SecurityGroupId")...)
	var out []groupRef
	for _, id := range ids {
		g, err := r.ownGroup(id, "")
		if err != nil {
			return nil, err
		}
		if g.vpcID != vpcID {
			return nil, invalidParameter("Security group %s and subnet belong to different networks.", id)
		}
		out = append(out, groupRef{g.id, g.name})
	}
	for _, name := range r.p.list("SecurityGroup") {
		g, err := r.ownGroup("", name)
		if err != nil {
			return nil, err
		}
		out = append(out, groupRef{g.id, g.name})
	}
	return slices.CompactFunc(out, func(a, b groupRef) bool { return a.id == b.id }), nil
}

// ---- DescribeInstances

type describeInstancesResponse struct {
	meta
	ReservationSet items[reservationItemXML] `xml:"reservationSet"`
	NextToken      string                    `xml:"nextToken,omitempty"`
}

type reservationItemXML struct {
	ReservationID string             `xml:"reservationId"`
	OwnerID       string             `xml:"ownerId"`
	GroupSet      items[groupXML]    `xml:"groupSet"`
	InstancesSet  items[instanceXML] `xml:"instancesSet"`
}

var instanceFields = fields[*instance]{
	"instance-id":         func(in *instance) []string { return one(in.id) },
	"instance-state-name": func(in *instance) []string { return one(in.state) },
	"instance-state-code": func(in *instance) []string { return intStr(stateCodes[in.state]) },
	"instance-type":       func(in *instance) []string { return one(in.instanceType) },
	"image-id":            func(in *instance) []string { return one(in.imageID) },
	"key-name":            func(in *instance) []string { return one(in.keyName) },
	"subnet-id":           func(in *instance) []string { return one(in.subnetID) },
	"vpc-id":              func(in *instance) []string { return one(in.vpcID) },
	"availability-zone":   func(in *instance) []string { return one(in.az) },
	"reservation-id":      func(in *instance) []string { return one(in.reservationID) },
	"owner-id":            func(in *instance) []string { return one(in.owner) },
	"private-ip-address":  func(in *instance) []string { return one(in.privateIP) },
	"ip-address":          func(in *instance) []string { return one(in.publicIP) },
	"architecture":        func(in *instance) []string { return one(in.arch) },
	"root-device-type":    func(*instance) []string { return one("ebs") },
	"launch-time":         func(in *instance) []string { return one(awsTime(in.launched)) },
	"client-token":        func(in *instance) []string { return one(in.clientToken) },
	"instance.group-id":   func(in *instance) []string { return in.groupIDs() },
	"group-id":            func(in *instance) []string { return in.groupIDs() },
	"instance.group-name": func(in *instance) []string { return in.groupNames() },
	"group-name":          func(in *instance) []string { return in.groupNames() },
	"block-device-mapping.volume-id": func(in *instance) []string {
		var out []string
		for _, a := range in.bdms {
			out = append(out, a.volumeID)
		}
		return out
	},
}

func (in *instance) groupNames() []string {
	var out []string
	for _, g := range in.groups {
		out = append(out, g.name)
	}
	return out
}

// ownOrAllInstances are the instances named by InstanceId.N (refusing any
// the caller does not own), or all the caller's when none are named.
func ownOrAllInstances(r *request, ids []string) ([]*instance, error) {
	if len(ids) == 0 {
		return valuesWhere(r.rs.instances, ownedBy[*instance](r.account)), nil
	}
	return r.ownInstances(false)
}

var instancesDescribe = &describe[*instance]{
	render:  instancesResponse,
	idParam: "InstanceId", minPage: 5, maxPage: 1000,
	fields: instanceFields,
	tags:   visibleTagsOf[*instance],
	key:    func(in *instance) string { return in.id },
	list:   ownOrAllInstances,
}

func instancesResponse(r *request, page []*instance, next string) any {
	// Group by reservation, in the order reservations first appear.
	slices.SortStableFunc(page, func(a, b *instance) int { return strings.Compare(a.reservationID, b.reservationID) })
	resp := &describeInstancesResponse{NextToken: next}
	for _, in := range page {
		n := len(resp.ReservationSet.Items)
		if n == 0 || resp.ReservationSet.Items[n-1].ReservationID != in.reservationID {
			resp.ReservationSet.Items = append(resp.ReservationSet.Items, reservationItemXML{ReservationID: in.reservationID, OwnerID: in.owner})
			n++
		}
		res := &resp.ReservationSet.Items[n-1]
		res.InstancesSet.Items = append(res.InstancesSet.Items, r.instanceXML(in))
	}
	return resp
}

// ---- DescribeInstanceStatus

type statusDetailXML struct {
	Name   string `xml:"name"`
	Status string `xml:"status"`
}

type statusSummaryXML struct {
	Status  string            `xml:"status"`
	Details []statusDetailXML `xml:"details>item"`
}

type instanceStatusXML struct {
	InstanceID       string           `xml:"instanceId"`
	AvailabilityZone string           `xml:"availabilityZone"`
	InstanceState    instanceStateXML `xml:"instanceState"`
	SystemStatus     statusSummaryXML `xml:"systemStatus"`
	InstanceStatus   statusSummaryXML `xml:"instanceStatus"`
}

type describeInstanceStatusResponse struct {
	meta
	InstanceStatusSet items[instanceStatusXML] `xml:"instanceStatusSet"`
	NextToken         string                   `xml:"nextToken,omitempty"`
}

func (in *instance) checkStatus() string {
	if in.state == "running" {
		return "ok"
	}
	return "not-applicable"
}

var instanceStatusFields = fields[*instance]{
	"instance-state-name":    func(in *instance) []string { return one(in.state) },
	"instance-state-code":    func(in *instance) []string { return intStr(stateCodes[in.state]) },
	"availability-zone":      func(in *instance) []string { return one(in.az) },
	"instance-status.status": func(in *instance) []string { return one(in.checkStatus()) },
	"system-status.status":   func(in *instance) []string { return one(in.checkStatus()) },
}

var instanceStatusDescribe = &describe[*instance]{
	render:  instanceStatusResponse,
	idParam: "InstanceId", minPage: 5, maxPage: 1000,
	fields: instanceStatusFields,
	key:    func(in *instance) string { return in.id },
	list: func(r *request, ids []string) ([]*instance, error) {
		includeAll, err := r.p.boolean("IncludeAllInstances", false)
		if err != nil {
			return nil, err
		}
		all, err := ownOrAllInstances(r, ids)
		if err == nil && !includeAll {
			all = slices.DeleteFunc(all, func(in *instance) bool { return in.state != "running" })
		}
		return all, err
	},
}

func instanceStatusResponse(r *request, page []*instance, next string) any {
	return &describeInstanceStatusResponse{NextToken: next, InstanceStatusSet: itemsOf(page, func(in *instance) instanceStatusXML {
		st := in.checkStatus()
		detail := "passed"
		if st != "ok" {
			detail = "not-applicable"
		}
		sum := statusSummaryXML{Status: st, Details: []statusDetailXML{{"reachability", detail}}}
		return instanceStatusXML{
			InstanceID: in.id, AvailabilityZone: in.az, InstanceState: stateXML(in.state),
			SystemStatus: sum, InstanceStatus: sum,
		}
	})}
}

// ---- StopInstances, StartInstances, TerminateInstances

type stateChangeXML struct {
	InstanceID    string           `xml:"instanceId"`
	CurrentState  instanceStateXML `xml:"currentState"`
	PreviousState instanceStateXML `xml:"previousState"`
}

type stateChangeResponse struct {
	meta
	InstancesSet items[stateChangeXML] `xml:"instancesSet"`
}

// transition checks every instance with check, then applies apply to each:
// EC2 changes all of them or none.
func (r *request) transition(check func(*instance) error, apply func(*instance)) (any, error) {
	ins, err := r.ownInstances(true)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if err := check(in); err != nil {
			return nil, err
		}
	}
	resp := &stateChangeResponse{}
	for _, in := range ins {
		prev := in.state
		apply(in)
		resp.InstancesSet.Items = append(resp.InstancesSet.Items, stateChangeXML{in.id, stateXML(in.state), stateXML(prev)})
	}
	return resp, nil
}

func stopInstances(r *request) (any, error) {
	if hib, err := r.p.boolean("Hibernate", false); err != nil {
		return nil, err
	} else if hib {
		return nil, unsupported("hibernation is not modelled")
	}
	return r.transition(func(in *instance) error {
		switch in.state {
		case "shutting-down", "terminated":
			return errorf("IncorrectInstanceState", "This instance '%s' is not in a state from which it can be stopped.", in.id)
		}
		return nil
	}, func(in *instance) {
		if in.state == "pending" || in.state == "running" {
			in.setState("stopping", "User initiated", r.now)
			in.readyAt = r.e.readyAt(r.now)
		}
	})
}

func startInstances(r *request) (any, error) {
	return r.transition(func(in *instance) error {
		switch in.state {
		case "stopping", "shutting-down", "terminated":
			return errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be started.", in.id)
		}
		return nil
	}, func(in *instance) {
		if in.state == "stopped" {
			in.setState("pending", "", r.now)
			in.readyAt = r.e.readyAt(r.now)
		}
	})
}

func terminateInstances(r *request) (any, error) {
	return r.transition(func(in *instance) error {
		if in.apiTermination && in.state != "terminated" {
			return errorf("OperationNotPermitted", "The instance '%s' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again.", in.id)
		}
		return nil
	}, func(in *instance) {
		if in.state != "terminated" && in.state != "shutting-down" {
			in.setState("shutting-down", "User initiated", r.now)
			in.readyAt = r.e.readyAt(r.now)
		}
	})
}

// ---- ModifyInstanceAttribute

func modifyInstanceAttribute(r *request) (any, error) {
	id, err := r.p.required("InstanceId")
	if err != nil {
		return nil, err
	}
	in, err := r.ownInstance(id)
	if err != nil {
		return nil, err
	}
	set := r.p.instanceAttributes()
	groups := r.p.list("GroupId")
	if len(groups) == 0 && r.p.str("Attribute") == "groupSet" {
		return nil, missingParameter("GroupId")
	}
	delete(set, "groupSet")
	bdms := r.p.hasPrefix("BlockDeviceMapping.")
	if len(set) == 0 && len(groups) == 0 && !bdms {
		return nil, errorf("InvalidParameterCombination", "No attributes specified.")
	}
	if len(set)+btoi(len(groups) > 0)+btoi(bdms) > 1 {
		return nil, errorf("InvalidParameterCombination", "Fields for multiple attribute types specified")
	}
	if in.state == "terminated" || in.state == "shutting-down" {
		return nil, errorf("IncorrectInstanceState", "The instance '%s' is not in a state from which it can be modified.", in.id)
	}
	// Exactly one of the three is asked for.
	for attr, v := range set {
		err = setInstanceAttribute(in, attr, v)
	}
	if len(groups) > 0 {
		err = r.setInstanceGroups(in, groups)
	}
	if bdms {
		err = r.setDeleteOnTermination(in)
	}
	if err != nil {
		return nil, err
	}
	return &returnResponse{Return: true}, nil
}

// instanceAttributes collects attribute -> value from both request styles:
// Attribute+Value and Name.Value.
func (p params) instanceAttributes() map[string]string {
	set := map[string]string{}
	if attr := p.str("Attribute"); attr != "" {
		set[attr] = p.str("Value")
	}
	for param, attr := range map[string]string{
		"InstanceType.Value": "instanceType", "UserData.Value": "userData", "EnaSupport.Value": "enaSupport",
		"SriovNetSupport.Value": "sriovNetSupport", "SourceDestCheck.Value": "sourceDestCheck",
		"DisableApiTermination.Value": "disableApiTermination", "EbsOptimized.Value": "ebsOptimized",
		"InstanceInitiatedShutdownBehavior.Value": "instanceInitiatedShutdownBehavior",
		"DisableApiStop.Value":                    "disableApiStop",
	} {
		if p.has(param) {
			set[attr] = p.str(param)
		}
	}
	return set
}

// setInstanceAttribute sets one attribute named as in the Attribute
// parameter.
func setInstanceAttribute(in *instance, attr, v string) error {
	notStopped := errorf("IncorrectInstanceState", "The instance '%s' is not in the 'stopped' state.", in.id)
	switch attr {
	case "instanceType":
		if in.state != "stopped" {
			return notStopped
		}
		if !instanceTypePattern.MatchString(v) {
			return invalidParameter("Invalid value '%s' for InstanceType.", v)
		}
		in.instanceType = v
	case "enaSupport":
		b, err := attributeBool(attr, v)
		if err != nil {
			return err
		}
		if in.state != "stopped" {
			return notStopped
		}
		in.enaSupport = b
	case "sriovNetSupport":
		if v != "simple" {
			return invalidParameter("Value (%s) for parameter sriovNetSupport is invalid. Only simple is supported.", v)
		}
		in.sriov = v
	case "sourceDestCheck", "disableApiTermination", "ebsOptimized", "disableApiStop":
		b, err := attributeBool(attr, v)
		if err != nil {
			return err
		}
		switch attr {
		case "sourceDestCheck":
			in.sourceDestCheck = b
		case "disableApiTermination":
			in.apiTermination = b
		case "ebsOptimized":
			in.ebsOptimized = b
		}
	case "instanceInitiatedShutdownBehavior":
		if v != "stop" && v != "terminate" {
			return invalidParameter("Value (%s) for parameter instanceInitiatedShutdownBehavior is invalid.", v)
		}
		in.shutdownBehavior = v
	case "userData":
		// Accepted and dropped: nothing runs.
	default:
		return unsupported("instance attribute %s is not modelled", attr)
	}
	return nil
}

// attributeBool reads an attribute's boolean value, in any case.
func attributeBool(attr, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, invalidParameter("Value (%s) for parameter %s is invalid. Expected a boolean", v, attr)
}

// setInstanceGroups replaces the instance's security groups.
func (r *request) setInstanceGroups(in *instance, groups []string) error {
	var refs []groupRef
	for _, gid := range groups {
		g, err := r.ownGroup(gid, "")
		if err != nil {
			return err
		}
		refs = append(refs, groupRef{g.id, g.name})
	}
	in.groups = refs
	return nil
}

// setDeleteOnTermination applies BlockDeviceMapping.N.Ebs.DeleteOnTermination
// to the instance's attached volumes.
func (r *request) setDeleteOnTermination(in *instance) error {
	for _, n := range r.p.indices("BlockDeviceMapping") {
		pre := "BlockDeviceMapping." + strconv.Itoa(n)
		dev := r.p.str(pre + ".DeviceName")
		dot, err := r.p.boolean(pre+".Ebs.DeleteOnTermination", true)
		if err != nil {
			return err
		}
		found := false
		for _, a := range in.bdms {
			if a.device == dev {
				if v := r.rs.volumes[a.volumeID]; v != nil {
					v.deleteOnTermination = dot
					found = true
				}
			}
		}
		if !found {
			return errorf("InvalidInstanceAttributeValue", "No device is currently mapped at %s", dev)
		}
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
