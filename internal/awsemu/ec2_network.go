package awsemu

import (
	"fmt"
	"slices"
	"strings"
)

// network is an account's default VPC in a region, with one default subnet
// per availability zone. It cannot be changed other than by tagging.
type network struct {
	vpc     *vpc
	subnets []*subnet
}

type vpc struct {
	id, owner string
	tags      tagStore
}

type subnet struct {
	id, owner, vpcID, az, cidr string
	tags                       tagStore
}

const vpcCIDR = "172.31.0.0/16"

func zones(region string) []string {
	return []string{region + "a", region + "b", region + "c"}
}

// zoneID is EC2's location-independent zone id, e.g. use1-az1.
func zoneID(zone string) string {
	region, letter := zone[:len(zone)-1], zone[len(zone)-1]
	parts := strings.Split(region, "-")
	abbr := parts[0]
	if len(parts) == 3 {
		abbr += parts[1][:1] + parts[2]
	}
	return fmt.Sprintf("%s-az%d", abbr, letter-'a'+1)
}

// DefaultVPCID is the id of account's default VPC in region.
func DefaultVPCID(account, region string) string { return hashID("vpc", account, region) }

// SubnetIDs are the ids of account's default subnets in region, one per
// availability zone, in zone order.
func SubnetIDs(account, region string) []string {
	var out []string
	for _, z := range zones(region) {
		out = append(out, hashID("subnet", account, z))
	}
	return out
}

// DefaultSubnetID is the id of account's default subnet in region's first
// availability zone.
func DefaultSubnetID(account, region string) string { return SubnetIDs(account, region)[0] }

// networkFor returns account's default network, creating it on first use.
func (rs *regionState) networkFor(account string) *network {
	if n, ok := rs.networks[account]; ok {
		return n
	}
	n := &network{vpc: &vpc{id: DefaultVPCID(account, rs.name), owner: account}}
	for i, z := range zones(rs.name) {
		n.subnets = append(n.subnets, &subnet{
			id: SubnetIDs(account, rs.name)[i], owner: account, vpcID: n.vpc.id, az: z,
			cidr: fmt.Sprintf("172.31.%d.0/20", i*16),
		})
	}
	rs.networks[account] = n
	return n
}

func (rs *regionState) subnet(account, id string) *subnet {
	for _, s := range rs.networkFor(account).subnets {
		if s.id == id {
			return s
		}
	}
	return nil
}

// ---- DescribeRegions

type regionXML struct {
	RegionName     string `xml:"regionName"`
	RegionEndpoint string `xml:"regionEndpoint"`
	OptInStatus    string `xml:"optInStatus"`
}

type describeRegionsResponse struct {
	meta
	RegionInfo items[regionXML] `xml:"regionInfo"`
}

var regionFields = fields[regionXML]{
	"region-name":   func(r regionXML) []string { return one(r.RegionName) },
	"endpoint":      func(r regionXML) []string { return one(r.RegionEndpoint) },
	"opt-in-status": func(r regionXML) []string { return one(r.OptInStatus) },
}

var regionsDescribe = &describe[regionXML]{
	render:  regionsResponse,
	idParam: "RegionName",
	fields:  regionFields,
	list: func(_ *request, names []string) ([]regionXML, error) {
		for _, n := range names {
			if !knownRegion(n) {
				return nil, invalidParameter("Invalid region: %s", n)
			}
		}
		var all []regionXML
		for _, n := range KnownRegions {
			if len(names) == 0 || slices.Contains(names, n) {
				all = append(all, regionXML{RegionName: n, RegionEndpoint: "ec2." + n + ".amazonaws.com", OptInStatus: "opt-in-not-required"})
			}
		}
		return all, nil
	},
}

func regionsResponse(_ *request, out []regionXML, _ string) any {
	return &describeRegionsResponse{RegionInfo: items[regionXML]{out}}
}

// ---- DescribeAvailabilityZones

type zoneXML struct {
	ZoneName           string          `xml:"zoneName"`
	ZoneState          string          `xml:"zoneState"`
	RegionName         string          `xml:"regionName"`
	ZoneID             string          `xml:"zoneId"`
	ZoneType           string          `xml:"zoneType"`
	GroupName          string          `xml:"groupName"`
	NetworkBorderGroup string          `xml:"networkBorderGroup"`
	OptInStatus        string          `xml:"optInStatus"`
	MessageSet         items[struct{}] `xml:"messageSet"`
}

type describeAvailabilityZonesResponse struct {
	meta
	AvailabilityZoneInfo items[zoneXML] `xml:"availabilityZoneInfo"`
}

