package awsemu

import (
	"maps"
	"slices"
	"strconv"
	"time"
)

// Auto Scaling groups: per account and region, launched by exactly one of a
// launch configuration, a launch template (LaunchTemplate) or a mixed
// instances policy (MixedInstancesPolicy.LaunchTemplate, with overrides that
// may name their own templates). Every template named must exist in the
// account, with the version asked ($Default when none is). The group
// launches no instances.

type asGroup struct {
	name, arn, launchConfig string
	template                *asTemplateSpec
	mixed                   *asTemplateSpec
	overrides               []asOverride
	minSize, maxSize        int
	desired                 int
	zones                   []string
	vpcZones                string
	tags                    []tag
	created                 time.Time
}

type asTemplateSpec struct {
	ID      string `xml:"LaunchTemplateId"`
	Name    string `xml:"LaunchTemplateName"`
	Version string `xml:"Version"`
}

type asOverride struct {
	InstanceType string          `xml:"InstanceType,omitempty"`
	Template     *asTemplateSpec `xml:"LaunchTemplateSpecification,omitempty"`
}

// templateSpec reads a launch template specification at prefix and
// checks that the template and version exist; nil when absent.
func (r *request) templateSpec(prefix string) (*asTemplateSpec, error) {
	id, name := r.p.str(prefix+".LaunchTemplateId"), r.p.str(prefix+".LaunchTemplateName")
	if id == "" && name == "" {
		return nil, nil
	}
	if id != "" && name != "" {
		return nil, clientError("ValidationError", "Specify either LaunchTemplateId or LaunchTemplateName, not both")
	}
	spec := &asTemplateSpec{ID: id, Name: name, Version: r.p.str(prefix + ".Version")}
	if spec.Version == "" {
		spec.Version = "$Default"
	}
	for _, lt := range r.ownTemplates() {
		if lt.id == id || lt.name == name {
			if _, err := lt.version(spec.Version); err != nil {
				return nil, clientError("ValidationError", "You must use a valid fully-formed launch template. %s", err.(*apiError).Message)
			}
			spec.ID, spec.Name = lt.id, lt.name
			return spec, nil
		}
	}
	return nil, clientError("ValidationError", "You must use a valid fully-formed launch template. The specified launch template, with template ID %s name %s, does not exist.", id, name)
}

// launchSource reads what launches the group: exactly one of the three.
func (r *request) launchSource(g *asGroup) error {
	var err error
	if g.template, err = r.templateSpec("LaunchTemplate"); err != nil {
		return err
	}
	if g.mixed, err = r.templateSpec("MixedInstancesPolicy.LaunchTemplate.LaunchTemplateSpecification"); err != nil {
		return err
	}
	for _, n := range r.p.indices("MixedInstancesPolicy.LaunchTemplate.Overrides.member") {
		pre := "MixedInstancesPolicy.LaunchTemplate.Overrides.member." + strconv.Itoa(n)
		o := asOverride{InstanceType: r.p.str(pre + ".InstanceType")}
		if o.Template, err = r.templateSpec(pre + ".LaunchTemplateSpecification"); err != nil {
			return err
		}
		g.overrides = append(g.overrides, o)
	}
	g.launchConfig = r.p.str("LaunchConfigurationName")
	if g.launchConfig != "" && ownNamed(r.rs.launchConfigs, r.account)[g.launchConfig] == nil {
		return clientError("ValidationError", "Launch configuration name not found - Launch configuration %s not found", g.launchConfig)
	}
	sources := 0
	for _, set := range []bool{g.template != nil, g.mixed != nil, g.launchConfig != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return clientError("ValidationError", "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.")
	}
	return nil
}

func createAutoScalingGroup(r *request) (any, error) {
	if err := r.p.only("AutoScalingGroupName", "LaunchConfigurationName", "LaunchTemplate", "MixedInstancesPolicy.LaunchTemplate",
		"MinSize", "MaxSize", "DesiredCapacity", "AvailabilityZones", "VPCZoneIdentifier", "Tags"); err != nil {
		return nil, err
	}
	g := &asGroup{name: r.p.str("AutoScalingGroupName"), zones: r.p.list("AvailabilityZones.member"),
		vpcZones: r.p.str("VPCZoneIdentifier"), created: r.now}
	if g.name == "" || len(g.name) > 255 {
		return nil, clientError("ValidationError", "AutoScalingGroupName must be between 1 and 255 characters")
	}
	own := ownNamed(r.rs.asGroups, r.account)
	if own[g.name] != nil {
		return nil, clientError("AlreadyExists", "AutoScalingGroup by this name already exists - A group with the name %s already exists", g.name)
	}
	if err := r.launchSource(g); err != nil {
		return nil, err
	}
	var err error
	if g.minSize, g.maxSize, g.desired, err = r.p.groupSizes(); err != nil {
		return nil, err
	}
	if len(g.zones) == 0 && g.vpcZones == "" {
		return nil, clientError("ValidationError", "At least one Availability Zone or VPC Subnet is required.")
	}
	for _, n := range r.p.indices("Tags.member") {
		pre := "Tags.member." + strconv.Itoa(n)
		g.tags = append(g.tags, tag{Key: r.p.str(pre + ".Key"), Value: r.p.str(pre + ".Value")})
	}
	g.arn = "arn:aws:autoscaling:" + r.region + ":" + r.account + ":autoScalingGroup:" + newRequestID() + ":autoScalingGroupName/" + g.name
	own[g.name] = g
	return nil, nil
}

