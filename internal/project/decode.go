package project

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/ami-bakery/ami-bakery/internal/images"
)

// settingNames are the settings an image block or the defaults block may
// set. parent is an image's own: a default parent would make the parent
// its own child.
var settingNames = []string{
	"template", "dirs", "parent_var", "var_files", "vars", "regions", "owners",
	"tag_key", "fingerprint_var", "lookup", "role_arn", "only", "except", "ignore_file",
	"workdir", "region_var", "subnet_var", "endpoint_var",
}

// imageName is what an image may be called: it is a command-line argument,
// a CI job name and a tag value.
// It is compiled on first use: {0,127} compiles to 128 states, over a
// thousand allocations that a run without a project file need not make.
var imageName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)
})

var rootSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "project"}},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "defaults"},
		{Type: "image", LabelNames: []string{"name"}},
		{Type: "channel", LabelNames: []string{"name"}},
	},
}

func settingsSchema(names ...string) *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "publish"}, {Type: "test", LabelNames: []string{"name"}}}}
	for _, n := range append(slices.Clone(settingNames), names...) {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}

// decode parses the file and resolves each image's settings. It checks
// each image on its own; link checks them together.
func decode(path string, src []byte, dir string, flags Flags, p *Project) ([]*Image, hcl.Diagnostics) {
	parser := hclparse.NewParser()
	var (
		f     *hcl.File
		diags hcl.Diagnostics
	)
	if strings.HasSuffix(path, ".json") {
		f, diags = parser.ParseJSON(src, path)
	} else {
		f, diags = parser.ParseHCL(src, path)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	content, diags := f.Body.Content(rootSchema)
	if diags.HasErrors() {
		return nil, diags
	}
	if a := content.Attributes["project"]; a != nil {
		if d := decodeExpr(a.Expr, &p.Name); d.HasErrors() {
			return nil, d
		}
		if strings.TrimSpace(p.Name) == "" {
			return nil, hcl.Diagnostics{errorAt(a.Range, "project is empty; name the project, or remove it to use the git remote and the file's path")}
		}
	}
	var defaults hcl.Attributes
	var defPublish *hcl.Block
	var defTests []*Test
	var imgs []*Image
	seen := map[string]*Image{}
	for _, b := range content.Blocks {
		if b.Type == "defaults" {
			if defaults != nil {
				return nil, hcl.Diagnostics{errorAt(b.DefRange, "duplicate defaults block; a project has at most one")}
			}
			c, d := b.Body.Content(settingsSchema())
			if d.HasErrors() {
				return nil, d
			}
			defaults = c.Attributes
			if defPublish, d = publishBlock(c.Blocks); d.HasErrors() {
				return nil, d
			}
			if defTests, d = decodeTests(c.Blocks, dir); d.HasErrors() {
				return nil, d
			}
		}
	}
	for _, b := range content.Blocks {
		if b.Type != "image" {
			continue
		}
		name := b.Labels[0]
		if !imageName().MatchString(name) {
			return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "invalid image name %q; use letters, digits, '.', '_' and '-', starting with a letter or digit", name)}
		}
		if first, ok := seen[name]; ok {
			return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "duplicate image %q; it is first declared at %s", name, first.Range)}
		}
		c, d := b.Body.Content(imageSchema())
		if d.HasErrors() {
			return nil, d
		}
		r := &resolver{own: c.Attributes, defs: defaults, flags: flags, dir: dir, block: b.DefRange}
		img := r.image(name)
		if r.diags.HasErrors() {
			return nil, r.diags
		}
		if d := decodeBase(c.Blocks, img); d.HasErrors() {
			return nil, d
		}
		own, d := publishBlock(c.Blocks)
		if !d.HasErrors() {
			img.Publish, d = decodePublish(own, defPublish, name)
		}
		if d.HasErrors() {
			return nil, d
		}
		tests, d := decodeTests(c.Blocks, dir)
		if d.HasErrors() {
			return nil, d
		}
		img.Tests = mergeTests(defTests, tests)
		seen[name] = img
		imgs = append(imgs, img)
	}
	if len(imgs) == 0 {
		return nil, hcl.Diagnostics{errorAt(f.Body.MissingItemRange(), "the project declares no image; add an image \"NAME\" { template = \"...\" } block")}
	}
	if p.Channels, diags = decodeChannels(content.Blocks, imgs); diags.HasErrors() {
		return nil, diags
	}
	return imgs, nil
}

// resolver reads one image's settings: its own attribute, else the
// default's. It collects diagnostics instead of stopping at the first.
type resolver struct {
	own, defs hcl.Attributes
	flags     Flags
	conflicts hcl.Diagnostics // flags given for settings the file sets: an error once the image is selected
	dir       string
	block     hcl.Range
	diags     hcl.Diagnostics
	ranges    map[string]hcl.Range
}

