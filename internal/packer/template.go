package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Template is what ami-bakery needs to know of a packer template before it
// runs packer. It is read from the text as written; nothing is evaluated.
type Template struct {
	// Path is the path given to LoadTemplate: a file, or a directory for
	// HCL2.
	Path string
	// Variables are the declared variable names, sorted and unique.
	Variables []string
	// Sources are the builders (JSON) or top-level source blocks (HCL2), in
	// file order.
	Sources []Source
	// RequiredPlugins is set when an HCL2 packer block lists
	// required_plugins, which `packer init` must install before a build.
	RequiredPlugins bool
	// Manifests are the outputs of the manifest post-processors, each
	// relative to packer's working directory (DefaultManifest when one
	// names none).
	Manifests []Setting
	// Syntax is "json" for a legacy JSON template, "hcl" for HCL2.
	Syntax string

	// refs are the template's references to local paths, for Inputs
	// (template_inputs.go).
	refs []inputRef
}

// Source is one builder of a template.
type Source struct {
	// Type is the builder type, such as "amazon-ebs".
	Type string
	// Name is the build name packer 1.6.6 uses in its output and in -only:
	// the builder's "name" or else its type for JSON; "type.name" for HCL2
	// (a named build block prefixes it further, "build.type.name").
	Name string
	// Pos is where the source is defined, "file:line".
	Pos string
	// AMINameVars are the variables that the ami_name setting refers to
	// ({{user `x`}} in JSON, var.x in HCL2), sorted and unique.
	AMINameVars []string
	// Distribution is the source's sharing and encryption settings
	// (template_distribution.go).
	Distribution Distribution
	// Settings are the SettingNames the source sets (template_settings.go).
	Settings map[string]Setting
	// Builds are the names -only matches for this source: Name for a JSON
	// builder; for HCL2 one per build block that uses the source
	// ("type.name", or "build.type.name" in a named build); none when no
	// build uses it.
	Builds []string
}

// Amazon reports whether the source is one of packer's amazon-* builders.
func (s Source) Amazon() bool { return strings.HasPrefix(s.Type, "amazon-") }

// Declares reports whether the template declares the variable name.
func (t *Template) Declares(name string) bool {
	_, ok := slices.BinarySearch(t.Variables, name)
	return ok
}

// AmazonSources returns the sources whose builder is amazon-*.
func (t *Template) AmazonSources() []Source {
	var out []Source
	for _, s := range t.Sources {
		if s.Amazon() {
			out = append(out, s)
		}
	}
	return out
}

const (
	suffixHCL     = ".pkr.hcl"
	suffixHCLJSON = ".pkr.json"
)

// LoadTemplate reads the template at path the way packer 1.6.6 would choose
// to: a directory is HCL2 (each *.pkr.hcl and *.pkr.json file in it, not
// recursively), a file named *.pkr.hcl or *.pkr.json is HCL2, and any other
// file is a legacy JSON template.
//
// Each file must be a regular file of at most MaxTemplateSize bytes holding
// text; anything else (a fifo, a device, a binary file) is refused before it
// is parsed, without blocking and in bounded memory.
func LoadTemplate(path string) (*Template, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	t := &Template{Path: path}
	if info.IsDir() {
		if err := t.loadHCLDir(); err != nil {
			return nil, err
		}
		return t, nil
	}
	src, err := readTemplateFile(path)
	if err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(path, suffixHCL):
		if err = t.loadHCLFiles(map[string][]byte{path: src}); err == nil {
			err = t.checkSiblings(src)
		}
	case strings.HasSuffix(path, suffixHCLJSON):
		err = t.loadHCLFiles(map[string][]byte{path: src})
	default:
		err = t.loadJSON(src)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

func statError(path string, err error) error {
	err = fmt.Errorf("reading template: %w", err)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return usererr.WithHint(err, "check the template path %q; a relative path is taken from the current directory", path)
	case errors.Is(err, fs.ErrPermission):
		return usererr.WithHint(err, "make %q readable by the user running ami-bakery", path)
	}
	return err
}

func readError(path string, err error) error {
	err = fmt.Errorf("reading template: %w", err)
	if errors.Is(err, fs.ErrPermission) {
		return usererr.WithHint(err, "make %q readable by the user running ami-bakery", path)
	}
	return err
}

func emptyError(path string) error {
	return usererr.WithHint(fmt.Errorf("reading template %s: the template is empty", path),
		"a template needs at least one builder, e.g. {\"builders\": [{\"type\": \"amazon-ebs\", ...}]} or a source block in a .pkr.hcl file")
}
