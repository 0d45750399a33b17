package project

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// fingerprints loads the project file text in dir and fingerprints every
// image, by name.
func fingerprints(t *testing.T, dir, text string) map[string]string {
	t.Helper()
	writeFiles(t, dir, map[string]string{FileHCL: text})
	p, err := Load(filepath.Join(dir, FileHCL), nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs := p.BakeImages(p.Images)
	res, err := bake.Fingerprints(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, img := range imgs {
		out[img.Name] = res[i].Sum
	}
	return out
}

// An image's fingerprint is its own inputs plus its parent's fingerprint:
// nothing else in the file counts, and a change reaches exactly the image
// and its descendants.
func TestFingerprints(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, tree())
	before := fingerprints(t, dir, chain)
	if len(before) != 4 || before["app"] == before["runtime"] {
		t.Fatalf("fingerprints: %v", before)
	}

	// Reordered blocks, comments and an unrelated image change nothing.
	blocks := strings.SplitAfter(chain, "}\n\n")
	reordered := "# the same project, reordered\n" + blocks[4] + "\n" + blocks[3] + "\n// comment\n" + blocks[2] + blocks[1] + blocks[0] +
		"\nimage \"extra\" {\n  template = \"images/other/other.json\"\n  regions = [\"us-east-1\"]\n}\n"
	again := fingerprints(t, dir, reordered)
	for name, fp := range before {
		if again[name] != fp {
			t.Errorf("%s: fingerprint changed with the rest of the file: %s -> %s", name, fp, again[name])
		}
	}

	// .ami_ids.json beside the project and .ami_id.json beside a template
	// are ami-bakery's own output.
	whole := chain + "image \"all\" {\n  template = \"images/other/other.json\"\n  dirs = [\".\"]\n}\n"
	wholeBefore := fingerprints(t, dir, whole)["all"]
	writeFiles(t, dir, map[string]string{ResultFile: "{}"})
	if got := fingerprints(t, dir, whole)["all"]; got != wholeBefore {
		t.Error(".ami_ids.json changed the fingerprint of an image whose directory holds it")
	}
	writeFiles(t, dir, map[string]string{"images/base/" + ImageResultFile: "{}"})
	if got := fingerprints(t, dir, chain); got["base"] != before["base"] {
		t.Error(".ami_id.json changed base's fingerprint")
	}

	changed := func(file string) map[string]bool {
		t.Helper()
		full := filepath.Join(dir, filepath.FromSlash(file))
		old, err := os.ReadFile(full)
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, dir, map[string]string{file: string(old) + "x"})
		defer writeFiles(t, dir, map[string]string{file: string(old)})
		out := map[string]bool{}
		for name, fp := range fingerprints(t, dir, chain) {
			out[name] = fp != before[name]
		}
		return out
	}
	for _, tt := range []struct {
		file string
		want map[string]bool
	}{
		{"shared/scripts/common.sh", map[string]bool{"base": true, "runtime": true, "app": true, "other": false}},
		{"images/base/setup.sh", map[string]bool{"base": true, "runtime": true, "app": true, "other": false}},
		{"images/app/app.conf", map[string]bool{"base": false, "runtime": false, "app": true, "other": false}},
	} {
		got := changed(tt.file)
		for name, want := range tt.want {
			if got[name] != want {
				t.Errorf("one byte more in %s: %s changed = %v, want %v", tt.file, name, got[name], want)
			}
		}
	}
}

// Zero-edit adoption in a project: a directory template is its own
// definition directory; workdir and the wiring keys reach the bake.Image;
// the manifest a template writes, resolved against workdir, is left out.
func TestAdoptionSettings(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"ecs/main.pkr.hcl": "variable \"region\" {\n  type = string\n}\nsource \"amazon-ebs\" \"x\" {\n  region = var.region\n}\n" +
			"build {\n  sources = [\"source.amazon-ebs.x\"]\n  post-processor \"manifest\" {}\n}\n",
		"repo/capi/packer.json": `{"variables": {"out": "m.json"}, "builders": [{"type": "amazon-ebs"}], "post-processors": [{"type": "manifest", "output": "{{user ` + "`out`" + `}}"}]}`,
		"repo/capi/files/x":     "x",
	})
	text := `image "ecs" {
  template = "ecs/"
  regions  = ["us-east-1"]
}
image "capi" {
  template     = "repo/capi/packer.json"
  dirs         = ["repo/capi"]
  workdir      = "repo/capi"
  region_var   = "aws_region"
  subnet_var   = "subnet"
  endpoint_var = "endpoint"
  regions      = ["us-east-1"]
}
`
	writeFiles(t, dir, map[string]string{FileHCL: text})
	p, err := Load(filepath.Join(dir, FileHCL), nil)
	if err != nil {
		t.Fatal(err)
	}
	imgs := p.BakeImages(p.Images)
	byName := map[string]*bake.Image{}
	for _, img := range imgs {
		byName[img.Name] = img
	}
	ecs, capi := byName["ecs"], byName["capi"]
	if want := filepath.Join(dir, "ecs"); len(ecs.Spec.Dirs) != 1 || ecs.Spec.Dirs[0] != want {
		t.Errorf("ecs dirs = %q, want the template directory %s", ecs.Spec.Dirs, want)
	}
	for _, want := range []string{filepath.Join(dir, "ecs", ImageResultFile), filepath.Join(dir, "ecs", "packer-manifest.json")} {
		if !slices.Contains(ecs.Spec.Exclude, want) {
			t.Errorf("ecs exclusions %q lack %s", ecs.Spec.Exclude, want)
		}
	}
	if capi.PackerDir != filepath.Join(dir, "repo/capi") || capi.RegionVar != "aws_region" || capi.SubnetVar != "subnet" || capi.EndpointVar != "endpoint" {
		t.Errorf("capi wiring = %q %q %q %q", capi.PackerDir, capi.RegionVar, capi.SubnetVar, capi.EndpointVar)
	}
	if want := filepath.Join(dir, "repo/capi/m.json"); !slices.Contains(capi.Spec.Exclude, want) {
		t.Errorf("capi exclusions %q lack %s", capi.Spec.Exclude, want)
	}
	// Packer rewrites its manifest with every build: no new fingerprint.
	before, err := bake.Fingerprints(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, dir, map[string]string{"repo/capi/m.json": "{}", "ecs/packer-manifest.json": "{}"})
	after, err := bake.Fingerprints(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range before {
		if before[i].Sum != after[i].Sum {
			t.Errorf("%s: the manifest changed the fingerprint", imgs[i].Name)
		}
	}
}
