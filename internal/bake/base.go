package bake

import (
	"context"
	"fmt"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Tags on every AMI built from a base: the base's id in the build region
// and its name (its identity when it has none).
const (
	TagBaseAMI  = "ami-bakery:base-ami"
	TagBaseName = "ami-bakery:base-name"
)

// Base modes: track builds on the newest match, so a vendor release
// rebuilds; locked builds on the pin in the lock file and only reports
// that a newer one exists.
const (
	BaseTrack  = "track"
	BaseLocked = "locked"
)

// DefaultBaseVar is the template variable receiving the base's id.
const DefaultBaseVar = "source_ami"

// Base is where a root image starts from: a vendor image ami-bakery
// resolves itself before planning, so that its identity is part of the
// fingerprint (Spec.Base) and a new vendor release is a new definition.
type Base struct {
	Query images.BaseQuery
	Var   string // template variable receiving the id; "" means DefaultBaseVar
	Mode  string // BaseTrack ("" too) or BaseLocked
	// Pinned is the lock file's entry in locked mode: region -> base.
	// A region without a pin is an error in locked mode.
	Pinned map[string]images.Base
	// PinsFile names the lock file in errors and hints.
	PinsFile string

	mu sync.Mutex
	// used is the base the image is built on, per region, and latest the
	// newest match (the same as used in track mode); set by resolveBase.
	used, latest map[string]images.Base
}

// BaseStatus is what a plan says of an image's base: what it is built
// on in its primary region, and, in locked mode, a newer match.
type BaseStatus struct {
	Name  string `json:"name"`
	AMI   string `json:"ami"`
	Newer string `json:"-"` // the newer match's id, when NewerAvailable
	// NewerName is the newer match's name.
	NewerName      string `json:"-"`
	NewerAvailable bool   `json:"newer_available"`
	// PreviousName and PreviousAMI are the base of the image's newest
	// AMI, when a build moves to another base.
	PreviousName string `json:"-"`
	PreviousAMI  string `json:"-"`
}

func (bs *Base) varName() string {
	if bs.Var == "" {
		return DefaultBaseVar
	}
	return bs.Var
}

// ResolveBases resolves the base of every image that has one, in its
// primary region, at once, and puts its identity into the image's Spec.
func (b *Baker) ResolveBases(ctx context.Context, imgs []*Image) error {
	errs := make([]error, len(imgs))
	var wg sync.WaitGroup
	for i, img := range imgs {
		if img.Base == nil {
			continue
		}
		wg.Go(func() { errs[i] = b.resolveBase(ctx, img) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			if imgs[i].Name != "" {
				return fmt.Errorf("%s: %w", imgs[i].Name, err)
			}
			return err
		}
	}
	return nil
}

// resolveBase resolves img's base in its primary region (where builds
// happen) and sets Spec.Base to the identity of the base it is built on.
func (b *Baker) resolveBase(ctx context.Context, img *Image) error {
	bs := img.Base
	if bs == nil {
		return nil
	}
	if err := img.checkBaseTemplate(); err != nil {
		return err
	}
	region := img.Regions[0]
	latest, err := b.latestBase(ctx, img, region)
	if err != nil {
		return err
	}
	used := latest
	if bs.Mode == BaseLocked {
		// A pin is only text: verifyPin checks it in EC2 (base_pin.go).
		if used, err = b.verifyPin(ctx, img, region, bs.Pinned[region], bs.PinsFile, &latest); err != nil {
			return err
		}
	}
	bs.mu.Lock()
	if bs.used == nil {
		bs.used, bs.latest = map[string]images.Base{}, map[string]images.Base{}
	}
	bs.used[region], bs.latest[region] = used, latest
	bs.mu.Unlock()
	img.Spec.Base = used.Identity()
	b.log().Info("base resolved", "region", region, "base", used.Identity(), "ami", used.ID)
	return nil
}

// latestBase finds the newest match of img's base in region.
func (b *Baker) latestBase(ctx context.Context, img *Image, region string) (images.Base, error) {
	q := img.Base.Query
	account, err := b.account(ctx, img)
	if err != nil {
		return images.Base{}, err
	}
	q.Account = account
	client := b.ec2(img, region)
	if q.SSMParameter != "" {
		if b.SSMClients == nil {
			return images.Base{}, fmt.Errorf("resolving the base image from %s: no SSM client", q.SSMParameter)
		}
		return images.ResolveBaseSSM(ctx, b.SSMClients(img.RoleARN, region), client, region, q.SSMParameter)
	}
	return images.ResolveBase(ctx, client, region, q)
}

// LatestBase resolves the newest match of img's base in region, whatever
// its mode: what `ami-bakery lock` pins.
func (b *Baker) LatestBase(ctx context.Context, img *Image, region string) (images.Base, error) {
	return b.latestBase(ctx, img, region)
}

// baseStatus says what img is built on in region, or nil without a base.
func (img *Image) baseStatus(region string) *BaseStatus {
	bs := img.Base
	if bs == nil {
		return nil
	}
	bs.mu.Lock()
	defer bs.mu.Unlock()
	used, ok := bs.used[region]
	if !ok {
		return nil
	}
	st := &BaseStatus{Name: baseName(used), AMI: used.ID}
	if l := bs.latest[region]; l.Identity() != used.Identity() {
		st.NewerAvailable, st.Newer, st.NewerName = true, l.ID, baseName(l)
	}
	return st
}

func baseName(b images.Base) string {
	if b.Name == "" {
		return b.ID
	}
	return b.Name
}

// baseVars is the base's id in region for its template variable.
func (img *Image) baseVars(region string) []packer.Var {
	if st := img.baseStatus(region); st != nil {
		return []packer.Var{{Name: img.Base.varName(), Value: st.AMI}}
	}
	return nil
}

// withBaseTags adds the base tags for an AMI of img in region.
func (img *Image) withBaseTags(tags map[string]string, region string) map[string]string {
	st := img.baseStatus(img.Regions[0])
	if st == nil {
		return tags
	}
	tags[TagBaseName] = st.Name
	if region == img.Regions[0] {
		tags[TagBaseAMI] = st.AMI
	}
	return tags
}

// checkBaseTemplate refuses a template that cannot take the base: one
// that does not declare the variable, or that finds its own source AMI
// (two sources of truth).
func (img *Image) checkBaseTemplate() error {
	if img.Base == nil {
		return nil
	}
	v := img.Base.varName()
	if !img.Template.Declares(v) {
		return usererr.WithHint(fmt.Errorf("template %s does not declare the variable %q, which receives the resolved base image", img.Template.Path, v),
			"declare it and use it as the builder's source_ami, e.g. in HCL2: variable %q { type = string } and source_ami = var.%s; or name another variable with var (--base-var)", v, v)
	}
	where, err := packer.OwnSourceAMI(img.Template.Path)
	if err != nil {
		return err
	}
	if where != "" {
		return usererr.WithHint(fmt.Errorf("template %s finds its own source image (%s) and also declares a base: two sources of truth", img.Template.Path, where),
			"remove the source_ami_filter or amazon-ami data source and set source_ami from var.%s: ami-bakery resolves the base and passes its id", v)
	}
	return nil
}

// previousBase fills st.Previous*: the base of the newest AMI of img
// (tagged with its name) when it differs from the base a build would use,
// so a plan can name old and new. Any failure leaves them empty: it is
// only for people.
func (b *Baker) previousBase(ctx context.Context, img *Image, st *BaseStatus) {
	if st == nil || img.Name == "" {
		return
	}
	region := img.Regions[0]
	account, err := b.account(ctx, img)
	if err != nil {
		return
	}
	m, err := images.Find(ctx, b.ec2(img, region), images.Query{Owners: img.Owners, Account: account, TagKey: TagImage, Fingerprint: img.Name})
	if err != nil || m.Available == nil {
		return
	}
	name, ami := m.Available.Tags[TagBaseName], m.Available.Tags[TagBaseAMI]
	if ami != "" && ami != st.AMI {
		st.PreviousName, st.PreviousAMI = name, ami
	}
}

// String is the plan's base line: "NAME (AMI)", "OLD (AMI) → NEW (AMI)"
// when a build moves to a new base, and a newer pin when locked.
func (st *BaseStatus) String() string {
	s := fmt.Sprintf("%s (%s)", st.Name, st.AMI)
	if st.PreviousAMI != "" {
		s = fmt.Sprintf("%s (%s) → %s", st.PreviousName, st.PreviousAMI, s)
	}
	if st.NewerAvailable {
		s += fmt.Sprintf("; newer available: %s (%s), not used until ami-bakery lock --update", st.NewerName, st.Newer)
	}
	return s
}
