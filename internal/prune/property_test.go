package prune

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// The property: in random fleets, prune never deprecates, disables or
// deletes an AMI that is referenced, current, the ancestor of an AMI that
// stays, another lineage's (or untagged, unless adopted), shared (unless
// IncludeShared), protected, pending, young or among the newest kept; never
// deletes a snapshot an AMI still uses, nor one shared; and a second run
// at the same time changes nothing. The oracle below knows the fleet from
// how it was made, not from prune's code.

// propertySeeds is how many fixed seeds TestPruneProperty runs (-short:
// fewer).
const propertySeeds = 200

func TestPruneProperty(t *testing.T) {
	n := propertySeeds
	if testing.Short() {
		n = 40
	}
	for seed := range uint64(n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			checkProperty(t, seed)
		})
	}
}

// FuzzPrune runs the property on seeds the fuzzer picks, starting from
// the fixed ones.
func FuzzPrune(f *testing.F) {
	for seed := range uint64(20) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkProperty(t, seed) })
}

// lineages in the fleets: the first three are pruned, the rest are not.
var (
	pruned = []Current{
		{Project: "shop", Name: "app", Variant: "aaaa0001", TagKey: "ami_config_checksum"},
		{Project: "shop", Name: "app", Variant: "aaaa0002", TagKey: "ami_config_checksum"},
		{Project: "shop", Name: "base", Variant: "", TagKey: "ami_config_checksum"},
	}
	others = []Current{
		{Project: "blog", Name: "app", Variant: "aaaa0001"},
		{Project: "shop", Name: "worker", Variant: "aaaa0001"},
		{Project: "shop", Name: "app", Variant: "aaaa0003"},
		{Project: "shop", Name: "base", Variant: "bbbb0009"},
	}
)

// fleetAMI is what the oracle knows of an AMI.
type fleetAMI struct {
	id, name, region           string
	lin                        Current // the lineage it was made for
	noProject, noVars, noImage bool    // tags left out
	parent                     string
	fpTag                      string
	created                    time.Time
	state                      string // available, deprecated, disabled, pending, failed
	shared, protected          bool
	snaps                      []string
	refs                       []string
	launched                   bool
}

type fleet struct {
	t      *testing.T
	f      *fixture
	c      *fastClients
	rng    *rand.Rand
	amis   []*fleetAMI
	byID   map[string]*fleetAMI
	shared map[string]bool // snapshots shared with another account
	orphan map[string]bool // orphaned snapshots of our lineages
	n      int             // names made
	now    time.Time
	cur    map[string]string // lineage key -> current fingerprint
}

func checkProperty(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	fl := &fleet{t: t, f: newFixture(t, awsemu.Options{SSMShortPages: rng.IntN(2) == 0}), rng: rng, byID: map[string]*fleetAMI{},
		shared: map[string]bool{}, orphan: map[string]bool{}, cur: map[string]string{}}
	fl.c = newFastClients(fl.f.s)
	fl.now = fl.f.s.Now()
	for _, l := range pruned {
		fl.cur[l.key()] = fmt.Sprintf("%016x", rng.Uint64())
	}
	regions := []string{region}
	if rng.IntN(4) == 0 {
		regions = append(regions, "eu-west-1")
	}
	for _, r := range regions {
		fl.build(r, 6+rng.IntN(18))
	}
	o := Options{Regions: regions, Keep: rng.IntN(3), Mode: []Mode{ModeDeprecate, ModeDisable, ModeDelete}[rng.IntN(3)],
		Grace: 7 * 24 * time.Hour, IncludeShared: rng.IntN(8) == 0, AdoptUntagged: rng.IntN(2) == 0, Now: fl.now}
	if rng.IntN(2) == 0 {
		o.MinAge = 10 * 24 * time.Hour
	}
	for _, l := range pruned {
		l.Fingerprint = fl.cur[l.key()]
		o.Images = append(o.Images, l)
	}
	t.Logf("seed %d: %d AMIs, mode %s, keep %d, min-age %s, shared %t, adopt %t", seed, len(fl.amis), o.Mode, o.Keep, o.MinAge, o.IncludeShared, o.AdoptUntagged)

	before := fl.observe(regions)
	res := fl.prune(o, 1000)
	fl.verify(o, before, fl.observe(regions), res)
	// Again at the same time: nothing new.
	if again := fl.prune(o, 1000); again.Acts != 0 {
		t.Fatalf("a second run at the same time changed %d more: %+v", again.Acts, again.Changed)
	}
	// Past the grace, the retired may go; the rules hold still.
	fl.f.s.Advance(8 * 24 * time.Hour)
	o.Now = fl.f.s.Now()
	before = fl.observe(regions)
	res = fl.prune(o, 1000)
	fl.verify(o, before, fl.observe(regions), res)
}