var zoneFields = fields[zoneXML]{
	"zone-name":            func(z zoneXML) []string { return one(z.ZoneName) },
	"zone-id":              func(z zoneXML) []string { return one(z.ZoneID) },
	"state":                func(z zoneXML) []string { return one(z.ZoneState) },
	"region-name":          func(z zoneXML) []string { return one(z.RegionName) },
	"zone-type":            func(z zoneXML) []string { return one(z.ZoneType) },
	"group-name":           func(z zoneXML) []string { return one(z.GroupName) },
	"network-border-group": func(z zoneXML) []string { return one(z.NetworkBorderGroup) },
	"opt-in-status":        func(z zoneXML) []string { return one(z.OptInStatus) },
}

var zonesDescribe = &describe[zoneXML]{
	render: zonesResponse,
	fields: zoneFields,
	list: func(r *request, _ []string) ([]zoneXML, error) {
		names, ids := r.p.list("ZoneName"), r.p.list("ZoneId")
		var all []zoneXML
		for _, z := range zones(r.region) {
			all = append(all, zoneXML{
				ZoneName: z, ZoneState: "available", RegionName: r.region, ZoneID: zoneID(z),
				ZoneType: "availability-zone", GroupName: r.region, NetworkBorderGroup: r.region,
				OptInStatus: "opt-in-not-required",
			})
		}
		for _, n := range names {
			if !slices.ContainsFunc(all, func(z zoneXML) bool { return z.ZoneName == n }) {
				return nil, invalidParameter("The zone '%s' does not exist.", n)
			}
		}
		for _, n := range ids {
			if !slices.ContainsFunc(all, func(z zoneXML) bool { return z.ZoneID == n }) {
				return nil, invalidParameter("The zone ID '%s' does not exist.", n)
			}
		}
		if len(names) > 0 || len(ids) > 0 {
			all = slices.DeleteFunc(all, func(z zoneXML) bool {
				return !slices.Contains(names, z.ZoneName) && !slices.Contains(ids, z.ZoneID)
			})
		}
		return all, nil
	},
}

func zonesResponse(_ *request, out []zoneXML, _ string) any {
	return &describeAvailabilityZonesResponse{AvailabilityZoneInfo: items[zoneXML]{out}}
}

// ---- DescribeAccountAttributes

type accountAttributeXML struct {
	AttributeName     string                     `xml:"attributeName"`
	AttributeValueSet []accountAttributeValueXML `xml:"attributeValueSet>item"`
}

type accountAttributeValueXML struct {
	AttributeValue string `xml:"attributeValue"`
}

type describeAccountAttributesResponse struct {
	meta
	AccountAttributeSet items[accountAttributeXML] `xml:"accountAttributeSet"`
}

func describeAccountAttributes(r *request) (any, error) {
	all := map[string]string{
		"supported-platforms":                   "VPC",
		"default-vpc":                           r.rs.networkFor(r.account).vpc.id,
		"max-instances":                         "20",
		"vpc-max-security-groups-per-interface": "5",
		"max-elastic-ips":                       "5",
		"vpc-max-elastic-ips":                   "5",
	}
	names := r.p.list("AttributeName")
	if len(names) == 0 {
		names = []string{"default-vpc", "max-elastic-ips", "max-instances", "supported-platforms", "vpc-max-elastic-ips", "vpc-max-security-groups-per-interface"}
	}
	var out []accountAttributeXML
	for _, n := range names {
		v, ok := all[n]
		if !ok {
			return nil, invalidParameter("Value (%s) for parameter attributeName is invalid.", n)
		}
		out = append(out, accountAttributeXML{AttributeName: n, AttributeValueSet: []accountAttributeValueXML{{v}}})
	}
	return &describeAccountAttributesResponse{AccountAttributeSet: items[accountAttributeXML]{out}}, nil
}

// ---- DescribeVpcs

type vpcXML struct {
	VpcID           string   `xml:"vpcId"`
	OwnerID         string   `xml:"ownerId"`
	State           string   `xml:"state"`
	CidrBlock       string   `xml:"cidrBlock"`
	DhcpOptionsID   string   `xml:"dhcpOptionsId"`
	InstanceTenancy string   `xml:"instanceTenancy"`
	IsDefault       bool     `xml:"isDefault"`
	TagSet          []tagXML `xml:"tagSet>item,omitempty"`
}

type describeVpcsResponse struct {
	meta
	VpcSet    items[vpcXML] `xml:"vpcSet"`
	NextToken string        `xml:"nextToken,omitempty"`
}

var vpcFields = fields[*vpc]{
	"vpc-id":                            func(v *vpc) []string { return one(v.id) },
	"owner-id":                          func(v *vpc) []string { return one(v.owner) },
	"state":                             func(*vpc) []string { return one("available") },
	"is-default":                        func(*vpc) []string { return boolStr(true) },
	"cidr":                              func(*vpc) []string { return one(vpcCIDR) },
	"cidr-block-association.cidr-block": func(*vpc) []string { return one(vpcCIDR) },
	"dhcp-options-id":                   func(*vpc) []string { return one("dopt-" + strings.Repeat("0", 17)) },
}

