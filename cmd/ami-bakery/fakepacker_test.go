package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
)

// fakePacker is a scripted stand-in for packer, for CLI scripts where the
// real packer is not the point (failure modes, counting runs, speed). It
// does through the EC2 API what packer's amazon-ebs builder does, against
// whatever endpoint AWS_ENDPOINT_URL_EC2 names, and prints packer's
// machine-readable output. FAKE_PACKER_MODE chooses a behaviour:
//
//	ok (default)  build, tag as the template says, print the artifact
//	notag         build but do not tag the AMI
//	fail          print an error and exit 1 without building
//	noartifact    exit 0 without an artifact line
//	hang          wait for a signal; on SIGINT print cleanup and exit 1
//	ignoreint     like hang, but ignore SIGINT
//	amifail       build and announce the AMI ("AMI: ami-..."), then fail
//	              without an artifact, as a failing post-processor does
//	amihang       build and announce the AMI, then hang; on SIGINT exit 1
//	              leaving the AMI, as a packer killed after creating it does
//
// As packer does, a version before 1.7.0 (FAKE_PACKER_VERSION) refuses a
// JSON template that names skip_create_ami, and a later one makes no AMI
// for a template that sets it true (as noartifact).
//
// FAKE_PACKER_FAIL names a template file (its base name): a build of that
// template behaves as fail, others as FAKE_PACKER_MODE says; so one image of
// a project can fail.
//
// "version" prints FAKE_PACKER_VERSION (default 1.6.6); "init" pretends to
// install plugins.
//
// FAKE_PACKER_DELAY (a duration) makes a build take that long. A hanging
// fake exits by itself when its parent dies, so a killed ami-bakery leaves
// nothing behind.
//
// Each run appends its arguments to FAKE_PACKER_LOG when set.
func fakePacker() int {
	args := os.Args[1:]
	mode := os.Getenv("FAKE_PACKER_MODE")
	// A hanging build's handlers are in place before its arguments are
	// logged: scripts wait for the log, then signal, and a signal that
	// came first would kill the fake before it could "clean up".
	sigs := make(chan os.Signal, 1)
	if len(args) > 0 && args[0] == "build" {
		switch mode {
		case "ignoreint":
			signal.Ignore(syscall.SIGINT)
			signal.Notify(sigs, syscall.SIGTERM)
		case "hang", "amihang":
			signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		}
	}
	if f := os.Getenv("FAKE_PACKER_LOG"); f != "" {
		lf, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(lf, strings.Join(args, " "))
			lf.Close()
		}
	}
	ui := func(typ, msg string) {
		fmt.Printf("%d,,ui,%s,%s\n", time.Now().Unix(), typ, strings.ReplaceAll(msg, ",", "%!(PACKER_COMMA)"))
	}
	version := os.Getenv("FAKE_PACKER_VERSION")
	if version == "" {
		version = "1.6.6"
	}
	if len(args) > 0 && args[0] == "version" {
		fmt.Println("Packer v" + version)
		return 0
	}
	if len(args) > 0 && args[0] == "init" {
		fmt.Println("Installed plugin github.com/hashicorp/amazon v1.2.0")
		return 0
	}
	if len(args) == 0 || args[0] != "build" {
		ui("error", "fake packer: only build is supported")
		return 1
	}
	vars, only := fakeArgs(args)
	template := args[len(args)-1]
	if f := os.Getenv("FAKE_PACKER_FAIL"); f != "" && filepath.Base(template) == f {
		mode = "fail"
	}
	if raw, err := os.ReadFile(template); err == nil && strings.Contains(string(raw), `"skip_create_ami"`) {
		if knows, _ := packer.KnowsSkipCreateAMI("Packer v" + version); !knows {
			ui("error", "Error: Failed to prepare build: \"amazon-ebs\"\n\n1 error occurred:\n\t* unknown configuration key: '\"skip_create_ami\"'")
			return 1
		}
		if regexp.MustCompile(`"skip_create_ami"\s*:\s*true`).Match(raw) && (mode == "" || mode == "ok") {
			mode = "noartifact"
		}
	}
	ui("say", "amazon-ebs: output will be in this color.")
	switch mode {
	case "fail":
		ui("error", "Build 'amazon-ebs' errored: fake failure")
		fmt.Fprintln(os.Stderr, "fake packer: failing as asked")
		return 1
	case "noartifact":
		ui("say", "Build 'amazon-ebs' finished.")
		return 0
	case "hang", "ignoreint":
		ui("say", "==> amazon-ebs: Waiting for instance to become ready...")
		parent := os.Getppid()
		for waiting := true; waiting; {
			select {
			case <-sigs:
				waiting = false
			case <-time.After(50 * time.Millisecond):
				if os.Getppid() != parent {
					return 2
				}
			}
		}
		ui("say", "==> amazon-ebs: Terminating the source AWS instance...")
		ui("error", "Build 'amazon-ebs' errored: build was cancelled")
		return 1
	}
	if d, err := time.ParseDuration(os.Getenv("FAKE_PACKER_DELAY")); err == nil {
		time.Sleep(d)
	}
	build := fakeBuild
	if os.Getenv("FAKE_PACKER_HCL") == "eval" {
		build = func(template string, vars map[string]string, tag bool) (string, string, error) {
			return fakeBuildEval(template, vars, only)
		}
	}
	id, region, err := build(template, vars, mode != "notag")
	if err == nil {
		ui("say", "==> amazon-ebs: Creating AMI for the fake from instance i-0")
		ui("message", "    amazon-ebs: AMI: "+id)
		err = fakeManifests(template, vars, id, region)
	}
	if err == nil && mode == "amifail" {
		err = errors.New("post-processor failed")
	}
	if err == nil && mode == "amihang" {
		parent := os.Getppid()
		for waiting := true; waiting; {
			select {
			case <-sigs:
				waiting = false
			case <-time.After(50 * time.Millisecond):
				if os.Getppid() != parent {
					return 2
				}
			}
		}
		err = errors.New("build was cancelled")
	}
	if err != nil {
		ui("error", "Build 'amazon-ebs' errored: "+err.Error())
		return 1
	}
	now := time.Now().Unix()
	fmt.Printf("%d,amazon-ebs,artifact-count,1\n", now)
	fmt.Printf("%d,amazon-ebs,artifact,0,builder-id,mitchellh.amazonebs\n", now)
	fmt.Printf("%d,amazon-ebs,artifact,0,id,%s:%s\n", now, region, id)
	fmt.Printf("%d,amazon-ebs,artifact,0,end\n", now)
	return 0
}