func (fl *fleet) prune(o Options, cap int) *Result {
	fl.t.Helper()
	c := fl.c.prune()
	p, err := PlanPrune(fl.f.ctx, c, o)
	if err != nil {
		fl.t.Fatal(err)
	}
	debugPlan(p)
	res, err := Execute(fl.f.ctx, c, p, ExecOptions{Lock: &testLocker{}, MaxDeletions: cap})
	if err != nil {
		fl.t.Fatal(err)
	}
	return res
}

var debugPlan = func(*Plan) {}

func (fl *fleet) pick(weights ...int) int {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := fl.rng.IntN(total)
	for i, w := range weights {
		if n < w {
			return i
		}
		n -= w
	}
	panic("unreachable")
}

func (fl *fleet) ok(err error) bool {
	return err == nil
}

func (fl *fleet) must(err error) {
	fl.t.Helper()
	if err != nil {
		fl.t.Fatal(err)
	}
}

// build makes n AMIs in region, then references, sharing and orphans.
func (fl *fleet) build(r string, n int) {
	rng, f := fl.rng, fl.f
	var here []*fleetAMI
	e := fl.c.EC2(r)
	for range n {
		fl.n++
		lin := pruned[rng.IntN(len(pruned))]
		if rng.IntN(4) == 0 {
			lin = others[rng.IntN(len(others))]
		}
		a := &fleetAMI{region: r, lin: lin, name: fmt.Sprintf("%s-%d", lin.Name, fl.n), fpTag: fmt.Sprintf("old-%d", fl.n),
			created: fl.now.Add(-time.Duration(fl.n)*time.Minute - time.Duration(rng.IntN(60))*24*time.Hour)}
		cur := fl.cur[lin.key()]
		switch {
		case cur != "" && rng.IntN(8) == 0:
			a.fpTag = cur
		case cur != "" && rng.IntN(12) == 0:
			a.name = fmt.Sprintf("%s-%s-%d", lin.Name, cur, fl.n)
		}
		a.noProject, a.noVars, a.noImage = rng.IntN(8) == 0, rng.IntN(8) == 0, rng.IntN(20) == 0
		if len(here) > 0 {
			switch rng.IntN(3) {
			case 0: // chains
				a.parent = here[len(here)-1].id
			case 1:
				a.parent = here[rng.IntN(len(here))].id
			}
		}
		tags := map[string]string{TagImage: lin.Name, "ami_config_checksum": a.fpTag}
		if a.noImage {
			delete(tags, TagImage)
		}
		if !a.noProject {
			tags[TagProject] = lin.Project
		}
		if !a.noVars {
			tags[TagInputs] = "t:00000000"
			if lin.Variant != "" {
				tags[TagInputs] += ";v:" + lin.Variant
			}
		}
		if a.parent != "" {
			tags[TagParentAMI] = a.parent
		}
		switch rng.IntN(10) {
		case 0:
			tags[TagPruneAfter] = fl.now.Add(-24 * time.Hour).UTC().Format(time.RFC3339)
		case 1:
			tags[TagPruneAfter] = fl.now.Add(72 * time.Hour).UTC().Format(time.RFC3339)
		}
		spec := awsemu.ImageSpec{Name: a.name, Tags: tags, CreationDate: a.created}
		a.state = []string{"available", "deprecated", "disabled", "pending", "failed"}[fl.pick(12, 2, 2, 1, 1)]
		switch a.state {
		case "pending", "failed":
			spec.State = a.state
		case "deprecated":
			spec.DeprecationTime = fl.now.Add(-time.Hour)
		}
		if a.state == "available" || a.state == "deprecated" {
			switch fl.pick(14, 1, 1) {
			case 1:
				spec.SharedWith, a.shared = []string{"210987654321"}, true
			case 2:
				spec.Public, a.shared = true, true
			}
		}
		id, err := f.s.PutImage(awsemu.DefaultAccount, r, spec)
		fl.must(err)
		a.id = id
		im, _ := f.s.Image(id)
		a.snaps = im.SnapshotIDs
		if a.state == "disabled" {
			_, err := e.DisableImage(f.ctx, &ec2.DisableImageInput{ImageId: aws.String(id)})
			fl.must(err)
		}
		if a.state == "available" && rng.IntN(20) == 0 {
			_, err := e.EnableImageDeregistrationProtection(f.ctx, &ec2.EnableImageDeregistrationProtectionInput{ImageId: aws.String(id)})
			fl.must(err)
			a.protected = true
		}
		if rng.IntN(20) == 0 {
			_, err := e.ModifySnapshotAttribute(f.ctx, &ec2.ModifySnapshotAttributeInput{SnapshotId: aws.String(a.snaps[0]),
				Attribute:              types.SnapshotAttributeNameCreateVolumePermission,
				CreateVolumePermission: &types.CreateVolumePermissionModifications{Add: []types.CreateVolumePermission{{Group: types.PermissionGroupAll}}}})
			fl.must(err)
			fl.shared[a.snaps[0]] = true
		}
		here = append(here, a)
		fl.amis = append(fl.amis, a)
		fl.byID[id] = a
	}
	// A long line of ancestors under one used AMI.
	if rng.IntN(2) == 0 {
		parent := ""
		for k := range 3 + rng.IntN(4) {
			fl.n++
			lin := pruned[rng.IntN(len(pruned))]
			a := &fleetAMI{region: r, lin: lin, name: fmt.Sprintf("line-%d", fl.n), fpTag: fmt.Sprintf("old-%d", fl.n), parent: parent,
				created: fl.now.Add(-time.Duration(90-k)*24*time.Hour - time.Duration(fl.n)*time.Minute), state: "available"}
			tags := map[string]string{TagProject: lin.Project, TagImage: lin.Name, TagInputs: "t:1;v:" + lin.Variant, "ami_config_checksum": a.fpTag}
			if parent != "" {
				tags[TagParentAMI] = parent
			}
			id, err := f.s.PutImage(awsemu.DefaultAccount, r, awsemu.ImageSpec{Name: a.name, Tags: tags, CreationDate: a.created})
			fl.must(err)
			im, _ := f.s.Image(id)
			a.id, a.snaps, parent = id, im.SnapshotIDs, id
			fl.amis = append(fl.amis, a)
			fl.byID[id] = a
			here = append(here, a)
		}
		_, err := fl.c.AutoScaling(r).CreateLaunchConfiguration(f.ctx, &autoscaling.CreateLaunchConfigurationInput{
			LaunchConfigurationName: aws.String(fmt.Sprintf("line-%d", fl.n)), ImageId: aws.String(parent), InstanceType: aws.String("t3.micro")})
		fl.must(err)
		fl.byID[parent].refs = append(fl.byID[parent].refs, "launch configuration")
	}
	// An AMI registered from another's snapshot: the snapshot has two users.
	if rng.IntN(3) == 0 {
		from := here[rng.IntN(len(here))]
		fl.n++
		lin := pruned[rng.IntN(len(pruned))]
		out, err := e.RegisterImage(f.ctx, &ec2.RegisterImageInput{Name: aws.String(fmt.Sprintf("twin-%d", fl.n)), RootDeviceName: aws.String("/dev/xvda"),
			BlockDeviceMappings: []types.BlockDeviceMapping{{DeviceName: aws.String("/dev/xvda"), Ebs: &types.EbsBlockDevice{SnapshotId: aws.String(from.snaps[0])}}},
			TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeImage, Tags: []types.Tag{
				{Key: aws.String(TagProject), Value: aws.String(lin.Project)}, {Key: aws.String(TagImage), Value: aws.String(lin.Name)},
				{Key: aws.String(TagInputs), Value: aws.String("t:0;v:" + lin.Variant)}}}}})
		if err == nil {
			a := &fleetAMI{id: aws.ToString(out.ImageId), name: fmt.Sprintf("twin-%d", fl.n), region: r, lin: lin,
				created: fl.now, state: "available", snaps: from.snaps}
			fl.amis = append(fl.amis, a)
			fl.byID[a.id] = a
			here = append(here, a)
		}
	}
	for i, a := range here {
		if rng.IntN(3) == 0 {
			fl.reference(r, i, a, here)
		}
	}
	fl.orphans(r)
}

