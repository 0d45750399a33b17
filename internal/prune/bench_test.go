package prune

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// BenchmarkPlanPrune plans a prune over 1,500 AMIs (5 images, 100 AMIs
// each, in each of 3 regions) and 1,200 instances (400 a region, on 80 of
// the AMIs), with 20 launch templates a region. It reports the API calls
// of one plan. The latency case adds 5 ms to every call, as a nearby AWS
// region would, where the calls' count and concurrency decide the time.
func BenchmarkPlanPrune(b *testing.B) {
	for _, lat := range []time.Duration{0, 5 * time.Millisecond} {
		b.Run(fmt.Sprintf("latency=%s", lat), func(b *testing.B) { benchPlanPrune(b, lat) })
	}
}

func benchPlanPrune(b *testing.B, latency time.Duration) {
	ctx := context.Background()
	s := awsemu.NewTestServer(b, awsemu.Options{InstanceQuota: 400})
	regions := []string{"us-east-1", "us-west-2", "eu-west-1"}
	var current []Current
	for im := range 5 {
		current = append(current, Current{Project: project, Name: fmt.Sprintf("img%d", im), Variant: variant, Fingerprint: "fp-99", TagKey: "ami_config_checksum"})
	}
	for _, r := range regions {
		var ids []string
		for im := range 5 {
			for i := range 100 {
				id, err := s.PutImage(awsemu.DefaultAccount, r, awsemu.ImageSpec{
					Name: fmt.Sprintf("img%d-%d", im, i), CreationDate: s.Now().Add(-time.Duration(100-i) * 24 * time.Hour),
					Tags: map[string]string{TagImage: fmt.Sprintf("img%d", im), "ami_config_checksum": fmt.Sprintf("fp-%d", i),
						TagProject: project, TagInputs: inputs},
				})
				if err != nil {
					b.Fatal(err)
				}
				ids = append(ids, id)
			}
		}
		e := s.EC2(awsemu.DefaultAccount, r)
		for i := range 80 {
			if _, err := e.RunInstances(ctx, &ec2.RunInstancesInput{ImageId: aws.String(ids[i*6]), MinCount: aws.Int32(5), MaxCount: aws.Int32(5),
				InstanceType: types.InstanceTypeT3Micro}); err != nil {
				b.Fatal(err)
			}
		}
		for i := range 20 {
			if _, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{LaunchTemplateName: aws.String(fmt.Sprintf("tmpl-%d", i)),
				LaunchTemplateData: &types.RequestLaunchTemplateData{ImageId: aws.String(ids[i*7+1])}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	o := Options{Images: current, Regions: regions, Keep: 3, Mode: ModeDeprecate, Now: s.Now()}
	s.SetFaults(awsemu.Faults{Latency: latency})
	b.ResetTimer()
	before := len(s.Calls())
	var p *Plan
	for b.Loop() {
		var err error
		if p, err = PlanPrune(ctx, clients(s), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(s.Calls())-before)/float64(b.N), "calls/op")
	b.ReportMetric(float64(p.Changes()), "changes")
}
