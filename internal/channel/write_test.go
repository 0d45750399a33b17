package channel

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

const region = "us-east-1"

// twoImages is an emulator with one account's SSM client and two images.
func twoImages(t *testing.T) (*awsemu.TestServer, *ssm.Client, []string) {
	t.Helper()
	s := awsemu.NewTestServer(t)
	var ids []string
	for _, n := range []string{"image-a", "image-b"} {
		id, err := s.PutImage(awsemu.DefaultAccount, region, awsemu.ImageSpec{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return s, s.BakerySSM(awsemu.DefaultAccount, region), ids
}

func put(t *testing.T, c *ssm.Client, name, value string) {
	t.Helper()
	if _, err := c.PutParameter(context.Background(), &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
		Type: ssm.ParameterTypeString, DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
}

func value(t *testing.T, c *ssm.Client, name string) string {
	t.Helper()
	out, err := c.GetParameter(context.Background(), &ssm.GetParameterInput{Name: aws.String(name)})
	if ssm.IsParameterNotFound(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.Parameter.Value)
}

func move(t *testing.T, c *ssm.Client, param, ami string) *Move {
	t.Helper()
	h, err := Read(context.Background(), c, param)
	if err != nil {
		t.Fatal(err)
	}
	return &Move{Image: "app", Channel: "prod", Region: region, Param: param, Client: c, AMI: ami, Fingerprint: "f" + ami, Kind: KindPromote, History: h}
}

// A parameter written by someone else between the read and the write is
// not overwritten: the move is refused, and what was written before it is
// put back.
func TestApplyRechecks(t *testing.T) {
	_, c, ids := twoImages(t)
	put(t, c, "/x", ids[0])
	first, second := move(t, c, "/new", ids[1]), move(t, c, "/x", ids[1])
	put(t, c, "/x", ids[0]) // the same value, a new version
	w := &Writer{Timeout: 5 * time.Second, Poll: 10 * time.Millisecond}
	err := w.Apply(context.Background(), []*Move{first, second})
	if err == nil || !strings.Contains(err.Error(), "changed since it was read") {
		t.Fatalf("Apply = %v, want a refusal of the changed parameter", err)
	}
	if v := value(t, c, "/new"); v != "" {
		t.Errorf("/new holds %s after the refusal; it did not exist before and must be deleted", v)
	}
	if v := value(t, c, "/x"); v != ids[0] {
		t.Errorf("/x holds %s, want %s", v, ids[0])
	}
}

// A fault on the last write puts back every parameter written before it;
// a rerun without the fault writes, and the one after writes nothing.
func TestApplyAllOrNothing(t *testing.T) {
	s, c, ids := twoImages(t)
	put(t, c, "/x", ids[0])
	plan := func() []*Move {
		return []*Move{move(t, c, "/x", ids[1]), move(t, c, "/y", ids[1]), move(t, c, "/z", ids[0])}
	}
	w := &Writer{Timeout: 5 * time.Second, Poll: 10 * time.Millisecond}
	s.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{"PutParameter"}, Codes: []string{"AccessDeniedException"}, Skip: 2, Times: 1})
	if err := w.Apply(context.Background(), plan()); err == nil || !strings.Contains(err.Error(), "the 2 parameters written before the failure were put back") {
		t.Fatalf("Apply with a fault on the third write = %v", err)
	}
	s.SetFaults(awsemu.Faults{})
	if got := value(t, c, "/x") + " " + value(t, c, "/y") + " " + value(t, c, "/z"); got != ids[0]+"  " {
		t.Fatalf("after the fault: %q, want only /x, as before", got)
	}
	h, _ := Read(context.Background(), c, "/x")
	if got := amis(h.Promoted()); got != ids[0] {
		t.Errorf("/x's promotions after the put-back: %q, want %q (the undo is a rollback)", got, ids[0])
	}
	if err := w.Apply(context.Background(), plan()); err != nil {
		t.Fatal(err)
	}
	before := s.CallCount("PutParameter")
	if err := w.Apply(context.Background(), plan()); err != nil {
		t.Fatal(err)
	}
	if n := s.CallCount("PutParameter") - before; n != 0 {
		t.Errorf("a rerun made %d PutParameter calls, want 0", n)
	}
	h, _ = Read(context.Background(), c, "/y")
	if head, _ := h.Head(); head.Kind != KindPromote || head.Fingerprint != "f"+ids[1] || len(head.Labels) != 1 || head.Labels[0] != Label("f"+ids[1]) {
		t.Errorf("/y's head: %+v, want a promotion labelled with its fingerprint", head)
	}
}

// A promotion of a parameter at SSM's 100 versions, whose two oldest are
// labelled, fails on its last step and is put back: the put-back must make
// room again, by unlabelling the version that is now the oldest (the
// promotion pushed the first one out), not the one already gone. Found by
// TestChannelProperty.
func TestPutBackAtHundredVersions(t *testing.T) {
	const region, param = "us-east-1", "/ami-bakery/shop/app/prod"
	s := awsemu.NewTestServer(t)
	ctx := context.Background()
	c := s.BakerySSM(awsemu.DefaultAccount, region)
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