var vpcsDescribe = &describe[*vpc]{
	render:  vpcsResponse,
	idParam: "VpcId", idPrefix: "vpc", malformed: "InvalidVpcID.Malformed",
	minPage: 5, maxPage: 1000,
	fields: vpcFields,
	tags:   visibleTagsOf[*vpc],
	key:    func(v *vpc) string { return v.id },
	list: func(r *request, ids []string) ([]*vpc, error) {
		return named([]*vpc{r.rs.networkFor(r.account).vpc}, func(v *vpc) string { return v.id }, ids,
			notFoundIn("InvalidVpcID.NotFound", "vpc ID"))
	},
}

func vpcsResponse(r *request, page []*vpc, next string) any {
	return &describeVpcsResponse{NextToken: next, VpcSet: itemsOf(page, func(v *vpc) vpcXML {
		return vpcXML{
			VpcID: v.id, OwnerID: v.owner, State: "available", CidrBlock: vpcCIDR,
			DhcpOptionsID: "dopt-" + strings.Repeat("0", 17), InstanceTenancy: "default", IsDefault: true,
			TagSet: tagXMLs(r.visibleTags(&v.tags)),
		}
	})}
}

// ---- DescribeSubnets

type subnetXML struct {
	SubnetID                    string   `xml:"subnetId"`
	SubnetArn                   string   `xml:"subnetArn"`
	State                       string   `xml:"state"`
	OwnerID                     string   `xml:"ownerId"`
	VpcID                       string   `xml:"vpcId"`
	CidrBlock                   string   `xml:"cidrBlock"`
	AvailableIPAddressCount     int      `xml:"availableIpAddressCount"`
	AvailabilityZone            string   `xml:"availabilityZone"`
	AvailabilityZoneID          string   `xml:"availabilityZoneId"`
	DefaultForAz                bool     `xml:"defaultForAz"`
	MapPublicIPOnLaunch         bool     `xml:"mapPublicIpOnLaunch"`
	AssignIpv6AddressOnCreation bool     `xml:"assignIpv6AddressOnCreation"`
	TagSet                      []tagXML `xml:"tagSet>item,omitempty"`
}

type describeSubnetsResponse struct {
	meta
	SubnetSet items[subnetXML] `xml:"subnetSet"`
	NextToken string           `xml:"nextToken,omitempty"`
}

var subnetFields = fields[*subnet]{
	"subnet-id":               func(s *subnet) []string { return one(s.id) },
	"vpc-id":                  func(s *subnet) []string { return one(s.vpcID) },
	"owner-id":                func(s *subnet) []string { return one(s.owner) },
	"availability-zone":       func(s *subnet) []string { return one(s.az) },
	"availabilityZone":        func(s *subnet) []string { return one(s.az) },
	"availability-zone-id":    func(s *subnet) []string { return one(zoneID(s.az)) },
	"cidr-block":              func(s *subnet) []string { return one(s.cidr) },
	"cidrBlock":               func(s *subnet) []string { return one(s.cidr) },
	"cidr":                    func(s *subnet) []string { return one(s.cidr) },
	"default-for-az":          func(*subnet) []string { return boolStr(true) },
	"defaultForAz":            func(*subnet) []string { return boolStr(true) },
	"map-public-ip-on-launch": func(*subnet) []string { return boolStr(true) },
	"state":                   func(*subnet) []string { return one("available") },
	"subnet-arn":              func(s *subnet) []string { return one(s.arn()) },
}

func (s *subnet) arn() string {
	return fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", s.az[:len(s.az)-1], s.owner, s.id)
}

var subnetsDescribe = &describe[*subnet]{
	render:  subnetsResponse,
	idParam: "SubnetId", idPrefix: "subnet", malformed: "InvalidSubnetID.Malformed",
	minPage: 5, maxPage: 1000,
	fields: subnetFields,
	tags:   visibleTagsOf[*subnet],
	key:    func(s *subnet) string { return s.id },
	list: func(r *request, ids []string) ([]*subnet, error) {
		return named(slices.Clone(r.rs.networkFor(r.account).subnets), func(s *subnet) string { return s.id }, ids,
			notFoundIn("InvalidSubnetID.NotFound", "subnet ID"))
	},
}

func subnetsResponse(r *request, page []*subnet, next string) any {
	return &describeSubnetsResponse{NextToken: next, SubnetSet: itemsOf(page, func(s *subnet) subnetXML {
		return subnetXML{
			SubnetID: s.id, SubnetArn: s.arn(), State: "available", OwnerID: s.owner, VpcID: s.vpcID,
			CidrBlock: s.cidr, AvailableIPAddressCount: 4091, AvailabilityZone: s.az,
			AvailabilityZoneID: zoneID(s.az), DefaultForAz: true, MapPublicIPOnLaunch: true,
			TagSet: tagXMLs(r.visibleTags(&s.tags)),
		}
	})}
}
