package awsemu

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// securityGroup is a VPC security group. Names are unique per VPC. No
// "default" group is modelled, so an account's groups are exactly the ones it
// created.
type securityGroup struct {
	id, owner, name, description, vpcID string
	ingress, egress                     []rule
	tags                                tagStore
}

// rule is one permission with one peer, as EC2's security group rules are.
type rule struct {
	id       string
	proto    string // tcp, udp, icmp, icmpv6, -1 or a protocol number
	from, to int    // -1 when the protocol has no ports
	cidr     string
	cidr6    string
	groupID  string
	desc     string
}

func (ru rule) sameAs(o rule) bool {
	return ru.proto == o.proto && ru.from == o.from && ru.to == o.to && ru.cidr == o.cidr && ru.cidr6 == o.cidr6 && ru.groupID == o.groupID
}

func (rs *regionState) groupByName(account, vpcID, name string) *securityGroup {
	for _, g := range rs.groups {
		if g.owner == account && g.vpcID == vpcID && g.name == name {
			return g
		}
	}
	return nil
}

// ownGroup finds a group by id, or by name in the default VPC.
func (r *request) ownGroup(id, name string) (*securityGroup, error) {
	if id != "" {
		return ownByID(r, r.rs.groups, id, "sg", "InvalidGroupId.Malformed",
			errorf("InvalidGroup.NotFound", "The security group '%s' does not exist", id))
	}
	if name == "" {
		return nil, missingParameter("GroupId")
	}
	vpcID := r.rs.networkFor(r.account).vpc.id
	g := r.rs.groupByName(r.account, vpcID, name)
	if g == nil {
		return nil, errorf("InvalidGroup.NotFound", "The security group '%s' does not exist in default VPC '%s'", name, vpcID)
	}
	return g, nil
}

// ---- CreateSecurityGroup

type createSecurityGroupResponse struct {
	meta
	Return  bool     `xml:"return"`
	GroupID string   `xml:"groupId"`
	TagSet  []tagXML `xml:"tagSet>item,omitempty"`
}

func createSecurityGroup(r *request) (any, error) {
	name, err := r.p.required("GroupName")
	if err != nil {
		return nil, err
	}
	desc, err := r.p.required("GroupDescription")
	if err != nil {
		return nil, err
	}
	if len(name) > 255 || len(desc) > 255 {
		return nil, invalidParameter("GroupName and GroupDescription must be at most 255 characters")
	}
	if strings.HasPrefix(strings.ToLower(name), "sg-") {
		return nil, invalidParameter("Group names may not be in the format sg-*")
	}
	n := r.rs.networkFor(r.account)
	vpcID := r.p.str("VpcId")
	if vpcID == "" {
		vpcID = n.vpc.id
	} else if vpcID != n.vpc.id {
		if err := checkIDs([]string{vpcID}, "vpc", "InvalidVpcID.Malformed"); err != nil {
			return nil, err
		}
		return nil, errorf("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist", vpcID)
	}
	if g := r.rs.groupByName(r.account, vpcID, name); g != nil {
		return nil, errorf("InvalidGroup.Duplicate", "The security group '%s' already exists for VPC '%s'", name, vpcID)
	}
	specs, err := r.p.tagSpecs("security-group")
	if err != nil {
		return nil, err
	}
	g := &securityGroup{id: r.e.newID("sg"), owner: r.account, name: name, description: desc, vpcID: vpcID}
	g.egress = []rule{{id: r.e.newID("sgr"), proto: "-1", from: -1, to: -1, cidr: "0.0.0.0/0"}}
	g.tags.setAll(r.account, specs["security-group"], r.now)
	r.rs.groups[g.id] = g
	return &createSecurityGroupResponse{Return: true, GroupID: g.id, TagSet: tagXMLs(g.tags.visible(r.account, r.now))}, nil
}

// ---- AuthorizeSecurityGroupIngress

type securityGroupRuleXML struct {
	SecurityGroupRuleID string `xml:"securityGroupRuleId"`
	GroupID             string `xml:"groupId"`
	GroupOwnerID        string `xml:"groupOwnerId"`
	IsEgress            bool   `xml:"isEgress"`
	IPProtocol          string `xml:"ipProtocol"`
	FromPort            int    `xml:"fromPort"`
	ToPort              int    `xml:"toPort"`
	CidrIpv4            string `xml:"cidrIpv4,omitempty"`
	CidrIpv6            string `xml:"cidrIpv6,omitempty"`
	Description         string `xml:"description,omitempty"`
	ReferencedGroupInfo *struct {
		GroupID string `xml:"groupId"`
		UserID  string `xml:"userId"`
	} `xml:"referencedGroupInfo,omitempty"`
}

