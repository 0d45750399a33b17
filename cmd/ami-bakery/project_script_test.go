package main

import (
	"encoding/json"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// cmdSeedPlan is the script command "seedplan FILE": for every image and
// region of a project's plan --json in FILE, it puts an available AMI
// tagged with the image's fingerprint, as a bake of the project would
// leave them.
func cmdSeedPlan(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: seedplan FILE")
	}
	var plan struct {
		Images []struct {
			Name, Fingerprint string
			Regions           []struct{ Region string }
		}
	}
	ts.Check(json.Unmarshal([]byte(ts.ReadFile(args[0])), &plan))
	emu := ts.Value(emuKey{}).(*awsemu.Emulator)
	for _, img := range plan.Images {
		for _, r := range img.Regions {
			_, err := emu.PutImage(awsemu.DefaultAccount, r.Region, awsemu.ImageSpec{
				Name: img.Name + "-" + img.Fingerprint,
				Tags: map[string]string{"ami_config_checksum": img.Fingerprint, "ami-bakery:image": img.Name},
			})
			ts.Check(err)
		}
	}
}
