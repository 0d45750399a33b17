package project

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// fingerprints loads the project file text in dir and fingerprints every
// image, by name.
func fingerprints(t *testing.T, dir, text string) map[string]string {
	t.Helper()
	writeFiles(t, dir, map[string]string{FileHCL: text})
	p, err := Load(filepath.Join(dir, FileHCL))
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
