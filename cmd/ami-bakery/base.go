package main

import (
	"path/filepath"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// withBase gives a single-template image the base of the --base-* flags,
// and the Baker its SSM clients. In locked mode the pins come from the
// lock file beside the template.
func withBase(b *bake.Baker, img *bake.Image, clients *awsclient.Factory, o *options.Base, def *options.Definition) error {
	b.SSMClients = func(r string) images.SSM { return clients.SSM(r) }
	base, err := o.Validate()
	if err != nil || base == nil {
		return err
	}
	img.Base = base
	if img.Name == "" {
		img.Name = singleName(def.Template)
	}
	if base.Mode == bake.BaseLocked {
		return pinFromLock(base, def.TemplateDir(), singleName(def.Template))
	}
	return nil
}

// pinFromLock sets a locked base's pins from the lock file in dir.
func pinFromLock(base *bake.Base, dir, name string) error {
	l, err := project.ReadLock(project.LockPath(dir))
	if err != nil {
		return err
	}
	pins, err := l.Pins(name, base.Query)
	if err != nil {
		return usererr.Usage(err)
	}
	base.Pinned, base.LockFile = pins, l.Path
	return nil
}

// singleName is a single template's image name (its ami-bakery:image tag,
// its key in a lock file): the template's file name without its extension.
func singleName(template string) string {
	base := filepath.Base(filepath.Clean(template))
	for _, ext := range []string{".pkr.hcl", ".pkr.json", ".json", ".hcl"} {
		if n := len(base) - len(ext); n > 0 && base[n:] == ext {
			return base[:n]
		}
	}
	return base
}