// reference makes one reference of a random kind and form to a.
func (fl *fleet) reference(r string, i int, a *fleetAMI, here []*fleetAMI) {
	f, rng := fl.f, fl.rng
	e, as, sm := fl.c.EC2(r), fl.c.AutoScaling(r), fl.c.SSM(r)
	decoy := here[rng.IntN(len(here))].id
	putParam := func(name, value string, typ ssmtypes.ParameterType) bool {
		_, err := sm.PutParameter(f.ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value), Type: typ, Overwrite: aws.Bool(true)})
		return fl.ok(err)
	}
	template := func(name string, images ...string) (string, bool) {
		out, err := e.CreateLaunchTemplate(f.ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(name),
			LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(images[0])}})
		if err != nil {
			return "", false
		}
		for _, im := range images[1:] {
			if _, err := e.CreateLaunchTemplateVersion(f.ctx, &ec2.CreateLaunchTemplateVersionInput{LaunchTemplateName: aws.String(name),
				LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(im)}}); err != nil {
				return "", false
			}
		}
		return aws.ToString(out.LaunchTemplate.LaunchTemplateId), true
	}
	name := fmt.Sprintf("ref-%d-%d", fl.n, i)
	switch kind := rng.IntN(9); kind {
	case 0, 1: // an instance: running, stopped or terminated (no reference)
		if a.state != "available" && a.state != "deprecated" {
			return
		}
		out, err := e.RunInstances(f.ctx, &ec2.RunInstancesInput{ImageId: aws.String(a.id), MinCount: aws.Int32(1), MaxCount: aws.Int32(1), InstanceType: types.InstanceTypeT3Micro})
		if err != nil {
			return
		}
		a.launched = true
		id := aws.ToString(out.Instances[0].InstanceId)
		switch rng.IntN(3) {
		case 0:
			a.refs = append(a.refs, "running instance")
		case 1:
			_, err := e.StopInstances(f.ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
			fl.must(err)
			a.refs = append(a.refs, "stopped instance")
		case 2:
			_, err := e.TerminateInstances(f.ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{id}})
			fl.must(err)
		}
	case 2: // a launch template version, not the default
		if _, ok := template(name, decoy, a.id, decoy); ok {
			a.refs = append(a.refs, "launch template version 2")
		}
	case 3: // resolve:ssm: at a version
		param := "/lt/" + name
		if putParam(param, a.id, "String") && putParam(param, decoy, "String") {
			if _, ok := template(name, decoy, "resolve:ssm:"+param+":1"); ok {
				a.refs = append(a.refs, "resolve:ssm: version 1")
			}
		}
	case 4: // an Auto Scaling group, its own template or a mixed policy
		id, ok := template(name, decoy, a.id)
		if !ok {
			return
		}
		spec := &astypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String(id), Version: aws.String("2")}
		in := &autoscaling.CreateAutoScalingGroupInput{AutoScalingGroupName: aws.String(name), MinSize: aws.Int32(0), MaxSize: aws.Int32(1),
			AvailabilityZones: []string{r + "a"}}
		if rng.IntN(2) == 0 {
			in.LaunchTemplate = spec
		} else {
			in.MixedInstancesPolicy = &astypes.MixedInstancesPolicy{LaunchTemplate: &astypes.LaunchTemplate{LaunchTemplateSpecification: spec}}
		}
		if _, err := as.CreateAutoScalingGroup(f.ctx, in); err == nil {
			a.refs = append(a.refs, "auto scaling group")
		}
	case 5: // a launch configuration
		if _, err := as.CreateLaunchConfiguration(f.ctx, &autoscaling.CreateLaunchConfigurationInput{LaunchConfigurationName: aws.String(name),
			ImageId: aws.String(a.id), InstanceType: aws.String("t3.micro")}); err == nil {
			a.refs = append(a.refs, "launch configuration")
		}
	default: // an SSM parameter, in any form, under any name
		forms := []string{"%s", "arn:aws:ec2:" + r + "::image/%s", "image_id=%s", "%s;other", "https://x.example/run?ami=%s&n=1",
			"%s\r\n", "%s\t", `{"ami":"%s"}`, "ami-00000000000000000,%s"}
		form := forms[rng.IntN(len(forms))]
		pname := "/refs/" + name
		if rng.IntN(3) == 0 {
			pname = "plain" + strings.ReplaceAll(name, "-", "")
		}
		typ := ssmtypes.ParameterTypeString
		if strings.Contains(form, ",") {
			typ = ssmtypes.ParameterTypeStringList
		}
		if putParam(pname, fmt.Sprintf(form, a.id), typ) {
			a.refs = append(a.refs, "ssm "+pname)
		}
	}
	// Filler parameters that name no AMI.
	putParam(fmt.Sprintf("/filler/%d-%d", fl.n, i), "ami-notanid", "String")
}

