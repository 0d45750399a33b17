package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
)

func TestPrintPlan(t *testing.T) {
	fp := fingerprint.Result{Algorithm: fingerprint.V2, Sum: "f00"}
	every := &bake.Plan{Fingerprint: fp, Regions: []bake.Decision{
		{Region: "us-east-1", Action: bake.Reuse, AMI: "ami-1"},
		{Region: "eu-west-1", Action: bake.Wait, AMI: "ami-2"},
		{Region: "ap-south-1", Action: bake.Copy, Source: "us-east-1"},
		{Region: "sa-east-1", Action: bake.Build},
	}}
	upToDate := &bake.Plan{Fingerprint: fp, Regions: []bake.Decision{{Region: "us-east-1", Action: bake.Reuse, AMI: "ami-1"}}}
	tests := []struct {
		name string
		plan *bake.Plan
		json bool
		want string
	}{
		{"every action", every, false, "fingerprint f00\n" +
			"us-east-1 reuse ami-1\neu-west-1 wait ami-2\nap-south-1 copy from us-east-1\nsa-east-1 build\n"},
		{"up to date", upToDate, false, "fingerprint f00\nus-east-1 reuse ami-1\n"},
		{"a copy says what it carries", &bake.Plan{Fingerprint: fp, Regions: []bake.Decision{
			{Region: "us-east-1", Action: bake.Reuse, AMI: "ami-1"},
			{Region: "eu-west-1", Action: bake.Copy, Source: "us-east-1", Carries: &bake.Carry{
				Sharing: images.Sharing{Launch: images.Permissions{Accounts: []string{"222222222222"}, OUs: []string{"ou"}}},
				Key:     bake.CopyKey{Encrypted: true, ID: "alias/eu", From: "--kms-key"},
			}},
		}}, false, "fingerprint f00\nus-east-1 reuse ami-1\neu-west-1 copy from us-east-1\n" +
			"  carries: shared with 1 account, 1 OU; encrypted under alias/eu (--kms-key)\n"},
		{"json up to date", upToDate, true, `{
  "fingerprint": "f00",
  "algorithm": "v2",
  "up_to_date": true,
  "regions": [
    {
      "region": "us-east-1",
      "action": "reuse",
      "ami": "ami-1"
    }
  ]
}
`},
		{"json with a copy", &bake.Plan{Fingerprint: fp, Regions: every.Regions[2:3]}, true, `{
  "fingerprint": "f00",
  "algorithm": "v2",
  "up_to_date": false,
  "regions": [
    {
      "region": "ap-south-1",
      "action": "copy",
      "source_region": "us-east-1"
    }
  ]
}
`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := PrintPlanPublishing(&b, tt.plan, PlanExtras{}, tt.json); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if b.String() != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, b.String(), tt.want)
		}
	}
}

func TestPrintChecksum(t *testing.T) {
	res := fingerprint.Result{Algorithm: fingerprint.V2, Sum: "f00", Inputs: []fingerprint.Input{
		{Kind: fingerprint.KindTemplate, Root: ".", Path: "ami.json", Size: 12, Hash: "aa"},
		{Kind: fingerprint.KindFile, Root: "..", Path: "scripts/install.sh", Executable: true, Size: 8, Hash: "bb"},
		{Kind: fingerprint.KindVar, Path: "region", Size: 9, Hash: "cc"},
		{Kind: fingerprint.KindInput, Root: "../shared", Path: "setup.sh", Executable: true, Size: 3, Hash: "dd", Pos: "ami.json:7"},
		{Kind: fingerprint.KindOnly, Path: "amazon-ebs.x", Size: 12, Hash: "ee"},
	}}
	tests := []struct {
		name          string
		explain, json bool
		want          string
	}{
		{"sum only", false, false, "f00\n"},
		{"explain", true, false, "" +
			"template  .          ami.json            -  12  aa\n" +
			"file      ..         scripts/install.sh  x  8   bb\n" +
			"var       -          region              -  -   set\n" +
			"input     ../shared  setup.sh            x  3   dd  ami.json:7\n" +
			"only      -          amazon-ebs.x        -  12  ee\n" +
			"f00\n"},
		{"json wins over explain", true, true, `{
  "fingerprint": "f00",
  "algorithm": "v2",
  "inputs": [
    {
      "kind": "template",
      "root": ".",
      "path": "ami.json",
      "executable": false,
      "size": 12,
      "hash": "aa"
    },
    {
      "kind": "file",
      "root": "..",
      "path": "scripts/install.sh",
      "executable": true,
      "size": 8,
      "hash": "bb"
    },
    {
      "kind": "var",
      "root": "",
      "path": "region",
      "executable": false,
      "size": 0,
      "hash": "set"
    },
    {
      "kind": "input",
      "root": "../shared",
      "path": "setup.sh",
      "executable": true,
      "size": 3,
      "hash": "dd",
      "pos": "ami.json:7"
    },
    {
      "kind": "only",
      "root": "",
      "path": "amazon-ebs.x",
      "executable": false,
      "size": 12,
      "hash": "ee"
    }
  ]
}
`},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := PrintChecksum(&b, res, nil, tt.explain, tt.json); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if b.String() != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, b.String(), tt.want)
		}
	}
}

