package images

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

const (
	vendor = "099720109477"
	me     = "111122223333"
)

func TestResolveBase(t *testing.T) {
	ctx := context.Background()
	srv := awsemu.NewTestServer(t)
	t0 := srv.Now().Add(-72 * time.Hour)
	put := func(name string, created time.Time, deprecated bool) string {
		t.Helper()
		spec := awsemu.ImageSpec{Name: name, Public: true, CreationDate: created}
		if deprecated {
			spec.DeprecationTime = srv.Now().Add(-time.Minute)
		}
		id, err := srv.PutImage(vendor, "us-east-1", spec)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	put("ubuntu-jammy-20261101", t0, false)
	newer := put("ubuntu-jammy-20261120", t0.Add(24*time.Hour), false)
	dep := put("ubuntu-jammy-20261125", t0.Add(48*time.Hour), true)
	put("debian-12-20261130", t0.Add(60*time.Hour), false)
	client := srv.EC2(me, "us-east-1")
	q := BaseQuery{Owners: []string{vendor}, Account: me, Filters: map[string]string{"name": "ubuntu-jammy-*"}}

	b, err := ResolveBase(ctx, client, "us-east-1", q)
	if err != nil || b.ID != newer || b.Identity() != vendor+"/ubuntu-jammy-20261120" {
		t.Fatalf("ResolveBase = %+v, %v; want %s", b, err, newer)
	}
	q.IncludeDeprecated = true
	if b, err := ResolveBase(ctx, client, "us-east-1", q); err != nil || b.ID != dep {
		t.Errorf("with deprecated: %+v, %v; want %s", b, err, dep)
	}
	q = BaseQuery{Owners: []string{vendor}, Filters: map[string]string{"name": "ubuntu-jammy-20261125"}}
	if _, err := ResolveBase(ctx, client, "us-east-1", q); err == nil || !strings.Contains(err.Error(), "deprecated "+dep) {
		t.Errorf("deprecated only: %v", err)
	}
	q.Filters["name"] = "nothing-*"
	if _, err := ResolveBase(ctx, client, "us-east-1", q); err == nil || !strings.Contains(err.Error(), "name=nothing-*") || !strings.Contains(err.Error(), vendor) {
		t.Errorf("no match: %v", err)
	}
	if _, err := ResolveBase(ctx, client, "us-east-1", BaseQuery{Filters: q.Filters}); err == nil {
		t.Error("an owner-less search succeeded")
	}
}

func TestResolveBaseSSM(t *testing.T) {
	ctx := context.Background()
	srv := awsemu.NewTestServer(t)
	id, err := srv.PutImage(vendor, "eu-west-1", awsemu.ImageSpec{Name: "ubuntu-jammy-20261120", Public: true})
	if err != nil {
		t.Fatal(err)
	}
	const p = "/aws/service/canonical/ubuntu/current/ami-id"
	if err := srv.SetPublicParameter("eu-west-1", p, id); err != nil {
		t.Fatal(err)
	}
	if err := srv.SetPublicParameter("eu-west-1", "/aws/service/other", "not-an-ami"); err != nil {
		t.Fatal(err)
	}
	ec2c, ssmc := srv.EC2(me, "eu-west-1"), srv.BakerySSM(me, "eu-west-1")
	b, err := ResolveBaseSSM(ctx, ssmc, ec2c, "eu-west-1", p)
	if err != nil || b.ID != id || b.Identity() != vendor+"/ubuntu-jammy-20261120" {
		t.Fatalf("ResolveBaseSSM = %+v, %v", b, err)
	}
	if _, err := ResolveBaseSSM(ctx, ssmc, ec2c, "eu-west-1", "/aws/service/other"); err == nil || !strings.Contains(err.Error(), "not an image id") {
		t.Errorf("not an id: %v", err)
	}
	if _, err := ResolveBaseSSM(ctx, ssmc, ec2c, "eu-west-1", "/aws/service/missing"); err == nil {
		t.Error("a missing parameter succeeded")
	}
}