// orphans leaves a crashed delete's snapshots: ours, another project's, and
// an older prune's (pruned-from only).
func (fl *fleet) orphans(r string) {
	f, rng := fl.f, fl.rng
	e := fl.c.EC2(r)
	for range rng.IntN(3) {
		fl.n++
		lin := pruned[rng.IntN(len(pruned))]
		kind := rng.IntN(3)
		if kind == 1 {
			lin = others[0]
		}
		id, err := f.s.PutImage(awsemu.DefaultAccount, r, awsemu.ImageSpec{Name: fmt.Sprintf("crashed-%d", fl.n), CreationDate: fl.now.Add(-90 * 24 * time.Hour)})
		fl.must(err)
		im, _ := f.s.Image(id)
		tags := []types.Tag{{Key: aws.String(TagPrunedFrom), Value: aws.String(id)}}
		if kind != 2 {
			tags = append(tags, types.Tag{Key: aws.String(TagProject), Value: aws.String(lin.Project)},
				types.Tag{Key: aws.String(TagImage), Value: aws.String(lin.Name)})
			if lin.Variant != "" {
				tags = append(tags, types.Tag{Key: aws.String(TagInputs), Value: aws.String("v:" + lin.Variant)})
			} else {
				tags = append(tags, types.Tag{Key: aws.String(TagInputs), Value: aws.String("t:0")})
			}
		}
		_, err = e.CreateTags(f.ctx, &ec2.CreateTagsInput{Resources: im.SnapshotIDs, Tags: tags})
		fl.must(err)
		_, err = e.DeregisterImage(f.ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id)})
		fl.must(err)
		if kind == 0 {
			fl.orphan[im.SnapshotIDs[0]] = true
		}
	}
}