// groupSizes reads MinSize and MaxSize (required) and DesiredCapacity
// (default MinSize), and checks min <= desired <= max.
func (p params) groupSizes() (lo, hi, desired int, err error) {
	if !p.has("MinSize") || !p.has("MaxSize") {
		return 0, 0, 0, clientError("ValidationError", "MinSize and MaxSize are required")
	}
	if lo, err = p.integer("MinSize", 0); err == nil {
		if hi, err = p.integer("MaxSize", 0); err == nil {
			desired, err = p.integer("DesiredCapacity", lo)
		}
	}
	if err != nil {
		return 0, 0, 0, clientError("ValidationError", "%v", err.(*apiError).Message)
	}
	if lo < 0 || lo > hi || desired < lo || desired > hi {
		return 0, 0, 0, clientError("ValidationError", "Desired capacity:%d must be between the specified min size:%d and max size:%d", desired, lo, hi)
	}
	return lo, hi, desired, nil
}

type asGroupXML struct {
	Name         string          `xml:"AutoScalingGroupName"`
	ARN          string          `xml:"AutoScalingGroupARN"`
	LaunchConfig string          `xml:"LaunchConfigurationName,omitempty"`
	Template     *asTemplateSpec `xml:"LaunchTemplate,omitempty"`
	Mixed        *struct {
		Spec      *asTemplateSpec `xml:"LaunchTemplate>LaunchTemplateSpecification"`
		Overrides []asOverride    `xml:"LaunchTemplate>Overrides>member"`
	} `xml:"MixedInstancesPolicy,omitempty"`
	MinSize, MaxSize int
	Desired          int        `xml:"DesiredCapacity"`
	Cooldown         int        `xml:"DefaultCooldown"`
	Zones            []string   `xml:"AvailabilityZones>member"`
	HealthCheck      string     `xml:"HealthCheckType"`
	Instances        struct{}   `xml:"Instances"`
	Created          string     `xml:"CreatedTime"`
	VPCZones         string     `xml:"VPCZoneIdentifier,omitempty"`
	Tags             []asTagXML `xml:"Tags>member"`
}

type asTagXML struct {
	ResourceID   string `xml:"ResourceId"`
	ResourceType string `xml:"ResourceType"`
	Key, Value   string
	Propagate    bool `xml:"PropagateAtLaunch"`
}

func (g *asGroup) xml() asGroupXML {
	x := asGroupXML{Name: g.name, ARN: g.arn, LaunchConfig: g.launchConfig, Template: g.template,
		MinSize: g.minSize, MaxSize: g.maxSize, Desired: g.desired, Cooldown: 300, Zones: g.zones,
		HealthCheck: "EC2", Created: awsTime(g.created), VPCZones: g.vpcZones}
	if g.mixed != nil {
		x.Mixed = &struct {
			Spec      *asTemplateSpec `xml:"LaunchTemplate>LaunchTemplateSpecification"`
			Overrides []asOverride    `xml:"LaunchTemplate>Overrides>member"`
		}{g.mixed, g.overrides}
	}
	for _, t := range g.tags {
		x.Tags = append(x.Tags, asTagXML{ResourceID: g.name, ResourceType: "auto-scaling-group", Key: t.Key, Value: t.Value})
	}
	return x
}

func describeAutoScalingGroups(r *request) (any, error) {
	if err := r.p.only("AutoScalingGroupNames", "MaxRecords", "NextToken"); err != nil {
		return nil, err
	}
	wanted, err := r.p.asNameList("AutoScalingGroupNames")
	if err != nil {
		return nil, err
	}
	own := ownNamed(r.rs.asGroups, r.account)
	page, next, err := r.p.describeNamed(slices.Collect(maps.Keys(own)), wanted)
	if err != nil {
		return nil, err
	}
	out := struct {
		Groups    []asGroupXML `xml:"AutoScalingGroups>member"`
		NextToken string       `xml:"NextToken,omitempty"`
	}{Groups: []asGroupXML{}, NextToken: next}
	for _, name := range page {
		out.Groups = append(out.Groups, own[name].xml())
	}
	return out, nil
}

func deleteAutoScalingGroup(r *request) (any, error) {
	if err := r.p.only("AutoScalingGroupName", "ForceDelete"); err != nil {
		return nil, err
	}
	name := r.p.str("AutoScalingGroupName")
	own := ownNamed(r.rs.asGroups, r.account)
	if own[name] == nil {
		return nil, clientError("ValidationError", "AutoScalingGroup name not found - AutoScalingGroup %s not found", name)
	}
	delete(own, name)
	return nil, nil
}