var templateRef = regexp.MustCompile("\\{\\{\\s*(user|env)\\s+`([^`]*)`\\s*\\}\\}|\\{\\{\\s*timestamp\\s*\\}\\}")

func fakeBuild(template string, vars map[string]string, tag bool) (id, region string, err error) {
	raw, err := os.ReadFile(template)
	if err != nil {
		return "", "", err
	}
	if strings.HasSuffix(template, ".pkr.hcl") {
		// HCL2 is not read: build what a standard template would.
		raw = []byte(`{"builders": [{"region": "{{user ` + "`aws_region`" + `}}", "source_ami": "{{env ` + "`SOURCE_AMI`" + `}}",
			"ami_name": "app-{{user ` + "`config_checksum`" + `}}", "tags": {"ami_config_checksum": "{{user ` + "`config_checksum`" + `}}"}}]}`)
	}
	var t struct {
		Variables map[string]string `json:"variables"`
		Builders  []struct {
			Region    string            `json:"region"`
			AMIName   string            `json:"ami_name"`
			SourceAMI string            `json:"source_ami"`
			UserData  string            `json:"user_data_file"`
			Tags      map[string]string `json:"tags"`
			fakeDistribution
		} `json:"builders"`
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", "", fmt.Errorf("fake packer reads JSON templates only: %w", err)
	}
	var render func(s string) string
	render = func(s string) string {
		return templateRef.ReplaceAllStringFunc(s, func(m string) string {
			sub := templateRef.FindStringSubmatch(m)
			if sub[1] == "" { // {{timestamp}}
				return strconv.FormatInt(time.Now().UnixNano(), 10)
			}
			if sub[1] == "env" {
				return os.Getenv(sub[2])
			}
			if v, ok := vars[sub[2]]; ok {
				return render(v)
			}
			return render(t.Variables[sub[2]])
		})
	}
	b := t.Builders[0]
	region = render(b.Region)
	if region == "" { // as packer: a builder without a region takes the environment's
		region = os.Getenv("AWS_REGION")
	}
	if b.UserData != "" {
		// As packer: relative to its working directory.
		if _, err := os.Stat(render(b.UserData)); err != nil {
			return "", "", fmt.Errorf("user_data_file: %w", err)
		}
	}
	ctx := context.Background()
	c, inst, err := fakeInstance(ctx, region, render(b.SourceAMI))
	if err != nil {
		return "", "", err
	}
	defer c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*inst}})
	name := render(b.AMIName)
	if b.EncryptBoot {
		name = "packer-unencrypted-" + name // as packer, copied encrypted below
	}
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst, Name: aws.String(name)})
	if err != nil {
		return "", "", err
	}
	if img.ImageId, err = b.fakeDistribute(ctx, c, region, *img.ImageId, render(b.AMIName)); err != nil {
		return "", "", err
	}
	if tag && len(b.Tags) > 0 {
		var tags []types.Tag
		for k, v := range b.Tags {
			tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(render(v))})
		}
		if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{*img.ImageId}, Tags: tags}); err != nil {
			return "", "", err
		}
	}
	w := ec2.NewImageAvailableWaiter(c, func(o *ec2.ImageAvailableWaiterOptions) {
		o.MinDelay = 50 * time.Millisecond
		o.MaxDelay = 200 * time.Millisecond
	})
	if err := w.Wait(ctx, &ec2.DescribeImagesInput{ImageIds: []string{*img.ImageId}}, time.Minute); err != nil {
		return "", "", err
	}
	return *img.ImageId, region, nil
}

