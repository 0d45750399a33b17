package awsemu

import (
	"maps"
	"slices"
	"time"
)

// Launch configurations: per account and region, at most 200 (the default
// quota, LimitExceeded beyond), made from an image the account can see
// (ImageId; InstanceId is not modelled). Deleting one a group uses is
// ResourceInUse.

const maxLaunchConfigs = 200

type launchConfig struct {
	name, arn, imageID, instanceType, keyName, userData string
	groups                                              []string
	created                                             time.Time
}

type launchConfigXML struct {
	Name         string   `xml:"LaunchConfigurationName"`
	ARN          string   `xml:"LaunchConfigurationARN"`
	ImageID      string   `xml:"ImageId"`
	InstanceType string   `xml:"InstanceType"`
	KeyName      string   `xml:"KeyName,omitempty"`
	UserData     string   `xml:"UserData,omitempty"`
	Groups       []string `xml:"SecurityGroups>member"`
	Created      string   `xml:"CreatedTime"`
	Monitoring   bool     `xml:"InstanceMonitoring>Enabled"`
	EbsOptimized bool     `xml:"EbsOptimized"`
}

func createLaunchConfiguration(r *request) (any, error) {
	if err := r.p.only("LaunchConfigurationName", "ImageId", "InstanceType", "KeyName", "SecurityGroups", "UserData"); err != nil {
		return nil, err
	}
	name := r.p.str("LaunchConfigurationName")
	if name == "" || len(name) > 255 {
		return nil, clientError("ValidationError", "LaunchConfigurationName must be between 1 and 255 characters")
	}
	own := ownNamed(r.rs.launchConfigs, r.account)
	if own[name] != nil {
		return nil, clientError("AlreadyExists", "Launch Configuration by this name already exists - A launch configuration already exists with the name %s", name)
	}
	if len(own) >= maxLaunchConfigs {
		return nil, clientError("LimitExceeded", "You have %d launch configurations, the maximum", maxLaunchConfigs)
	}
	lc := &launchConfig{name: name, imageID: r.p.str("ImageId"), instanceType: r.p.str("InstanceType"),
		keyName: r.p.str("KeyName"), userData: r.p.str("UserData"), groups: r.p.list("SecurityGroups.member"), created: r.now}
	if lc.imageID == "" || lc.instanceType == "" {
		return nil, clientError("ValidationError", "ImageId and InstanceType are required (InstanceId is not modelled)")
	}
	if im, err := r.visibleImage(r.rs, lc.imageID); err != nil || im.state != "available" {
		return nil, clientError("ValidationError", "The image id '[%s]' does not exist", lc.imageID)
	}
	lc.arn = "arn:aws:autoscaling:" + r.region + ":" + r.account + ":launchConfiguration:" + newRequestID() + ":launchConfigurationName/" + name
	own[name] = lc
	return nil, nil
}

func describeLaunchConfigurations(r *request) (any, error) {
	if err := r.p.only("LaunchConfigurationNames", "MaxRecords", "NextToken"); err != nil {
		return nil, err
	}
	wanted, err := r.p.asNameList("LaunchConfigurationNames")
	if err != nil {
		return nil, err
	}
	own := ownNamed(r.rs.launchConfigs, r.account)
	page, next, err := r.p.describeNamed(slices.Collect(maps.Keys(own)), wanted)
	if err != nil {
		return nil, err
	}
	out := struct {
		Configs   []launchConfigXML `xml:"LaunchConfigurations>member"`
		NextToken string            `xml:"NextToken,omitempty"`
	}{Configs: []launchConfigXML{}, NextToken: next}
	for _, name := range page {
		lc := own[name]
		out.Configs = append(out.Configs, launchConfigXML{Name: lc.name, ARN: lc.arn, ImageID: lc.imageID,
			InstanceType: lc.instanceType, KeyName: lc.keyName, UserData: lc.userData, Groups: lc.groups,
			Created: awsTime(lc.created), Monitoring: true})
	}
	return out, nil
}

func deleteLaunchConfiguration(r *request) (any, error) {
	if err := r.p.only("LaunchConfigurationName"); err != nil {
		return nil, err
	}
	name := r.p.str("LaunchConfigurationName")
	own := ownNamed(r.rs.launchConfigs, r.account)
	if own[name] == nil {
		return nil, clientError("ValidationError", "Launch configuration name not found - Launch configuration %s not found", name)
	}
	for _, g := range ownNamed(r.rs.asGroups, r.account) {
		if g.launchConfig == name {
			return nil, clientError("ResourceInUse", "Cannot delete launch configuration %s because it is attached to AutoScalingGroup %s", name, g.name)
		}
	}
	delete(own, name)
	return nil, nil
}
