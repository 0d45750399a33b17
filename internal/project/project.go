// Package project reads a project file, bakery.hcl (or bakery.json, the same
// structure in HCL's JSON syntax), into a validated graph of images.
//
// A project names many AMI definitions, each an image block, and the image
// each is built from (parent). Settings that exist as flags in the
// single-template mode (regions, owners, vars, ...) may be given per image
// or in a defaults block; an image's own value wins. Paths are relative to
// the project file.
//
// Load checks everything that can be checked without AWS: unknown
// attributes and blocks, duplicate names, unknown parents, cycles, a child
// region its parent lacks, and a template that does not declare the
// variable receiving its parent's AMI. Each error is a usage error that
// points at the file and line ("bakery.hcl:12,3-9: ..."). It makes no AWS
// call, so a bad file costs nothing.
//
// Invariants of a loaded Project: names are unique; every parent exists and
// the parent links form no cycle; a child's regions are a subset of its
// parent's; Images is in topological order, parents before children, ties
// by name.
package project

import (
	"errors"
	"fmt"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/ami-bakery/ami-bakery/internal/channel"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// File names looked for by Find, in this order.
const (
	FileHCL  = "bakery.hcl"
	FileJSON = "bakery.json"
)

// ResultFile is the file, beside the project file, where a bake of the
// project records its AMIs. It is never part of a fingerprint.
const ResultFile = ".ami_ids.json"

// ImageResultFile is the file a single-template bake writes beside the
// template; it is left out of the image's fingerprint as there.
const ImageResultFile = ".ami_id.json"

// Defaults of image settings.
const (
	DefaultParentVar      = "source_ami"
	DefaultTagKey         = "ami_config_checksum"
	DefaultFingerprintVar = "config_checksum"
	DefaultLookup         = "tag"
)

// Project is a loaded, validated project file.
type Project struct {
	// Path is the project file's path as given to Load; Dir is its
	// directory, absolute.
	Path string
	Dir  string
	// Images are every image, parents before children, ties by name.
	Images []*Image
	// Name is the project's name (the file's project attribute, or
	// --project), "" for the default identity (Identity).
	Name string
	// Channels are the channel blocks, in the file's order (channel.go).
	Channels []*channel.Channel

	single bool // a template given on the command line (Single)
}

// Image is one image block with its settings resolved: defaults applied,
// paths absolute.
type Image struct {
	Name     string
	Template string   // absolute path
	Dirs     []string // absolute paths; the template's directory by default
	// ParentName is the parent setting ("" for a root); Parent is that
	// image. ParentVar is the template variable receiving the parent's AMI.
	ParentName string
	Parent     *Image
	ParentVar  string
	// Level is 0 for a root and one more than the parent's otherwise.
	Level          int
	VarFiles       []string          // absolute paths, in order
	Vars           map[string]string // packer -var values
	Regions        []string          // the first is the primary region
	Owners         []string          // trusted owners besides the caller's own account
	TagKey         string
	FingerprintVar string
	Lookup         string // tag or name
	RoleARN        string
	Only, Except   []string
	IgnoreFile     string
	// Algorithm is the fingerprint algorithm: v2, or for a single
	// template v1, the original tool's. "" is v2.
	Algorithm fingerprint.Algorithm
	// WorkDir is packer's working directory (workdir; absolute), "" for
	// the template's directory. RegionVar, SubnetVar and EndpointVar name
	// template variables that also receive the region, subnet and endpoint.
	WorkDir                           string
	RegionVar, SubnetVar, EndpointVar string
	// Base is a root image's base block, or nil (base.go).
	Base    *bake.Base
	Publish Publish // publish.go
	// Tests are the image's test blocks, the defaults' first (test.go).
	Tests []*Test
	// PackerTemplate is the template as read by internal/packer.
	// TemplateErr is why a single template could not be read (a project
	// file's refuses to load instead).
	PackerTemplate *packer.Template
	TemplateErr    error
	// Range is where the image block is declared.
	Range hcl.Range

	ranges map[string]hcl.Range // where each setting is written
	// conflicts are flags given on the command line for settings the
	// file sets for this image: an error when the image is selected.
	conflicts hcl.Diagnostics
}

// TemplateDir is the template's directory: the template itself when it is
// a directory of .pkr.hcl files, which is then its own definition
// directory, as in the single-template mode.
func (img *Image) TemplateDir() string {
	if fi, err := os.Stat(img.Template); err == nil && fi.IsDir() {
		return filepath.Clean(img.Template)
	}
	return filepath.Dir(img.Template)
}

// Find returns the project file in dir: bakery.hcl, else bakery.json, else
// "" when there is neither.
func Find(dir string) (string, error) {
	for _, name := range []string{FileHCL, FileJSON} {
		p := filepath.Join(dir, name)
		_, err := os.Stat(p)
		switch {
		case err == nil:
			if dir == "." {
				return name, nil
			}
			return p, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("looking for a project file: %w", err)
		}
	}
	return "", nil
}

// Load reads and validates the project file at path, with the flags that
// stand for its settings (nil for none). Errors in the file are usage
// errors naming file:line.
func Load(path string, flags Flags) (*Project, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		err = fmt.Errorf("reading project file: %w", err)
		if errors.Is(err, fs.ErrNotExist) {
			err = usererr.WithHint(err, "check the --config path (AMI_BAKERY_CONFIG); a relative path is taken from the current directory")
		}
		return nil, usererr.Usage(err)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("resolving the project directory: %w", err)
	}
	p := &Project{Path: path, Dir: dir}
	imgs, diags := decode(path, src, dir, flags, p)
	if !diags.HasErrors() {
		diags = link(imgs)
	}
	if !diags.HasErrors() {
		p.Images = order(imgs)
		diags = checkTemplates(p.Images)
	}
	if diags.HasErrors() {
		return nil, diagError(diags)
	}
	for _, img := range p.Images {
		if err := img.checkOwnedVars(); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// diagError makes the usage error for diagnostics: the first error, with
// its position, and how many more there are.
func diagError(diags hcl.Diagnostics) error {
	errs := diags.Errs()
	err := fmt.Errorf("loading project: %s", diagText(errs[0].(*hcl.Diagnostic)))
	switch n := len(errs) - 1; {
	case n == 1:
		err = fmt.Errorf("%w (and 1 more error)", err)
	case n > 1:
		err = fmt.Errorf("%w (and %d more errors)", err, n)
	}
	return usererr.Usage(usererr.WithHint(err, "fix the project file at that position"))
}

// diagText formats a diagnostic as "file:line,col-col: summary; detail".
func diagText(d *hcl.Diagnostic) string {
	s := d.Summary
	if d.Detail != "" {
		s += "; " + d.Detail
	}
	if d.Subject != nil {
		s = d.Subject.String() + ": " + s
	}
	return s
}

// errorAt is an error diagnostic at rng.
func errorAt(rng hcl.Range, summary string, args ...any) *hcl.Diagnostic {
	r := rng
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: fmt.Sprintf(summary, args...), Subject: &r}
}