// fakeDistribution is what the fake packer does of a builder's sharing and
// encryption settings, as packer 1.6's amazon-ebs does: encrypt_boot (with
// kms_key_id) copies the AMI encrypted and deregisters the unencrypted one;
// ami_users, ami_org_arns and ami_ou_arns share the AMI; snapshot_users
// shares its snapshots.
type fakeDistribution struct {
	EncryptBoot   bool     `json:"encrypt_boot"`
	KMSKeyID      string   `json:"kms_key_id"`
	Users         []string `json:"ami_users"`
	OrgARNs       []string `json:"ami_org_arns"`
	OUARNs        []string `json:"ami_ou_arns"`
	SnapshotUsers []string `json:"snapshot_users"`
}

func (d fakeDistribution) fakeDistribute(ctx context.Context, c *ec2.Client, region, id, name string) (*string, error) {
	wait := func(id string) error {
		return ec2.NewImageAvailableWaiter(c, func(o *ec2.ImageAvailableWaiterOptions) {
			o.MinDelay, o.MaxDelay = 50*time.Millisecond, 200*time.Millisecond
		}).Wait(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}}, time.Minute)
	}
	if d.EncryptBoot {
		if err := wait(id); err != nil {
			return nil, err
		}
		in := &ec2.CopyImageInput{SourceImageId: aws.String(id), SourceRegion: aws.String(region), Name: aws.String(name), Encrypted: aws.Bool(true)}
		if d.KMSKeyID != "" {
			in.KmsKeyId = aws.String(d.KMSKeyID)
		}
		out, err := c.CopyImage(ctx, in)
		if err != nil {
			return nil, err
		}
		if _, err := c.DeregisterImage(ctx, &ec2.DeregisterImageInput{ImageId: aws.String(id), DeleteAssociatedSnapshots: aws.Bool(true)}); err != nil {
			return nil, err
		}
		id = *out.ImageId
	}
	if len(d.Users)+len(d.OrgARNs)+len(d.OUARNs)+len(d.SnapshotUsers) == 0 {
		return aws.String(id), nil
	}
	if err := wait(id); err != nil {
		return nil, err
	}
	im, err := images.Describe(ctx, c, id)
	if err != nil {
		return nil, err
	}
	want := images.Sharing{Launch: images.Permissions{Accounts: d.Users, Orgs: d.OrgARNs, OUs: d.OUARNs}, Volumes: map[string]images.Permissions{}}
	for _, dev := range im.Devices {
		want.Volumes[dev.Name] = images.Permissions{Accounts: d.SnapshotUsers}
	}
	if _, err := images.Grant(ctx, c, im, want); err != nil {
		return nil, err
	}
	return aws.String(id), nil
}

