package awsemu

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Launch templates: CreateLaunchTemplate, CreateLaunchTemplateVersion,
// DescribeLaunchTemplates, DescribeLaunchTemplateVersions,
// ModifyLaunchTemplate (the default version) and DeleteLaunchTemplate, per
// account and region. Of LaunchTemplateData only ImageId, InstanceType,
// KeyName, UserData and SecurityGroupId.N are modelled; any other field is
// refused with UnsupportedOperation. ImageId may be resolve:ssm:NAME, kept
// as written and resolved by DescribeLaunchTemplateVersions with
// ResolveAlias (against the account's SSM parameters and the public ones,
// as at launch). Neither the image nor the parameter is checked at
// creation. CreateLaunchTemplate and CreateLaunchTemplateVersion are
// idempotent with ClientToken. A new version starts from SourceVersion's
// data when given, with the fields sent replacing its own.

type launchTemplate struct {
	id, name, owner string
	created         time.Time
	defaultVersion  int
	versions        []*ltVersion // versions[i] is number i+1
	tags            tagStore
}

type ltVersion struct {
	number  int
	desc    string
	created time.Time
	data    ltData
}

type ltData struct {
	imageID, instanceType, keyName, userData string
	groupIDs                                 []string
}

const ssmAliasPrefix = "resolve:ssm:"

var ltNamePattern = regexp.MustCompile(`^[a-zA-Z0-9().\-/_]{3,128}$`)

// ltDataFields are the LaunchTemplateData fields modelled.
var ltDataFields = []string{"ImageId", "InstanceType", "KeyName", "UserData"}

// ltData reads LaunchTemplateData over base, refusing unmodelled fields.
func (p params) ltData(base ltData) (ltData, error) {
	for k := range p.v {
		f, ok := strings.CutPrefix(k, "LaunchTemplateData.")
		if ok && !slices.Contains(ltDataFields, f) && !strings.HasPrefix(f, "SecurityGroupId.") {
			return ltData{}, unsupported("LaunchTemplateData.%s is not modelled; only %s and SecurityGroupId", f, strings.Join(ltDataFields, ", "))
		}
	}
	d := base
	d.groupIDs = slices.Clone(base.groupIDs)
	for _, f := range []struct {
		name string
		dst  *string
	}{{"ImageId", &d.imageID}, {"InstanceType", &d.instanceType}, {"KeyName", &d.keyName}, {"UserData", &d.userData}} {
		if p.has("LaunchTemplateData." + f.name) {
			*f.dst = p.str("LaunchTemplateData." + f.name)
		}
	}
	if ids := p.list("LaunchTemplateData.SecurityGroupId"); len(ids) > 0 {
		d.groupIDs = ids
	}
	return d, nil
}

