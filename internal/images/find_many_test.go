package images

import (
	"context"
	"fmt"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// FindMany against the emulator, which refuses calls over EC2's filter
// limits: 450 fingerprints take 3 calls, and each finds its own AMI,
// available before pending, never a stranger's.
func TestFindMany(t *testing.T) {
	srv := awsemu.NewTestServer(t, awsemu.Options{})
	const stranger = "999999999999"
	put := func(account string, spec awsemu.ImageSpec) string {
		id, err := srv.Emulator.PutImage(account, "us-east-1", spec)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var fps []string
	want := map[string]string{}
	for i := range 450 {
		fp := fmt.Sprintf("%064x", i)
		fps = append(fps, fp)
		switch i % 3 {
		case 0: // ours, available
			want[fp] = put(awsemu.DefaultAccount, awsemu.ImageSpec{Name: "img-" + fp, Tags: map[string]string{"k": fp}})
		case 1: // a stranger's only
			put(stranger, awsemu.ImageSpec{Name: "img-" + fp, Tags: map[string]string{"k": fp}, Public: true})
		}
	}
	pending := put(awsemu.DefaultAccount, awsemu.ImageSpec{Name: "pending-" + fps[2], State: "pending", Tags: map[string]string{"k": fps[2]}})
	c := srv.EC2(awsemu.DefaultAccount, "us-east-1")

	got, calls, err := FindMany(context.Background(), c, Batch{Owners: []string{"self"}, Account: awsemu.DefaultAccount, TagKey: "k", Fingerprints: append(fps, fps[0])})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 || srv.Emulator.CallCount("DescribeImages") != 3 {
		t.Errorf("calls = %d (emulator saw %d), want 3", calls, srv.Emulator.CallCount("DescribeImages"))
	}
	if len(got) != len(fps) {
		t.Fatalf("%d matches for %d fingerprints", len(got), len(fps))
	}
	for i, fp := range fps {
		m := got[fp]
		switch {
		case i == 2:
			if m.Available != nil || m.Pending == nil || m.Pending.ID != pending {
				t.Errorf("fingerprint %d: %+v, want pending %s", i, m, pending)
			}
		case want[fp] != "":
			if m.Available == nil || m.Available.ID != want[fp] {
				t.Errorf("fingerprint %d: %+v, want %s", i, m, want[fp])
			}
		case m.Available != nil || m.Pending != nil:
			t.Errorf("fingerprint %d: %+v, want nothing (a stranger's AMI is never trusted)", i, m)
		}
	}

	// By name: the fingerprint inside the AMI name.
	byName, _, err := FindMany(context.Background(), c, Batch{Owners: []string{"self"}, Account: awsemu.DefaultAccount, ByName: true, Fingerprints: fps[:4]})
	if err != nil {
		t.Fatal(err)
	}
	if m := byName[fps[0]]; m.Available == nil || m.Available.ID != want[fps[0]] {
		t.Errorf("by name: %+v, want %s", m, want[fps[0]])
	}
	if m := byName[fps[1]]; m.Available != nil {
		t.Errorf("by name found a stranger's AMI: %+v", m)
	}

	if _, _, err := FindMany(context.Background(), c, Batch{TagKey: "k", Fingerprints: fps}); err == nil {
		t.Error("FindMany without owners succeeded")
	}
}
