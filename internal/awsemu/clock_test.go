package awsemu

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestAdvance moves the clock past a pending delay without sleeping, and a
// fixed Options.Clock stands still until advanced.
func TestAdvance(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewTestServer(t, Options{PendingDelay: time.Hour, Clock: func() time.Time { return start }})
	c := s.EC2(accountA, region)
	run := must(c.RunInstances(ctx, &ec2.RunInstancesInput{
		ImageId: aws.String(SeedImageID(region, SeedImageNames()[0])), MinCount: aws.Int32(1), MaxCount: aws.Int32(1),
	}))(t)
	id := aws.ToString(run.Instances[0].InstanceId)
	state := func() string {
		out := must(c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}}))(t)
		return string(out.Reservations[0].Instances[0].State.Name)
	}
	if got := state(); got != "pending" {
		t.Fatalf("before Advance: %s", got)
	}
	s.Advance(time.Hour)
	if got, now := state(), s.Now(); got != "running" || !now.Equal(start.Add(time.Hour)) {
		t.Fatalf("after Advance: %s at %s", got, now)
	}
	s.Reset()
	if !s.Now().Equal(start.Add(time.Hour)) {
		t.Fatalf("Reset moved the clock back to %s", s.Now())
	}
}
