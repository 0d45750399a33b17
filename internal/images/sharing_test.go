package images

import (
	"context"
	"reflect"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

func TestGrantAddsWhatIsMissingOnce(t *testing.T) {
	ctx := context.Background()
	srv := awsemu.NewTestServer(t)
	const owner, other = "111111111111", "222222222222"
	org := "arn:aws:organizations::111111111111:organization/o-abcdefghij"
	id, err := srv.PutImage(owner, "us-east-1", awsemu.ImageSpec{Name: "shared", SharedWith: []string{other}})
	if err != nil {
		t.Fatal(err)
	}
	c := srv.EC2(owner, "us-east-1")
	im, err := Describe(ctx, c, id)
	if err != nil {
		t.Fatal(err)
	}
	dev := im.Devices[0].Name
	want := Sharing{
		Launch:  Permissions{Accounts: []string{other, "333333333333"}, Orgs: []string{org}},
		Volumes: map[string]Permissions{dev: {Accounts: []string{other}}},
	}
	added, err := Grant(ctx, c, im, want)
	if err != nil {
		t.Fatal(err)
	}
	wantAdded := Sharing{
		Launch:  Permissions{Accounts: []string{"333333333333"}, Orgs: []string{org}},
		Volumes: map[string]Permissions{dev: {Accounts: []string{other}}},
	}
	if !reflect.DeepEqual(added, wantAdded) {
		t.Fatalf("added %+v, want %+v", added, wantAdded)
	}
	got, err := ReadSharing(ctx, c, im)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after Grant: %+v, want %+v", got, want)
	}
	if got.Launch.String() != "2 accounts, 1 org" {
		t.Fatalf("String: %q", got.Launch.String())
	}
	before := srv.CallCount("ModifyImageAttribute") + srv.CallCount("ModifySnapshotAttribute")
	again, err := Grant(ctx, c, im, want)
	if err != nil || !again.Empty() {
		t.Fatalf("second Grant added %+v (%v)", again, err)
	}
	if after := srv.CallCount("ModifyImageAttribute") + srv.CallCount("ModifySnapshotAttribute"); after != before {
		t.Fatalf("second Grant modified: %d calls, want %d", after, before)
	}
}
