package project

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// The pins file (bakery.lock.hcl, "the lock file" to users, not to be
// confused with the build lock of internal/buildlock) pins each locked base (mode = "locked") beside the project
// file, to be committed: `ami-bakery lock` writes it, `lock --update`
// moves pins, and plan and bake build on the pins only.
const (
	PinsFileHCL  = "bakery.lock.hcl"
	PinsFileJSON = "bakery.lock.json"
)

// PinFile is a pins file: image name -> its pinned base.
type PinFile struct {
	Path   string
	Images map[string]PinnedBase
}

// PinnedBase is one image's pin: what was searched for (Source, so that a
// changed base block makes the pin stale) and the base per region.
type PinnedBase struct {
	Source  string
	Regions map[string]images.Base
}

// decodePins reads a lock file's body into l: image "name" blocks, each
// with a source and region "name" blocks of ami, image_name and owner.
func decodePins(body hcl.Body, l *PinFile) hcl.Diagnostics {
	content, diags := decodeBody(body, []hcl.BlockHeaderSchema{{Type: "image", LabelNames: []string{"name"}}})
	if content == nil {
		return diags
	}
	for _, ib := range content.Blocks {
		lb := PinnedBase{Regions: map[string]images.Base{}}
		ic, d := decodeBody(ib.Body, []hcl.BlockHeaderSchema{{Type: "region", LabelNames: []string{"name"}}},
			field{name: "source", required: true, to: &lb.Source})
		diags = append(diags, d...)
		if ic != nil {
			for _, rb := range ic.Blocks {
				var b images.Base
				_, d := decodeBody(rb.Body, nil,
					field{name: "ami", required: true, to: &b.ID},
					field{name: "image_name", to: &b.Name},
					field{name: "owner", required: true, to: &b.OwnerID})
				diags = append(diags, d...)
				lb.Regions[rb.Labels[0]] = b
			}
		}
		l.Images[ib.Labels[0]] = lb
	}
	return diags
}

// PinsPath is the lock file beside dir's project file: the JSON one when
// it exists, else the HCL one.
func PinsPath(dir string) string {
	if _, err := os.Stat(filepath.Join(dir, PinsFileJSON)); err == nil {
		return filepath.Join(dir, PinsFileJSON)
	}
	return filepath.Join(dir, PinsFileHCL)
}

// ReadPins reads the lock file at path; a missing file is an empty lock.
func ReadPins(path string) (*PinFile, error) {
	l := &PinFile{Path: path, Images: map[string]PinnedBase{}}
	src, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return l, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the lock file: %w", err)
	}
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.HasSuffix(path, ".json") {
		f, diags = p.ParseJSON(src, path)
	} else {
		f, diags = p.ParseHCL(src, path)
	}
	if !diags.HasErrors() {
		diags = append(diags, decodePins(f.Body, l)...)
	}
	if diags.HasErrors() {
		return nil, usererr.Usage(usererr.WithHint(fmt.Errorf("reading the lock file: %w", diags.Errs()[0]),
			"the lock file is written by ami-bakery lock; write it again with ami-bakery lock --update"))
	}
	return l, nil
}

// BaseSource is the canonical text of what a base searches for, recorded
// with its pin: owners, filters, deprecated images, or the parameter.
func BaseSource(q images.BaseQuery) string {
	if q.SSMParameter != "" {
		return "ssm_parameter=" + q.SSMParameter
	}
	var fs []string
	for _, k := range slices.Sorted(maps.Keys(q.Filters)) {
		fs = append(fs, k+"="+q.Filters[k])
	}
	return fmt.Sprintf("owners=%s filters=%s include_deprecated=%t", strings.Join(q.Owners, ","), strings.Join(fs, ","), q.IncludeDeprecated)
}

// Pins returns the pins of image name for query q: a missing entry or one
// recorded for another search is an error.
func (l *PinFile) Pins(name string, q images.BaseQuery) (map[string]images.Base, error) {
	lb, ok := l.Images[name]
	hint := "run ami-bakery lock " + name + " to pin the newest base, then review and commit " + filepath.Base(l.Path)
	if !ok {
		return nil, usererr.Usage(usererr.WithHint(fmt.Errorf("the base of %s is locked, but %s has no entry for it", name, l.Path), "%s", hint))
	}
	if want := BaseSource(q); lb.Source != want {
		return nil, usererr.Usage(usererr.WithHint(fmt.Errorf("the lock entry of %s in %s is stale: it pins %q, the base now searches %q", name, l.Path, lb.Source, want),
			"run ami-bakery lock --update %s, then review and commit %s", name, filepath.Base(l.Path)))
	}
	return lb.Regions, nil
}

// Write writes the lock file atomically, images and regions sorted.
func (l *PinFile) Write() error {
	var b strings.Builder
	json := strings.HasSuffix(l.Path, ".json")
	if json {
		writePinsJSON(&b, l)
	} else {
		b.WriteString("# Written by ami-bakery lock: the pinned base of each image with mode = \"locked\".\n")
		b.WriteString("# Review and commit it; ami-bakery lock --update IMAGE moves a pin.\n")
		for _, name := range slices.Sorted(maps.Keys(l.Images)) {
			lb := l.Images[name]
			fmt.Fprintf(&b, "\nimage %q {\n  source = %q\n", name, lb.Source)
			for _, r := range slices.Sorted(maps.Keys(lb.Regions)) {
				im := lb.Regions[r]
				fmt.Fprintf(&b, "  region %q {\n    ami        = %q\n    image_name = %q\n    owner      = %q\n  }\n", r, im.ID, im.Name, im.OwnerID)
			}
			b.WriteString("}\n")
		}
	}
	tmp := l.Path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing the lock file: %w", err)
	}
	if err := os.Rename(tmp, l.Path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing the lock file: %w", err)
	}
	return nil
}

func writePinsJSON(b *strings.Builder, l *PinFile) {
	b.WriteString("{\n  \"image\": {")
	for i, name := range slices.Sorted(maps.Keys(l.Images)) {
		lb := l.Images[name]
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(b, "\n    %q: {\n      \"source\": %q,\n      \"region\": {", name, lb.Source)
		for j, r := range slices.Sorted(maps.Keys(lb.Regions)) {
			im := lb.Regions[r]
			if j > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, "\n        %q: {\"ami\": %q, \"image_name\": %q, \"owner\": %q}", r, im.ID, im.Name, im.OwnerID)
		}
		b.WriteString("\n      }\n    }")
	}
	b.WriteString("\n  }\n}\n")
}
