package project

import (
	"errors"

	"github.com/hashicorp/hcl/v2"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Single makes the project of one template given on the command line: one
// image, named name, whose settings all come from flags (keyed as Flags
// are, with "template" and "dirs" besides). Everything downstream treats it
// as any project: a single template is a one-image project, so that every
// command has one path. Its directory, where the base pins are kept, is
// the template's. alg is the fingerprint algorithm (v1 reproduces the
// original tool's checksum); base and pub are the --base-* and publishing
// flags, when given.
func Single(name string, flags Flags, base *bake.Base, pub Publish, alg fingerprint.Algorithm) (*Project, error) {
	r := &resolver{flags: flags}
	img := r.image(name)
	if r.diags.HasErrors() {
		return nil, flagDiagError(r.diags)
	}
	img.Base, img.Publish, img.Algorithm = base, pub, alg
	if err := img.checkOwnedVars(); err != nil {
		return nil, err
	}
	// A template packer cannot read is a failure (exit 1), said as it
	// is; checksum, which needs only its bytes, goes on without it.
	img.PackerTemplate, img.TemplateErr = packer.LoadTemplate(img.Template)
	// Dir is the template's directory as given, so that what is said of
	// the files beside it (checksum --explain) reads as the user wrote it.
	return &Project{Dir: img.TemplateDir(), Images: []*Image{img}, single: true}, nil
}

// Single reports whether p is a template given on the command line.
func (p *Project) Single() bool { return p.single }

// flagDiagError is the usage error for diagnostics about flags, which have
// no position.
func flagDiagError(diags hcl.Diagnostics) error {
	d := diags.Errs()[0].(*hcl.Diagnostic)
	s := d.Summary
	if d.Detail != "" {
		s += "; " + d.Detail
	}
	return usererr.Usage(errors.New(s))
}
