package channel

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// A promotion of a parameter at SSM's 100 versions, whose two oldest are
// labelled, fails on its last step and is put back: the put-back must make
// room again, by unlabelling the version that is now the oldest (the
// promotion pushed the first one out), not the one already gone. Found by
// TestChannelProperty.
func TestPutBackAtHundredVersions(t *testing.T) {
	const region, param = "us-east-1", "/ami-bakery/shop/app/prod"
	s := awsemu.NewTestServer(t)
	ctx := context.Background()
	c := s.SSM(awsemu.DefaultAccount, region)
	var amis []string
	for i := range 2 {
		id, err := s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{Name: fmt.Sprintf("app-%d", i)})
		if err != nil {
			t.Fatal(err)
		}
		amis = append(amis, id)
	}
	for range 100 {
		if _, err := c.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(param), Value: aws.String(amis[0]), Type: "String",
			DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true)}); err != nil {
			t.Fatal(err)
		}
	}
	for v, label := range map[int64]string{1: "first", 2: "second"} {
		if _, err := c.LabelParameterVersion(ctx, &ssm.LabelParameterVersionInput{Name: aws.String(param), ParameterVersion: aws.Int64(v), Labels: []string{label}}); err != nil {
			t.Fatal(err)
		}
	}
	h, err := Read(ctx, c, param)
	if err != nil {
		t.Fatal(err)
	}
	m := &Move{Image: "app", Channel: "prod", Region: region, Param: param, Client: c, AMI: amis[1], Fingerprint: "abc", Kind: KindPromote, History: h}
	// The promotion's label fails, after its version was written.
	s.SetFaults(awsemu.Faults{Rate: 1, Codes: []string{"AccessDeniedException"}, Actions: []string{"LabelParameterVersion"}, Times: 1})
	err = (&Writer{Timeout: time.Second, Poll: time.Millisecond}).Apply(ctx, []*Move{m})
	if err == nil || !strings.Contains(err.Error(), "were put back") {
		t.Fatalf("Apply = %v, want the failure and everything put back", err)
	}
	out, err := c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(param)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(out.Parameter.Value); got != amis[0] {
		t.Errorf("%s holds %s after the put-back, want %s as before", param, got, amis[0])
	}
}