type authorizeResponse struct {
	meta
	Return               bool                        `xml:"return"`
	SecurityGroupRuleSet items[securityGroupRuleXML] `xml:"securityGroupRuleSet"`
}

var protocolNames = map[string]string{"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6", "all": "-1"}

// permissionRules reads one IpPermissions.N (or the flat legacy form when
// pre is "") into rules, one per peer.
func (r *request) permissionRules(pre string) ([]rule, error) {
	proto := strings.ToLower(r.p.str(pre + "IpProtocol"))
	if p, ok := protocolNames[proto]; ok {
		proto = p
	}
	if proto == "" {
		return nil, missingParameter(pre + "IpProtocol")
	}
	from, to := -1, -1
	switch proto {
	case "-1":
	case "tcp", "udp", "icmp", "icmpv6":
		var err error
		lo, hi := 0, 65535
		if proto == "icmp" || proto == "icmpv6" {
			lo, hi = -1, 255
		}
		if from, err = r.p.integer(pre+"FromPort", -2); err != nil {
			return nil, err
		}
		if to, err = r.p.integer(pre+"ToPort", -2); err != nil {
			return nil, err
		}
		if from == -2 || to == -2 {
			return nil, invalidParameter("Invalid value for portRange. Must specify both from and to ports with TCP/UDP.")
		}
		if from < lo || to > hi || (lo == 0 && from > to) {
			return nil, invalidParameter("Invalid value for portRange: from %d to %d", from, to)
		}
	default:
		n, err := strconv.Atoi(proto)
		if err != nil || n < 0 || n > 255 {
			return nil, invalidParameter("Invalid value '%s' for IP protocol. Unknown protocol.", proto)
		}
	}
	base := rule{proto: proto, from: from, to: to}
	var out []rule
	if r.p.hasPrefix(pre + "PrefixListIds.") {
		return nil, unsupported("prefix lists are not modelled")
	}
	for _, fam := range []struct {
		list, field string
		v6          bool
	}{{"IpRanges", "CidrIp", false}, {"Ipv6Ranges", "CidrIpv6", true}} {
		for _, n := range r.p.indices(pre + fam.list) {
			item := pre + fam.list + "." + strconv.Itoa(n)
			c := r.p.str(item + "." + fam.field)
			if pfx, err := netip.ParsePrefix(c); err != nil || pfx.Addr().Is6() != fam.v6 {
				return nil, invalidParameter("CIDR block %s is malformed", c)
			}
			ru := base
			if ru.desc = r.p.str(item + ".Description"); fam.v6 {
				ru.cidr6 = c
			} else {
				ru.cidr = c
			}
			out = append(out, ru)
		}
	}
	for _, n := range r.p.indices(pre + "Groups") {
		item := pre + "Groups." + strconv.Itoa(n)
		g, err := r.ownGroup(r.p.str(item+".GroupId"), r.p.str(item+".GroupName"))
		if err != nil {
			return nil, err
		}
		ru := base
		ru.groupID, ru.desc = g.id, r.p.str(item+".Description")
		out = append(out, ru)
	}
	if pre == "" {
		if c := r.p.str("CidrIp"); c != "" {
			if _, err := netip.ParsePrefix(c); err != nil {
				return nil, invalidParameter("CIDR block %s is malformed", c)
			}
			ru := base
			ru.cidr = c
			out = append(out, ru)
		}
		if name := r.p.str("SourceSecurityGroupName"); name != "" {
			g, err := r.ownGroup("", name)
			if err != nil {
				return nil, err
			}
			ru := base
			ru.groupID = g.id
			out = append(out, ru)
		}
	}
	if len(out) == 0 {
		return nil, missingParameter(pre + "IpRanges")
	}
	return out, nil
}

