package packer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestTemplateDistribution(t *testing.T) {
	dir := t.TempDir()
	want := Distribution{
		Users:         []string{"222222222222"},
		OrgARNs:       []string{"arn:aws:organizations::111111111111:organization/o-abcdefghij"},
		RegionKMSKeys: map[string]string{"eu-west-1": "alias/amis"},
		EncryptBoot:   true,
		KMSKeyID:      "alias/build",
	}
	files := map[string]string{
		"t.json": `{"variables": {"who": ""}, "builders": [{"type": "amazon-ebs",
			"ami_users": ["222222222222", "{{user ` + "`who`" + `}}"],
			"ami_org_arns": ["arn:aws:organizations::111111111111:organization/o-abcdefghij"],
			"ami_ou_arns": "not a list",
			"region_kms_key_ids": {"eu-west-1": "alias/amis", "us-west-2": "{{user ` + "`who`" + `}}"},
			"encrypt_boot": true, "kms_key_id": "alias/build"}]}`,
		"t.pkr.hcl": `variable "who" {}
source "amazon-ebs" "a" {
  ami_users          = ["222222222222"]
  ami_org_arns       = ["arn:aws:organizations::111111111111:organization/o-abcdefghij"]
  ami_ou_arns        = [var.who]
  region_kms_key_ids = { "eu-west-1" = "alias/amis" }
  encrypt_boot       = true
  kms_key_id         = "alias/build"
}
`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		tmpl, err := LoadTemplate(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := tmpl.Sources[0].Distribution; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
		if got := tmpl.RegionKMSKey("eu-west-1"); got != "alias/amis" {
			t.Errorf("%s: RegionKMSKey = %q", name, got)
		}
	}
}
