package options

import (
	"fmt"
	"maps"
	"slices"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Project names the project file of many images (bakery.hcl).
type Project struct {
	Config string
}

// AddFlags registers --config.
func (p *Project) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&p.Config, "config", "", "project file of many images (default: "+project.FileHCL+" or "+project.FileJSON+
		" in the working directory, when no --template is given)")
	BindEnv(fs, "config", "AMI_BAKERY_CONFIG")
}

// Path returns the project file to use, or "" for the single-template
// mode: --config when given, else bakery.hcl or bakery.json in the working
// directory when the definition names no template. A flag wins over an
// environment variable: --template with AMI_BAKERY_CONFIG set is a single
// template, --config with PACKER_JSON_PATH set a project. Both given the
// same way is an error naming both.
func (p *Project) Path(fs *pflag.FlagSet, d *Definition) (string, error) {
	if p.Config != "" && d.Template != "" {
		cfg, tmpl := Explicit(fs, "config"), Explicit(fs, "template")
		switch {
		case tmpl && !cfg:
			return "", nil
		case cfg && !tmpl:
			return p.Config, nil
		}
		return "", usererr.WithHint(usererr.Usagef("both a project file (%s) and a template (%s) are given", source(fs, "config"), source(fs, "template")),
			"give one: --config for a project of many images, --template for one image")
	}
	if p.Config != "" {
		return p.Config, nil
	}
	if d.Template != "" {
		return "", nil
	}
	return project.Find(".")
}

// Explicit reports whether the flag name was given on the command line,
// not set from the environment.
func Explicit(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed && len(f.Annotations[envSetAnnotation]) == 0
}

// given reports whether the flag name was given on the command line or by
// the environment.
func given(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// source names where a flag's value came from: the flag, or the variable.
func source(fs *pflag.FlagSet, name string) string {
	if f := fs.Lookup(name); f != nil && len(f.Annotations[envSetAnnotation]) == 2 {
		return f.Annotations[envSetAnnotation][0]
	}
	return "--" + name
}

// settingFlags maps the project file's settings to the flags that stand
// for them (internal/project's Flags): each is a default for the images
// that do not set it. regions comes from --region and --regions together.
var settingFlags = []struct{ setting, flag string }{
	{"owners", "owner"}, {"tag_key", "tag-key"}, {"lookup", "lookup"}, {"role_arn", "role-arn"},
	{"fingerprint_var", "fingerprint-var"}, {"region_var", "region-var"}, {"subnet_var", "subnet-var"},
	{"endpoint_var", "endpoint-var"}, {"only", "only"}, {"except", "except"}, {"ignore_file", "ignore-file"}, {"workdir", "packer-dir"},
	{"var_files", "var-file"}, {"vars", "var"}, {"template", "template"}, {"dirs", "dir"},
}

// singleOnly are flags a project file has no default for: a project sets
// them per image in the file. Given on the command line with a project,
// they are an error, never silently dropped.
var singleOnly = map[string]string{
	"template":                "template",
	"dir":                     "dirs",
	"algorithm":               "(v1 is for AMIs of the original tool, which had no project file)",
	"name":                    "the image block's label",
	"base-owner":              "a base block",
	"base-filter":             "a base block",
	"base-ssm-parameter":      "a base block",
	"base-var":                "a base block",
	"base-mode":               "a base block",
	"base-include-deprecated": "a base block",
	"ssm-parameter":           "a publish block",
	"launch-template":         "a publish block",
	"set-default-version":     "a publish block",
}

// ProjectFlags returns the flags of fs that stand for project settings,
// for a project file: only those given, on the command line (Explicit) or
// by the environment. A flag that only a single template takes, given on
// the command line, is a usage error naming what the file uses instead.
func ProjectFlags(fs *pflag.FlagSet, t *Target, d *Definition, w *Wiring) (project.Flags, error) {
	for _, name := range slices.Sorted(maps.Keys(singleOnly)) {
		if Explicit(fs, name) {
			return nil, usererr.WithHint(usererr.Usagef("--%s is for a single template, not a project file", name),
				"in the project file use %s, or give --template for one image", singleOnly[name])
		}
	}
	out := project.Flags{}
	if given(fs, "region") || given(fs, "regions") {
		out["regions"] = project.Flag{Name: "--region/--regions", Explicit: Explicit(fs, "region") || Explicit(fs, "regions"), Value: t.AllRegions()}
	}
	for _, s := range settingFlags {
		if s.setting == "template" || s.setting == "dirs" || !given(fs, s.flag) {
			continue
		}
		out[s.setting] = project.Flag{Name: "--" + s.flag, Explicit: Explicit(fs, s.flag), Value: settingValue(s.setting, t, d, w)}
	}
	return out, nil
}

// SingleFlags returns every setting of a single template, given or not
// (their defaults count), as the one image's settings.
func SingleFlags(t *Target, d *Definition, w *Wiring) project.Flags {
	out := project.Flags{"regions": {Name: "--region", Value: t.AllRegions()}}
	for _, s := range settingFlags {
		out[s.setting] = project.Flag{Name: "--" + s.flag, Value: settingValue(s.setting, t, d, w)}
	}
	return out
}

// settingValue is a setting's value from the flag groups.
func settingValue(setting string, t *Target, d *Definition, w *Wiring) any {
	switch setting {
	case "owners":
		return t.Owners
	case "tag_key":
		return t.TagKey
	case "lookup":
		return t.By
	case "role_arn":
		return t.RoleARN
	case "only":
		return w.Only
	case "except":
		return w.Except
	case "ignore_file":
		return d.IgnoreFile
	case "workdir":
		return d.PackerDir
	case "var_files":
		return d.VarFiles
	case "vars":
		m := map[string]string{}
		for _, v := range d.Vars {
			m[VarName(v)] = v[len(VarName(v))+1:]
		}
		return m
	case "template":
		return d.Template
	case "dirs":
		return d.Dirs
	case "fingerprint_var":
		return w.FingerprintVar
	case "region_var":
		return w.RegionVar
	case "subnet_var":
		return w.SubnetVar
	case "endpoint_var":
		return w.EndpointVar
	}
	panic(fmt.Sprintf("options: no flag value for setting %q", setting))
}