func authorizeSecurityGroupIngress(r *request) (any, error) {
	g, err := r.ownGroup(r.p.str("GroupId"), r.p.str("GroupName"))
	if err != nil {
		return nil, err
	}
	var rules []rule
	if idx := r.p.indices("IpPermissions"); len(idx) > 0 {
		for _, n := range idx {
			got, err := r.permissionRules("IpPermissions." + strconv.Itoa(n) + ".")
			if err != nil {
				return nil, err
			}
			rules = append(rules, got...)
		}
	} else {
		if rules, err = r.permissionRules(""); err != nil {
			return nil, err
		}
	}
	for i, ru := range rules {
		for _, have := range append(slices.Clone(g.ingress), rules[:i]...) {
			if have.sameAs(ru) {
				return nil, errorf("InvalidPermission.Duplicate", "the specified rule \"peer: %s, %s, from port: %d, to port: %d, ALLOW\" already exists", ru.peer(), strings.ToUpper(ru.proto), ru.from, ru.to)
			}
		}
	}
	resp := &authorizeResponse{Return: true}
	for _, ru := range rules {
		ru.id = r.e.newID("sgr")
		g.ingress = append(g.ingress, ru)
		x := securityGroupRuleXML{
			SecurityGroupRuleID: ru.id, GroupID: g.id, GroupOwnerID: g.owner, IPProtocol: ru.proto,
			FromPort: ru.from, ToPort: ru.to, CidrIpv4: ru.cidr, CidrIpv6: ru.cidr6, Description: ru.desc,
		}
		if ru.groupID != "" {
			x.ReferencedGroupInfo = &struct {
				GroupID string `xml:"groupId"`
				UserID  string `xml:"userId"`
			}{ru.groupID, g.owner}
		}
		resp.SecurityGroupRuleSet.Items = append(resp.SecurityGroupRuleSet.Items, x)
	}
	return resp, nil
}

func (ru rule) peer() string {
	switch {
	case ru.cidr != "":
		return ru.cidr
	case ru.cidr6 != "":
		return ru.cidr6
	}
	return ru.groupID
}

// ---- DescribeSecurityGroups

type ipRangeXML struct {
	CidrIP      string `xml:"cidrIp"`
	Description string `xml:"description,omitempty"`
}

type ipv6RangeXML struct {
	CidrIpv6    string `xml:"cidrIpv6"`
	Description string `xml:"description,omitempty"`
}

type groupPairXML struct {
	UserID      string `xml:"userId"`
	GroupID     string `xml:"groupId"`
	Description string `xml:"description,omitempty"`
}

type ipPermissionXML struct {
	IPProtocol    string              `xml:"ipProtocol"`
	FromPort      *int                `xml:"fromPort,omitempty"`
	ToPort        *int                `xml:"toPort,omitempty"`
	Groups        items[groupPairXML] `xml:"groups"`
	IPRanges      items[ipRangeXML]   `xml:"ipRanges"`
	Ipv6Ranges    items[ipv6RangeXML] `xml:"ipv6Ranges"`
	PrefixListIDs items[struct{}]     `xml:"prefixListIds"`
}

type securityGroupXML struct {
	OwnerID             string                 `xml:"ownerId"`
	GroupID             string                 `xml:"groupId"`
	GroupName           string                 `xml:"groupName"`
	GroupDescription    string                 `xml:"groupDescription"`
	VpcID               string                 `xml:"vpcId"`
	IPPermissions       items[ipPermissionXML] `xml:"ipPermissions"`
	IPPermissionsEgress items[ipPermissionXML] `xml:"ipPermissionsEgress"`
	TagSet              []tagXML               `xml:"tagSet>item,omitempty"`
	SecurityGroupArn    string                 `xml:"securityGroupArn"`
}

type describeSecurityGroupsResponse struct {
	meta
	SecurityGroupInfo items[securityGroupXML] `xml:"securityGroupInfo"`
	NextToken         string                  `xml:"nextToken,omitempty"`
}

// permissionsXML groups rules by protocol and port range, as EC2 presents
// them.
func permissionsXML(owner string, rules []rule) []ipPermissionXML {
	var out []ipPermissionXML
	index := map[string]int{}
	for _, ru := range rules {
		k := fmt.Sprintf("%s/%d/%d", ru.proto, ru.from, ru.to)
		i, ok := index[k]
		if !ok {
			p := ipPermissionXML{IPProtocol: ru.proto}
			if ru.proto != "-1" {
				from, to := ru.from, ru.to
				p.FromPort, p.ToPort = &from, &to
			}
			out = append(out, p)
			i = len(out) - 1
			index[k] = i
		}
		p := &out[i]
		switch {
		case ru.cidr != "":
			p.IPRanges.Items = append(p.IPRanges.Items, ipRangeXML{ru.cidr, ru.desc})
		case ru.cidr6 != "":
			p.Ipv6Ranges.Items = append(p.Ipv6Ranges.Items, ipv6RangeXML{ru.cidr6, ru.desc})
		case ru.groupID != "":
			p.Groups.Items = append(p.Groups.Items, groupPairXML{owner, ru.groupID, ru.desc})
		}
	}
	return out
}