func (r *resolver) image(name string) *Image {
	r.ranges = map[string]hcl.Range{}
	img := &Image{
		Name:           name,
		Range:          r.block,
		Template:       r.path("template"),
		Dirs:           r.paths("dirs"),
		ParentName:     r.str("parent", ""),
		ParentVar:      r.str("parent_var", DefaultParentVar),
		VarFiles:       r.paths("var_files"),
		Vars:           r.vars(),
		Regions:        r.list("regions"),
		Owners:         r.list("owners"),
		TagKey:         r.str("tag_key", DefaultTagKey),
		FingerprintVar: r.str("fingerprint_var", DefaultFingerprintVar),
		Lookup:         r.str("lookup", DefaultLookup),
		RoleARN:        r.str("role_arn", ""),
		Only:           r.list("only"),
		Except:         r.list("except"),
		IgnoreFile:     r.str("ignore_file", ""),
		WorkDir:        r.path("workdir"),
		RegionVar:      r.str("region_var", ""),
		SubnetVar:      r.str("subnet_var", ""),
		EndpointVar:    r.str("endpoint_var", ""),
		ranges:         r.ranges,
	}
	r.mergeVars(img)
	img.conflicts = r.conflicts
	r.check(img)
	if img.Template != "" && len(img.Dirs) == 0 {
		img.Dirs = []string{img.TemplateDir()}
	}
	return img
}

// check refuses settings that are wrong whatever the other images say.
func (r *resolver) check(img *Image) {
	switch {
	case img.Template == "":
		r.errorf(r.block, "image %q has no template; set template = \"PATH\" (relative to the project file)", img.Name)
	case r.diags.HasErrors():
		// A setting of the wrong type reads as unset: say that alone.
	case len(img.Regions) == 0 && img.ranges["regions"] != (hcl.Range{}):
		r.errorf(img.rangeOf("regions"), "image %q has an empty regions list; list at least one region, or remove regions to build in the ambient region (AWS_REGION)", img.Name)
	case len(img.Regions) == 0 && r.block.Filename != "": // a single template's flags say their own
		r.errorf(r.block, "image %q has no regions; set regions = [\"us-east-1\", ...] in the image or in defaults, or give --region (AWS_REGION)", img.Name)
	case img.Lookup != "tag" && img.Lookup != "name":
		r.errorf(img.rangeOf("lookup"), "invalid lookup %q; use tag (the default) or name", img.Lookup)
	}
	for i, reg := range img.Regions {
		if reg == "" || slices.Contains(img.Regions[:i], reg) {
			r.errorf(img.rangeOf("regions"), "invalid regions: %q is empty or given twice", reg)
		}
	}
	for _, o := range img.Owners {
		if !images.ValidOwner(o) {
			r.errorf(img.rangeOf("owners"), "invalid owner %q; an owner is a 12-digit AWS account id", o)
		}
	}
	for name := range img.Vars {
		if name == img.ParentVar || name == img.FingerprintVar || name == "aws_region" || name == img.RegionVar {
			r.errorf(img.rangeOf("vars"), "vars sets %s, which ami-bakery sets itself; remove it", name)
		}
	}
	if img.WorkDir != "" {
		if fi, err := os.Stat(img.WorkDir); err != nil || !fi.IsDir() {
			r.errorf(img.rangeOf("workdir"), "workdir %s is not a directory", img.WorkDir)
		}
	}
}

func (r *resolver) errorf(rng hcl.Range, format string, args ...any) {
	r.diags = append(r.diags, errorAt(rng, format, args...))
}

// attr returns the setting's attribute, the image's own or the default,
// and records where it is.
func (r *resolver) attr(name string) *hcl.Attribute {
	a := r.own[name]
	if a == nil {
		a = r.defs[name]
	}
	if a != nil {
		r.ranges[name] = a.Range
		r.conflict(name, a.Range)
	}
	return a
}

// decodeTo decodes the setting into v (a pointer); it reports whether the
// setting is set and well-typed.
func (r *resolver) decodeTo(name string, v any) bool {
	a := r.attr(name)
	if a == nil {
		return r.fill(name, v)
	}
	d := decodeExpr(a.Expr, v)
	r.diags = append(r.diags, d...)
	return !d.HasErrors()
}

func (r *resolver) str(name, def string) string {
	var s string
	if !r.decodeTo(name, &s) {
		return def
	}
	return s
}

func (r *resolver) list(name string) []string {
	var l []string
	r.decodeTo(name, &l)
	return l
}

// vars are the file's vars; mergeVars adds the flags' afterwards.
func (r *resolver) vars() map[string]string {
	var m map[string]string
	if a := r.attr("vars"); a != nil {
		r.diags = append(r.diags, decodeExpr(a.Expr, &m)...)
	}
	return m
}

// path is a path setting made absolute: relative paths are taken from the
// project file's directory.
func (r *resolver) path(name string) string {
	p := r.str(name, "")
	if p == "" || filepath.IsAbs(p) || r.fromFlag(name) {
		return p
	}
	return filepath.Join(r.dir, p)
}

func (r *resolver) paths(name string) []string {
	l := r.list(name)
	if r.fromFlag(name) {
		return l
	}
	for i, p := range l {
		if !filepath.IsAbs(p) {
			l[i] = filepath.Join(r.dir, p)
		}
	}
	return l
}

// fromFlag reports whether the setting came from a flag: its paths are
// the user's, relative to the working directory, as given.
func (r *resolver) fromFlag(name string) bool {
	_, fromFile := r.ranges[name]
	_, flag := r.flags[name]
	return flag && !fromFile
}

// rangeOf is where the image's setting name is written, or the image block
// when it is not.
func (img *Image) rangeOf(name string) hcl.Range {
	if rng, ok := img.ranges[name]; ok {
		return rng
	}
	return img.Range
}