// TestExplainOddNames: every input is one line of six columns whatever its
// name (the bug: a newline in a file name made two lines, a tab or space
// shifted the columns, invalid UTF-8 went out raw), and a --var's value is
// never shown, not even as a plain hash (the bug: sha256 of a password is
// the password to anyone who tries a dictionary).
func TestExplainOddNames(t *testing.T) {
	secretHash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" // sha256("test")
	res := fingerprint.Result{Algorithm: fingerprint.V2, Sum: "f00", Inputs: []fingerprint.Input{
		{Kind: fingerprint.KindFile, Root: "ami", Path: "a\nfile 1.txt", Size: 1, Hash: "aa"},
		{Kind: fingerprint.KindFile, Root: "ami", Path: "tab\there", Size: 1, Hash: "bb"},
		{Kind: fingerprint.KindFile, Root: "ami", Path: "bad\xffutf8\x1b[31m", Size: 1, Hash: "cc"},
		{Kind: fingerprint.KindFile, Root: "ami", Path: `"quoted"`, Size: 1, Hash: "dd"},
		{Kind: fingerprint.KindFile, Root: "ami dir", Path: "ünïcödé", Size: 1, Hash: "ee"},
		{Kind: fingerprint.KindVar, Path: "password", Size: 4, Hash: secretHash},
	}}
	var b bytes.Buffer
	if err := PrintChecksum(&b, res, nil, true, false); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`file  ami        "a\nfile 1.txt"        -  1  aa`,
		`file  ami        "tab\there"            -  1  bb`,
		`file  ami        "bad\xffutf8\x1b[31m"  -  1  cc`,
		`file  ami        "\"quoted\""           -  1  dd`,
		`file  "ami dir"  ünïcödé                -  1  ee`,
		`var   -          password               -  -  set`,
		`f00`,
	}
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	b.Reset()
	PrintChecksum(&b, res, nil, false, true)
	if strings.Contains(b.String(), secretHash) || !strings.Contains(b.String(), `"hash": "set"`) {
		t.Errorf("--json shows the var's hash:\n%s", b.String())
	}
}

func TestGitHubSummaryListsSharing(t *testing.T) {
	shared := &bake.Carry{Sharing: images.Sharing{Launch: images.Permissions{Accounts: []string{"222222222222"}}}}
	out, err := gitHubSummary(Result{AMIID: "ami-1", Fingerprint: "f00", Algorithm: "v2", Action: bake.Copied, Regions: []bake.Decision{
		{Region: "us-east-1", Action: bake.Reuse, AMI: "ami-1", Carries: shared},
		{Region: "eu-west-1", Action: bake.Copy, AMI: "ami-2", Source: "us-east-1", Carries: shared},
	}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| Region | Decision | AMI | Sharing | Why |",
		"| eu-west-1 | copy | `ami-2` | shared with 1 account | copied from us-east-1, which had it |",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

// Files left out by design are listed after the inputs, with why; a path
// that could break the line is quoted.
func TestPrintChecksumExcluded(t *testing.T) {
	res := fingerprint.Result{Sum: "abc", Algorithm: fingerprint.V2}
	excl := []Exclusion{{Path: "packer/.ami_id.json", Why: "ami-bakery's result file"}, {Path: "my manifest.json", Why: "packer's manifest output"}}
	var b bytes.Buffer
	if err := PrintChecksum(&b, res, excl, true, false); err != nil {
		t.Fatal(err)
	}
	want := "excluded  packer/.ami_id.json  (ami-bakery's result file)\nexcluded  \"my manifest.json\"  (packer's manifest output)\nabc\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := PrintChecksum(&b, res, excl, false, false); err != nil || b.String() != "abc\n" {
		t.Errorf("without --explain: %q %v", b.String(), err)
	}
	b.Reset()
	PrintChecksum(&b, res, excl, false, true)
	if !strings.Contains(b.String(), `"excluded": [`) || !strings.Contains(b.String(), `"why": "packer's manifest output"`) {
		t.Errorf("JSON lacks the exclusions:\n%s", b.String())
	}
}
