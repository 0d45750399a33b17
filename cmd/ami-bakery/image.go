package main

import (
	"context"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// imageFlags are the settings of one template that decide its fingerprint
// and where its AMI must exist: what bake, plan and diff share, so that they
// fingerprint and find the same AMI. Each command registers the groups it
// offers; unregistered groups keep their zero values.
type imageFlags struct {
	def    options.Definition
	target options.Target
	wire   options.Wiring
	base   options.Base
	copies options.Copies
}

// validate checks the groups in the order their errors are reported.
func (f *imageFlags) validate() error {
	if err := f.def.Validate(); err != nil {
		return err
	}
	if err := f.target.Validate(); err != nil {
		return err
	}
	if err := f.wire.Validate(&f.def); err != nil {
		return err
	}
	if err := f.base.CheckVars(&f.def); err != nil {
		return err
	}
	return f.copies.Validate(f.target.AllRegions())
}

// prepare makes the Baker and the Image of validated flags: the template
// loaded, the credentials checked, the base resolved, the copies' keys set.
func (f *imageFlags) prepare(ctx context.Context, e *env, logFormat string) (*bake.Baker, *bake.Image, *awsclient.Factory, error) {
	b, img, clients, err := prepare(ctx, &f.def, &f.target, &f.wire, e, logFormat)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := withBase(b, img, clients, &f.base, &f.def); err != nil {
		return nil, nil, nil, err
	}
	img.KMSKeys, img.AllowPublic = f.copies.Keys(), f.copies.AllowPublic
	return b, img, clients, nil
}