// fakeArgs reads packer build's -var-file (JSON files of name: value),
// -var and -only arguments; later values win, as in packer.
func fakeArgs(args []string) (vars map[string]string, only []string) {
	vars = map[string]string{}
	for i := 1; i < len(args)-1; i++ {
		switch a := args[i]; {
		case strings.HasPrefix(a, "-var-file="):
			raw, _ := os.ReadFile(strings.TrimPrefix(a, "-var-file="))
			var fv map[string]string
			_ = json.Unmarshal(raw, &fv)
			for k, v := range fv {
				vars[k] = v
			}
		case strings.HasPrefix(a, "-only="):
			only = strings.Split(strings.TrimPrefix(a, "-only="), ",")
		case a == "-var":
			k, v, _ := strings.Cut(args[i+1], "=")
			vars[k] = v
			i++
		}
	}
	return vars, only
}

// fakeBuildEval builds what ami-bakery's own template reader makes of the
// template (FAKE_PACKER_HCL=eval, for HCL2 directories): the first amazon
// source -only selects, in the region its region setting evaluates to,
// named after its ami_name when that is known, untagged.
func fakeBuildEval(template string, vars map[string]string, only []string) (id, region string, err error) {
	t, err := packer.LoadTemplate(template)
	if err != nil {
		return "", "", err
	}
	srcs := t.Selected(only)
	if len(srcs) == 0 {
		return "", "", fmt.Errorf("fake packer: no source selected by -only %q", only)
	}
	s := srcs[0]
	region, ok := s.Settings["region"].Eval(vars)
	if !ok {
		return "", "", fmt.Errorf("fake packer: region %q unknown", s.Settings["region"].Text)
	}
	name, ok := s.Settings["ami_name"].Eval(vars)
	if !ok {
		name = "fake-" + strconv.FormatInt(time.Now().UnixNano(), 10)
	}
	ctx := context.Background()
	c, inst, err := fakeInstance(ctx, region, os.Getenv("SOURCE_AMI"))
	if err != nil {
		return "", "", err
	}
	defer c.TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: []string{*inst}})
	img, err := c.CreateImage(ctx, &ec2.CreateImageInput{InstanceId: inst, Name: aws.String(name)})
	if err != nil {
		return "", "", err
	}
	return *img.ImageId, region, nil
}

// fakeManifests writes what the template's manifest post-processors would,
// relative to the working directory, with the build's time: like packer's,
// the file changes with every build.
func fakeManifests(template string, vars map[string]string, id, region string) error {
	t, err := packer.LoadTemplate(template)
	if err != nil {
		return nil // the fake reads templates its reader cannot; no manifest then
	}
	paths, _ := t.ManifestPaths(".", vars)
	for _, p := range paths {
		body := fmt.Sprintf("{\"builds\": [{\"artifact_id\": %q, \"build_time\": %d}]}\n", region+":"+id, time.Now().UnixNano())
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fakeInstance starts the build's instance from sourceAMI in region, as
// packer's amazon-ebs does; the caller terminates it.
func fakeInstance(ctx context.Context, region, sourceAMI string) (*ec2.Client, *string, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region), config.WithHTTPClient(awsemu.HTTPClient()))
	if err != nil {
		return nil, nil, err
	}
	c := ec2.NewFromConfig(cfg)
	run, err := c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(sourceAMI), InstanceType: types.InstanceTypeT3Micro,
		MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
	})
	if err != nil {
		return nil, nil, err
	}
	return c, run.Instances[0].InstanceId, nil
}