func ruleValues(g *securityGroup, f func(rule) string) []string {
	var out []string
	for _, ru := range g.ingress {
		if v := f(ru); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func portStr(n int) string {
	if n == -1 {
		return ""
	}
	return strconv.Itoa(n)
}

var groupFields = fields[*securityGroup]{
	"group-id":    func(g *securityGroup) []string { return one(g.id) },
	"group-name":  func(g *securityGroup) []string { return one(g.name) },
	"description": func(g *securityGroup) []string { return one(g.description) },
	"vpc-id":      func(g *securityGroup) []string { return one(g.vpcID) },
	"owner-id":    func(g *securityGroup) []string { return one(g.owner) },
	"ip-permission.protocol": func(g *securityGroup) []string {
		return ruleValues(g, func(ru rule) string { return ru.proto })
	},
	"ip-permission.from-port": func(g *securityGroup) []string {
		return ruleValues(g, func(ru rule) string { return portStr(ru.from) })
	},
	"ip-permission.to-port": func(g *securityGroup) []string {
		return ruleValues(g, func(ru rule) string { return portStr(ru.to) })
	},
	"ip-permission.cidr": func(g *securityGroup) []string {
		return ruleValues(g, func(ru rule) string { return ru.cidr })
	},
	"ip-permission.ipv6-cidr": func(g *securityGroup) []string {
		return ruleValues(g, func(ru rule) string { return ru.cidr6 })
	},
	"ip-permission.group-id": func(g *securityGroup) []string {
		return ruleValues(g, func(ru rule) string { return ru.groupID })
	},
}

var securityGroupsDescribe = &describe[*securityGroup]{
	render:  securityGroupsResponse,
	idParam: "GroupId", idPrefix: "sg", malformed: "InvalidGroupId.Malformed",
	minPage: 5, maxPage: 1000,
	fields: groupFields,
	tags:   visibleTagsOf[*securityGroup],
	key:    func(g *securityGroup) string { return g.id },
	list:   describableGroups,
}

// describableGroups are the caller's groups named by GroupId.N and
// GroupName.N, or all of them when neither is given. A group named twice
// in a row (its GroupId.N, then its GroupName.N) is listed once, and
// securityGroupsResponse drops the repeats that sorting brings together.
func describableGroups(r *request, ids []string) ([]*securityGroup, error) {
	names := r.p.list("GroupName")
	var all []*securityGroup
	if len(ids) == 0 && len(names) == 0 {
		all = valuesWhere(r.rs.groups, ownedBy[*securityGroup](r.account))
	}
	var missing []string
	for _, id := range ids {
		if g, ok := r.rs.groups[id]; ok && g.owner == r.account {
			all = append(all, g)
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFoundList("InvalidGroup.NotFound", "security group", missing)
	}
	for _, name := range names {
		g, err := r.ownGroup("", name)
		if err != nil {
			return nil, err
		}
		all = append(all, g)
	}
	return slices.CompactFunc(all, func(a, b *securityGroup) bool { return a == b }), nil
}

func securityGroupsResponse(r *request, page []*securityGroup, next string) any {
	page = slices.CompactFunc(page, func(a, b *securityGroup) bool { return a == b })
	return &describeSecurityGroupsResponse{NextToken: next, SecurityGroupInfo: itemsOf(page, func(g *securityGroup) securityGroupXML {
		return securityGroupXML{
			OwnerID: g.owner, GroupID: g.id, GroupName: g.name, GroupDescription: g.description, VpcID: g.vpcID,
			IPPermissions:       items[ipPermissionXML]{permissionsXML(g.owner, g.ingress)},
			IPPermissionsEgress: items[ipPermissionXML]{permissionsXML(g.owner, g.egress)},
			TagSet:              tagXMLs(r.visibleTags(&g.tags)),
			SecurityGroupArn:    fmt.Sprintf("arn:aws:ec2:%s:%s:security-group/%s", r.region, g.owner, g.id),
		}
	})}
}

// ---- DeleteSecurityGroup

type deleteSecurityGroupResponse struct {
	meta
	Return  bool   `xml:"return"`
	GroupID string `xml:"groupId"`
}

// deleteSecurityGroup refuses while a non-terminated instance still uses the
// group (DependencyViolation), as EC2 does: packer retries on that.
func deleteSecurityGroup(r *request) (any, error) {
	g, err := r.ownGroup(r.p.str("GroupId"), r.p.str("GroupName"))
	if err != nil {
		return nil, err
	}
	for _, in := range r.rs.instances {
		if in.state != "terminated" && slices.Contains(in.groupIDs(), g.id) {
			return nil, errorf("DependencyViolation", "resource %s has a dependent object", g.id)
		}
	}
	for _, other := range r.rs.groups {
		for _, ru := range other.ingress {
			if other != g && ru.groupID == g.id {
				return nil, errorf("DependencyViolation", "resource %s has a dependent object", g.id)
			}
		}
	}
	delete(r.rs.groups, g.id)
	return &deleteSecurityGroupResponse{Return: true, GroupID: g.id}, nil
}
