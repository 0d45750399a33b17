package awsemu

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
)

// Sharing: launch permissions of images (accounts, group "all",
// organizations and organizational units) and create-volume permissions of
// snapshots (accounts and group "all"), as ModifyImageAttribute,
// DescribeImageAttribute, ModifySnapshotAttribute and
// DescribeSnapshotAttribute read and write them. An image is visible to an
// account that its launch permissions name, directly or through the
// account's organization or one of its OUs (SetOrganization).

// Membership is where an account sits in AWS Organizations: its
// organization's ARN and the ARNs of every OU that contains it, nested ones
// and their parents alike.
type Membership struct {
	Organization string
	OUs          []string
}

var (
	orgARNPattern = regexp.MustCompile(`^arn:aws:organizations::[0-9]{12}:organization/o-[a-z0-9]{10,32}$`)
	ouARNPattern  = regexp.MustCompile(`^arn:aws:organizations::[0-9]{12}:ou/o-[a-z0-9]{10,32}/ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}$`)
)

// SetOrganization puts account into an organization and its OUs (every OU
// containing it, parents included), replacing what was set before. Images
// shared with that organization or one of those OUs become visible to it.
func (e *Emulator) SetOrganization(account, orgARN string, ouARNs ...string) error {
	if !isAccountID(account) {
		return fmt.Errorf("setting the organization of %q: not a 12-digit account id", account)
	}
	if !orgARNPattern.MatchString(orgARN) {
		return fmt.Errorf("setting the organization of %s: %q is not an organization ARN", account, orgARN)
	}
	for _, ou := range ouARNs {
		if !ouARNPattern.MatchString(ou) {
			return fmt.Errorf("setting the organization of %s: %q is not an organizational unit ARN", account, ou)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.orgs == nil {
		e.orgs = map[string]Membership{}
	}
	e.orgs[account] = Membership{Organization: orgARN, OUs: slices.Clone(ouARNs)}
	return nil
}

// sees is EC2's rule for images: its own, public ones and those shared with
// the caller.
func (r *request) sees(im *image) bool {
	return im.owner == r.account || im.public || r.sharedWithCaller(im)
}

// sharedWithCaller reports whether im's launch permissions name the caller,
// its organization or one of its OUs.
func (r *request) sharedWithCaller(im *image) bool {
	if im.sharedWith[r.account] {
		return true
	}
	m, ok := r.e.orgs[r.account] // e.mu is held
	if !ok {
		return false
	}
	if im.orgs[m.Organization] {
		return true
	}
	return slices.ContainsFunc(m.OUs, func(ou string) bool { return im.ous[ou] })
}

// permChange is one Add or Remove of permissions.
type permChange struct {
	add                bool
	public             bool
	users, orgs, ous   []string
	seenPublicOrGroups bool
}

func (c permChange) empty() bool {
	return !c.seenPublicOrGroups && len(c.users)+len(c.orgs)+len(c.ous) == 0
}

// permKind says what a permission list belongs to: its parameter prefix,
// whether organizations are allowed, and the error code of a bad item.
type permKind struct {
	prefix  string // LaunchPermission, CreateVolumePermission
	orgs    bool
	badItem string
}

var (
	launchPermissions = permKind{"LaunchPermission", true, "InvalidAMIAttributeItemValue"}
	volumePermissions = permKind{"CreateVolumePermission", false, "InvalidParameterValue"}
)

// permissionChanges reads PREFIX.Add.N.* and PREFIX.Remove.N.* (UserId,
// Group, OrganizationArn, OrganizationalUnitArn), then the flat form:
// OperationType with UserId.N, UserGroup.N, OrganizationArn.N and
// OrganizationalUnitArn.N. Without OperationType the flat lists only repeat
// the structured form (aws-sdk-go v1 clients such as packer 1.6.6 send
// both), as EC2 allows.
func (p params) permissionChanges(k permKind) ([]permChange, error) {
	var changes []permChange
	for _, op := range []string{"Add", "Remove"} {
		pre := k.prefix + "." + op
		c := permChange{add: op == "Add"}
		for _, n := range p.indices(pre) {
			item := pre + "." + strconv.Itoa(n)
			c.users = appendNonEmpty(c.users, p.str(item+".UserId"))
			c.orgs = appendNonEmpty(c.orgs, p.str(item+".OrganizationArn"))
			c.ous = appendNonEmpty(c.ous, p.str(item+".OrganizationalUnitArn"))
			if g := p.str(item + ".Group"); g != "" {
				if err := checkGroup(k, g); err != nil {
					return nil, err
				}
				c.public, c.seenPublicOrGroups = true, true
			}
		}
		if !c.empty() {
			changes = append(changes, c)
		}
	}
	users, groups := p.list("UserId"), p.list("UserGroup")
	orgs, ous := p.list("OrganizationArn"), p.list("OrganizationalUnitArn")
	opType := p.str("OperationType")
	if len(users)+len(groups)+len(orgs)+len(ous) > 0 && (opType != "" || len(changes) == 0) {
		if opType != "add" && opType != "remove" {
			return nil, invalidParameter("OperationType must be add or remove, not %q", opType)
		}
		c := permChange{add: opType == "add", users: users, orgs: orgs, ous: ous}
		for _, g := range groups {
			if err := checkGroup(k, g); err != nil {
				return nil, err
			}
			c.public, c.seenPublicOrGroups = true, true
		}
		changes = append(changes, c)
	}
	return changes, checkPermItems(k, changes)
}

func appendNonEmpty(xs []string, s string) []string {
	if s == "" {
		return xs
	}
	return append(xs, s)
}

func checkGroup(k permKind, g string) error {
	if g != "all" {
		return errorf(k.badItem, "Invalid attribute item value \"%s\" for group item type.", g)
	}
	return nil
}

func checkPermItems(k permKind, changes []permChange) error {
	for _, c := range changes {
		for _, u := range c.users {
			if !isAccountID(u) {
				return errorf(k.badItem, "Invalid attribute item value \"%s\" for userId item type.", u)
			}
		}
		if !k.orgs && len(c.orgs)+len(c.ous) > 0 {
			return invalidParameter("%s cannot name organizations or organizational units", k.prefix)
		}
		for _, o := range c.orgs {
			if !orgARNPattern.MatchString(o) {
				return errorf(k.badItem, "Invalid attribute item value \"%s\" for organizationArn item type.", o)
			}
		}
		for _, o := range c.ous {
			if !ouARNPattern.MatchString(o) {
				return errorf(k.badItem, "Invalid attribute item value \"%s\" for organizationalUnitArn item type.", o)
			}
		}
	}
	return nil
}

// apply carries a change out on a resource's permissions.
func (c permChange) apply(public *bool, users, orgs, ous *map[string]bool) {
	if c.public {
		*public = c.add
	}
	for _, set := range []struct {
		m   *map[string]bool
		ids []string
	}{{users, c.users}, {orgs, c.orgs}, {ous, c.ous}} {
		for _, id := range set.ids {
			if !c.add {
				delete(*set.m, id)
				continue
			}
			if *set.m == nil {
				*set.m = map[string]bool{}
			}
			(*set.m)[id] = true
		}
	}
}

type launchPermissionXML struct {
	Group                 string `xml:"group,omitempty"`
	UserID                string `xml:"userId,omitempty"`
	OrganizationArn       string `xml:"organizationArn,omitempty"`
	OrganizationalUnitArn string `xml:"organizationalUnitArn,omitempty"`
}

func permissionItems(public bool, users, orgs, ous map[string]bool) *items[launchPermissionXML] {
	lp := &items[launchPermissionXML]{}
	if public {
		lp.Items = append(lp.Items, launchPermissionXML{Group: "all"})
	}
	for _, u := range slices.Sorted(maps.Keys(users)) {
		lp.Items = append(lp.Items, launchPermissionXML{UserID: u})
	}
	for _, o := range slices.Sorted(maps.Keys(orgs)) {
		lp.Items = append(lp.Items, launchPermissionXML{OrganizationArn: o})
	}
	for _, o := range slices.Sorted(maps.Keys(ous)) {
		lp.Items = append(lp.Items, launchPermissionXML{OrganizationalUnitArn: o})
	}
	return lp
}

func (im *image) launchPermissionItems() *items[launchPermissionXML] {
	return permissionItems(im.public, im.sharedWith, im.orgs, im.ous)
}

// ---- ModifyImageAttribute

func modifyImageAttribute(r *request) (any, error) {
	im, err := r.ownImageParam()
	if err != nil {
		return nil, err
	}
	if r.p.hasPrefix("ProductCode") || r.p.hasPrefix("ImdsSupport") {
		return nil, unsupported("only launch permissions and the description are modelled")
	}
	attr := r.p.str("Attribute")
	if attr != "" && attr != "launchPermission" && attr != "description" {
		return nil, unsupported("attribute %s is not modelled; only launchPermission and description", attr)
	}
	changes, err := r.p.permissionChanges(launchPermissions)
	if err != nil {
		return nil, err
	}
	if len(changes) > 0 && im.state == "disabled" {
		return nil, invalidParameter("The image '%s' is disabled, and a disabled AMI can't be shared", im.id)
	}
	if len(changes) > 0 && attr == "description" {
		return nil, errorf("InvalidParameterCombination", "launch permissions need Attribute launchPermission")
	}
	var desc *string
	if r.p.has("Description.Value") {
		d := r.p.str("Description.Value")
		desc = &d
	} else if attr == "description" {
		d := r.p.str("Value")
		desc = &d
	}
	if len(changes) == 0 && desc == nil {
		return nil, errorf("InvalidParameterCombination", "No attributes specified.")
	}
	for _, c := range changes {
		c.apply(&im.public, &im.sharedWith, &im.orgs, &im.ous)
	}
	if desc != nil {
		im.description = *desc
	}
	return &returnResponse{Return: true}, nil
}

// ---- ModifySnapshotAttribute, DescribeSnapshotAttribute

// snapshotAttribute reads SnapshotId and Attribute and finds the caller's
// own snapshot.
func (r *request) snapshotAttribute() (*snapshot, string, error) {
	id, err := r.p.required("SnapshotId")
	if err != nil {
		return nil, "", err
	}
	attr := r.p.str("Attribute")
	s, err := r.ownSnapshot(id)
	return s, attr, err
}

func modifySnapshotAttribute(r *request) (any, error) {
	s, attr, err := r.snapshotAttribute()
	if err != nil {
		return nil, err
	}
	if attr != "" && attr != "createVolumePermission" {
		return nil, unsupported("snapshot attribute %s is not modelled; only createVolumePermission", attr)
	}
	changes, err := r.p.permissionChanges(volumePermissions)
	if err != nil {
		return nil, err
	}
	if len(changes) == 0 {
		return nil, errorf("InvalidParameterCombination", "No attributes specified.")
	}
	for _, c := range changes {
		if !c.add || !s.encrypted {
			continue
		}
		if c.public {
			return nil, errorf("OperationNotPermitted", "Encrypted snapshots cannot be shared publicly")
		}
		if r.e.isDefaultKey(s.kmsKey) {
			return nil, errorf("OperationNotPermitted", "Encrypted snapshots with EBS default key cannot be shared")
		}
	}
	var none map[string]bool
	for _, c := range changes {
		c.apply(&s.public, &s.users, &none, &none)
	}
	return &returnResponse{Return: true}, nil
}

type describeSnapshotAttributeResponse struct {
	meta
	SnapshotID             string                      `xml:"snapshotId"`
	CreateVolumePermission *items[launchPermissionXML] `xml:"createVolumePermission,omitempty"`
	ProductCodes           *items[struct{}]            `xml:"productCodes,omitempty"`
}

func describeSnapshotAttribute(r *request) (any, error) {
	s, attr, err := r.snapshotAttribute()
	if err != nil {
		return nil, err
	}
	resp := &describeSnapshotAttributeResponse{SnapshotID: s.id}
	switch attr {
	case "createVolumePermission":
		resp.CreateVolumePermission = permissionItems(s.public, s.users, nil, nil)
	case "productCodes":
		resp.ProductCodes = &items[struct{}]{}
	case "":
		return nil, missingParameter("Attribute")
	default:
		return nil, invalidParameter("Value (%s) for parameter attribute is invalid. Unknown attribute.", attr)
	}
	return resp, nil
}