// observed is the state prune may change.
type observed struct {
	images map[string]imageState
	snaps  map[string]bool
}

type imageState struct {
	deprecation, state string
}

func (fl *fleet) observe(regions []string) observed {
	o := observed{images: map[string]imageState{}, snaps: map[string]bool{}}
	for _, r := range regions {
		for _, im := range fl.f.s.Images(awsemu.DefaultAccount, r) {
			o.images[im.ID] = imageState{im.DeprecationTime.String(), im.State}
		}
		for _, s := range fl.f.s.Snapshots(awsemu.DefaultAccount, r) {
			o.snaps[s.ID] = true
		}
	}
	return o
}

// ours is the oracle's idea of whether an AMI belongs to one of the
// pruned lineages, and which.
func (fl *fleet) ours(a *fleetAMI, o Options) (string, bool) {
	if a.noImage || (a.noProject || a.noVars) && !o.AdoptUntagged {
		return "", false
	}
	var found []string
	for _, l := range o.Images {
		if l.Name == a.lin.Name && (a.noProject || l.Project == a.lin.Project) && (a.noVars || l.Variant == a.lin.Variant) {
			found = append(found, l.key())
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

func isOurs(_ string, ok bool) bool { return ok }

// verify checks the property on what one run changed.
func (fl *fleet) verify(o Options, before, after observed, res *Result) {
	t := fl.t
	t.Helper()
	changed := map[string]string{}
	for id, b := range before.images {
		a, ok := after.images[id]
		switch {
		case !ok:
			changed[id] = "deleted"
		case a.state != b.state:
			changed[id] = "disabled"
		case a.deprecation != b.deprecation:
			changed[id] = "deprecated"
		}
	}
	// The newest Keep candidates of each lineage and region stay.
	newest := map[string]bool{}
	byLineage := map[string][]*fleetAMI{}
	for _, a := range fl.amis {
		if l, ours := fl.ours(a, o); ours && before.images[a.id] != (imageState{}) {
			byLineage[a.region+l] = append(byLineage[a.region+l], a)
		}
	}
	for _, as := range byLineage {
		slices.SortFunc(as, func(x, y *fleetAMI) int { return y.created.Compare(x.created) })
		for _, a := range as[:min(o.Keep, len(as))] {
			newest[a.id] = true
		}
	}
	for id, how := range changed {
		a := fl.byID[id]
		if a == nil {
			t.Fatalf("%s %s: not an AMI of the fleet", id, how)
		}
		l, _ := fl.ours(a, o)
		cur := fl.cur[l]
		why := ""
		switch {
		case !isOurs(fl.ours(a, o)):
			why = fmt.Sprintf("of another lineage or untagged (%+v, no project %t, no vars %t)", a.lin, a.noProject, a.noVars)
		case len(a.refs) > 0:
			why = fmt.Sprintf("referenced by %v", a.refs)
		case cur != "" && (a.fpTag == cur || strings.Contains(a.name, cur)):
			why = "current"
		case a.shared && !o.IncludeShared:
			why = "shared"
		case slices.ContainsFunc(a.snaps, func(s string) bool { return fl.shared[s] }) && !o.IncludeShared:
			why = "its snapshot is shared"
		case a.protected:
			why = "protected"
		case a.state == "pending":
			why = "pending"
		case o.Now.Sub(a.created) < o.MinAge || a.launched && o.MinAge > 0:
			why = "young"
		case newest[id]:
			why = fmt.Sprintf("one of the newest %d", o.Keep)
		}
		if why != "" {
			t.Errorf("%s (%s) was %s, yet it is %s", id, a.name, how, why)
		}
	}
	// No AMI that stays has a changed ancestor.
	for id := range before.images {
		if changed[id] != "" {
			continue
		}
		seen := map[string]bool{}
		for child, a := id, fl.byID[id]; a != nil && a.parent != "" && !seen[a.parent]; child, a = a.parent, fl.byID[a.parent] {
			seen[a.parent] = true
			if how := changed[a.parent]; how != "" {
				t.Errorf("%s, an ancestor of %s which stays (through %s), was %s", a.parent, id, child, how)
			}
		}
	}
	// Snapshots: none used by an AMI that remains, none shared, none not ours.
	users := map[string]bool{}
	for id := range after.images {
		if a := fl.byID[id]; a != nil {
			for _, s := range a.snaps {
				users[s] = true
			}
		}
	}
	for s := range before.snaps {
		if after.snaps[s] {
			continue
		}
		switch {
		case users[s]:
			t.Errorf("snapshot %s deleted, yet a remaining AMI uses it", s)
		case fl.shared[s] && !o.IncludeShared:
			t.Errorf("snapshot %s deleted, yet it is shared", s)
		case !fl.orphan[s] && !slices.ContainsFunc(fl.amis, func(a *fleetAMI) bool { return changed[a.id] == "deleted" && slices.Contains(a.snaps, s) }):
			t.Errorf("snapshot %s deleted, yet neither ours orphaned nor of an AMI deleted", s)
		}
	}
	if res.Acts > 1000 {
		t.Errorf("%d acts", res.Acts)
	}
}