// digest identifies a request's parameters for ClientToken idempotency.
func (p params) digest() string {
	var parts []string
	for k, vs := range p.v {
		if k != "ClientToken" {
			parts = append(parts, k+"="+strings.Join(vs, ","))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "&")
}

func (r *request) ownTemplates() []*launchTemplate {
	return valuesWhere(r.rs.launchTemplates, ownedBy[*launchTemplate](r.account))
}

// templateParam finds the caller's template named by LaunchTemplateId or
// LaunchTemplateName (exactly one of them).
func (r *request) templateParam() (*launchTemplate, error) {
	id, name := r.p.str("LaunchTemplateId"), r.p.str("LaunchTemplateName")
	switch {
	case id != "" && name != "":
		return nil, errorf("InvalidParameterCombination", "Specify either LaunchTemplateId or LaunchTemplateName, not both")
	case id == "" && name == "":
		return nil, missingParameter("LaunchTemplateId or LaunchTemplateName")
	case id != "":
		return ownByID(r, r.rs.launchTemplates, id, "lt", "InvalidLaunchTemplateId.Malformed",
			errorf("InvalidLaunchTemplateId.NotFound", "The specified launch template, with template ID %s, does not exist.", id))
	}
	for _, lt := range r.ownTemplates() {
		if lt.name == name {
			return lt, nil
		}
	}
	return nil, errorf("InvalidLaunchTemplateName.NotFoundException", "The specified launch template, with template name %s, does not exist.", name)
}

// version resolves a version reference: a number, $Latest or $Default.
func (lt *launchTemplate) version(ref string) (*ltVersion, error) {
	n := lt.defaultVersion
	switch ref {
	case "$Latest":
		n = len(lt.versions)
	case "$Default":
	default:
		var err error
		if n, err = strconv.Atoi(ref); err != nil {
			return nil, invalidParameter("Invalid launch template version '%s'; expected a number, $Latest or $Default", ref)
		}
	}
	if n < 1 || n > len(lt.versions) || lt.versions[n-1] == nil {
		return nil, errorf("InvalidLaunchTemplateId.VersionNotFound", "Could not find specified version %s for launch template with ID %s.", ref, lt.id)
	}
	return lt.versions[n-1], nil
}

// ---- XML

type launchTemplateXML struct {
	CreateTime     string   `xml:"createTime"`
	CreatedBy      string   `xml:"createdBy"`
	DefaultVersion int      `xml:"defaultVersionNumber"`
	LatestVersion  int      `xml:"latestVersionNumber"`
	ID             string   `xml:"launchTemplateId"`
	Name           string   `xml:"launchTemplateName"`
	TagSet         []tagXML `xml:"tagSet>item,omitempty"`
}

func (r *request) launchTemplateXML(lt *launchTemplate) launchTemplateXML {
	return launchTemplateXML{CreateTime: awsTime(lt.created), CreatedBy: "arn:aws:iam::" + lt.owner + ":root",
		DefaultVersion: lt.defaultVersion, LatestVersion: len(lt.versions), ID: lt.id, Name: lt.name,
		TagSet: tagXMLs(r.visibleTags(&lt.tags))}
}

type ltVersionXML struct {
	CreateTime     string    `xml:"createTime"`
	CreatedBy      string    `xml:"createdBy"`
	DefaultVersion bool      `xml:"defaultVersion"`
	Data           ltDataXML `xml:"launchTemplateData"`
	ID             string    `xml:"launchTemplateId"`
	Name           string    `xml:"launchTemplateName"`
	Description    string    `xml:"versionDescription,omitempty"`
	Number         int       `xml:"versionNumber"`
}

type ltDataXML struct {
	ImageID      string   `xml:"imageId,omitempty"`
	InstanceType string   `xml:"instanceType,omitempty"`
	KeyName      string   `xml:"keyName,omitempty"`
	UserData     string   `xml:"userData,omitempty"`
	GroupIDs     []string `xml:"securityGroupIdSet>item,omitempty"`
}

// ltVersionRef is one version of one template, with its image id as the
// response shows it (resolved when ResolveAlias asked).
type ltVersionRef struct {
	lt      *launchTemplate
	v       *ltVersion
	imageID string
}

func (x ltVersionRef) xml() ltVersionXML {
	d := x.v.data
	return ltVersionXML{CreateTime: awsTime(x.v.created), CreatedBy: "arn:aws:iam::" + x.lt.owner + ":root",
		DefaultVersion: x.v.number == x.lt.defaultVersion, ID: x.lt.id, Name: x.lt.name, Description: x.v.desc,
		Number: x.v.number, Data: ltDataXML{ImageID: x.imageID, InstanceType: d.instanceType, KeyName: d.keyName,
			UserData: d.userData, GroupIDs: d.groupIDs}}
}

// ---- CreateLaunchTemplate, CreateLaunchTemplateVersion

type launchTemplateResponse struct {
	meta
	LaunchTemplate launchTemplateXML `xml:"launchTemplate"`
}

func createLaunchTemplate(r *request) (any, error) {
	name, err := r.p.required("LaunchTemplateName")
	if err != nil {
		return nil, err
	}
	token, digest := r.p.str("ClientToken"), r.p.digest()
	if ct, ok, err := r.rs.claimToken(r.account, "CreateLaunchTemplate", token, digest); err != nil {
		return nil, err
	} else if ok && r.rs.launchTemplates[ct.ids[0]] != nil {
		return &launchTemplateResponse{LaunchTemplate: r.launchTemplateXML(r.rs.launchTemplates[ct.ids[0]])}, nil
	}
	if !ltNamePattern.MatchString(name) {
		return nil, errorf("InvalidLaunchTemplateName.MalformedException", "A launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _ (got %q)", name)
	}
	if slices.ContainsFunc(r.ownTemplates(), func(lt *launchTemplate) bool { return lt.name == name }) {
		return nil, errorf("InvalidLaunchTemplateName.AlreadyExistsException", "Launch template name already in use.")
	}
	data, err := r.p.ltData(ltData{})
	if err != nil {
		return nil, err
	}
	tags, err := r.p.tagSpecs("launch-template")
	if err != nil {
		return nil, err
	}
	lt := &launchTemplate{id: r.e.newID("lt"), name: name, owner: r.account, created: r.now, defaultVersion: 1}
	lt.versions = []*ltVersion{{number: 1, desc: r.p.str("VersionDescription"), created: r.now, data: data}}
	lt.tags.setAll(r.account, tags["launch-template"], r.now)
	r.rs.launchTemplates[lt.id] = lt
	r.rs.saveToken(r.account, "CreateLaunchTemplate", token, digest, []string{lt.id})
	return &launchTemplateResponse{LaunchTemplate: r.launchTemplateXML(lt)}, nil
}

type launchTemplateVersionResponse struct {
	meta
	Version ltVersionXML `xml:"launchTemplateVersion"`
}

func createLaunchTemplateVersion(r *request) (any, error) {
	lt, err := r.templateParam()
	if err != nil {
		return nil, err
	}
	token, digest := r.p.str("ClientToken"), r.p.digest()
	if ct, ok, err := r.rs.claimToken(r.account, "CreateLaunchTemplateVersion", token, digest); err != nil {
		return nil, err
	} else if ok {
		if v, err := lt.version(ct.ids[1]); err == nil {
			return &launchTemplateVersionResponse{Version: ltVersionRef{lt, v, v.data.imageID}.xml()}, nil
		}
	}
	var base ltData
	if src := r.p.str("SourceVersion"); src != "" {
		v, err := lt.version(src)
		if err != nil {
			return nil, err
		}
		base = v.data
	}
	data, err := r.p.ltData(base)
	if err != nil {
		return nil, err
	}
	v := &ltVersion{number: len(lt.versions) + 1, desc: r.p.str("VersionDescription"), created: r.now, data: data}
	lt.versions = append(lt.versions, v)
	r.rs.saveToken(r.account, "CreateLaunchTemplateVersion", token, digest, []string{lt.id, strconv.Itoa(v.number)})
	return &launchTemplateVersionResponse{Version: ltVersionRef{lt, v, v.data.imageID}.xml()}, nil
}

// ---- ModifyLaunchTemplate, DeleteLaunchTemplate

func modifyLaunchTemplate(r *request) (any, error) {
	lt, err := r.templateParam()
	if err != nil {
		return nil, err
	}
	for k := range r.p.v {
		if k != "Action" && k != "Version" && k != "LaunchTemplateId" && k != "LaunchTemplateName" &&
			k != "SetDefaultVersion" && k != "ClientToken" && k != "DryRun" {
			return nil, unsupported("ModifyLaunchTemplate parameter %s is not modelled; only SetDefaultVersion", k)
		}
	}
	if ref := r.p.str("SetDefaultVersion"); ref != "" {
		v, err := lt.version(ref)
		if err != nil {
			return nil, err
		}
		lt.defaultVersion = v.number
	}
	return &launchTemplateResponse{LaunchTemplate: r.launchTemplateXML(lt)}, nil
}

func deleteLaunchTemplate(r *request) (any, error) {
	lt, err := r.templateParam()
	if err != nil {
		return nil, err
	}
	delete(r.rs.launchTemplates, lt.id)
	return &launchTemplateResponse{LaunchTemplate: r.launchTemplateXML(lt)}, nil
}

// resolveImageAlias resolves a resolve:ssm:NAME image id as a launch would,
// from the caller's (or a public) SSM parameter; other ids are returned as
// they are.
func (r *request) resolveImageAlias(imageID string) (string, error) {
	name, ok := strings.CutPrefix(imageID, ssmAliasPrefix)
	if !ok {
		return imageID, nil
	}
	p, err := r.lookupParam(name)
	if err != nil {
		return "", invalidParameter("The image id %s could not be resolved: %v", imageID, err)
	}
	return p.Value, nil
}

// ltKey orders versions by template, then number.
func ltKey(x ltVersionRef) string { return fmt.Sprintf("%s/%08d", x.lt.id, x.v.number) }
