package packer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// This file finds the files and directories outside the template that the
// selected builds read: provisioner scripts, playbooks, cookbooks, a
// builder's user_data_file, a post-processor's script, and in HCL2 the
// files of file(), templatefile() and fileset(). They are part of the
// image's definition, so the fingerprint must cover them wherever they lie
// (the single place that builds an image's fingerprint spec adds those
// outside the definition directories).
//
// The references are gathered when the template is loaded (inputRef) and
// evaluated by Inputs with the values of the variables, as packer would
// evaluate them: a path setting is taken from packer's working directory, a
// path given to an HCL2 function from the template's directory (packer
// 1.6.6 gives its functions that base), {{template_dir}} and path.root are
// the template's directory, {{pwd}} and path.cwd packer's working
// directory.

// InputOptions says how packer will run the template, for Inputs.
type InputOptions struct {
	// WorkDir is packer's working directory (BuildOptions.Dir); "" means
	// the current one.
	WorkDir string
	// Vars are the -var values, which win over VarFiles and defaults.
	Vars map[string]string
	// VarFiles are the -var-file paths, in order (a later one wins), taken
	// from the current directory when relative. An HCL2 directory's
	// *.auto.pkrvars.hcl and *.auto.pkrvars.json files are read first, as
	// packer reads them.
	VarFiles []string
	// Only and Except are -only and -except: only the selected builds'
	// inputs count (Template.Select).
	Only, Except []string

	// anyBuilder counts the builds of every builder type, not only the
	// amazon ones: a test seam, to check Inputs against the real packer
	// with the null builder.
	anyBuilder bool
}

// Input is a file or directory that a selected build reads.
type Input struct {
	// Path is absolute and clean.
	Path string
	// Dir is true for a directory (followed through symlinks).
	Dir bool
	// Pos is where the template uses it, "file:line" (the first use
	// found, when there are several).
	Pos string
	// Use says what uses it, e.g. `provisioner "shell" scripts`, `file()`
	// or `provisioner "ansible" playbook_file (its directory)`.
	Use string
}

// Unresolved is a reference to a path whose value cannot be known before
// packer runs: a variable without a value, {{env}}, timestamp(), an
// expression over a loop variable, a function ami-bakery does not evaluate.
type Unresolved struct {
	Pos  string // "file:line"
	Text string // the expression as written
	Use  string // as Input.Use
}

// InputsResult is what Inputs found.
type InputsResult struct {
	// Inputs are the paths that exist, one per path, sorted by path.
	Inputs []Input
	// Missing are the paths that do not exist (packer would fail on
	// them), sorted by path.
	Missing []Input
	// Unresolved are the references that cannot be resolved offline, in
	// template order.
	Unresolved []Unresolved
}

// Inputs returns the files and directories that the builds o selects
// (among the amazon sources, as Select) read from the local machine, given
// packer's working directory and the variables' values. It reads the var
// files and stats each path; it returns an error only when a var file
// cannot be read or a path cannot be examined for another reason than that
// it does not exist.
//
// What it knows of (pathSettings): the script(s) of shell, shell-local,
// powershell and windows-shell; the source(s) of an upload by the file
// provisioner; ansible's and ansible-local's playbooks, roles, inventories,
// group and host vars and galaxy files (for ansible, which runs on this
// machine, the playbook's whole directory, since ansible reads roles/ and
// group_vars/ beside it); chef-solo's cookbook, role, data bag and
// environment paths and config template; puppet-masterless's manifests,
// modules and hiera config; salt-masterless's state tree, pillar roots,
// minion config and grains; a builder's user_data_file, http_directory,
// floppy_files, floppy_dirs and cd_files; shell-local's and vagrant's
// post-processor files; in HCL2 the path of file(), filebase64(),
// templatefile(), the file hash functions and each file of fileset(),
// anywhere in the selected sources, the used build blocks and locals.
// A JSON provisioner's "override" for a selected build counts for it.
func (t *Template) Inputs(o InputOptions) (InputsResult, error) {
	env, err := t.inputEnv(o)
	if err != nil {
		return InputsResult{}, err
	}
	selected := map[string]bool{}
	sources := t.AmazonSources()
	if o.anyBuilder {
		sources = t.Sources
	}
	for _, s := range sources {
		for _, b := range t.selectedBuilds(s, o.Only, o.Except) {
			selected[b] = true
		}
	}
	var (
		res   InputsResult
		found = map[string]Input{}
		order []string
		seen  = map[Unresolved]bool{}
	)
	for _, r := range t.refs {
		if !r.always && !slices.ContainsFunc(r.builds, func(b string) bool { return selected[b] }) {
			continue
		}
		paths, ok := r.eval(env)
		if !ok {
			u := Unresolved{Pos: r.pos, Text: r.text, Use: r.use}
			if !seen[u] {
				seen[u] = true
				res.Unresolved = append(res.Unresolved, u)
			}
			continue
		}
		base := env.workDir
		if r.fromTemplateDir {
			base = env.templateDir
		}
		for _, p := range paths {
			if p == "" {
				continue
			}
			if !filepath.IsAbs(p) {
				p = filepath.Join(base, p)
			}
			p = filepath.Clean(p)
			if r.parent {
				p = filepath.Dir(p)
			}
			if _, dup := found[p]; !dup {
				found[p] = Input{Path: p, Pos: r.pos, Use: r.use}
				order = append(order, p)
			}
		}
	}
	slices.Sort(order)
	for _, p := range order {
		in := found[p]
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			res.Missing = append(res.Missing, in)
		case err != nil:
			return InputsResult{}, fmt.Errorf("reading %s, which %s uses at %s: %w", p, in.Use, in.Pos, err)
		default:
			in.Dir = fi.IsDir()
			res.Inputs = append(res.Inputs, in)
		}
	}
	return res, nil
}

// inputRef is one reference of a template to local paths, gathered at
// load time and evaluated by Inputs.
type inputRef struct {
	pos, text, use string
	// builds are the build names whose runs read it; always is true for
	// what every build evaluates (HCL2 locals).
	builds []string
	always bool
	// fromTemplateDir: a relative path is taken from the template's
	// directory (an HCL2 function's argument), not from packer's working
	// directory (a setting).
	fromTemplateDir bool
	// parent: the input is the directory that holds the path.
	parent bool
	// eval returns the paths, or false when they cannot be known.
	eval func(inputEnv) ([]string, bool)
}

// inputEnv is what a reference is evaluated with.
type inputEnv struct {
	workDir, templateDir string // absolute and clean
	vars                 map[string]string
	hclVars              hclValues // HCL2: var files' values as written, then vars
	ctxs                 map[*hclScope]*hcl.EvalContext
}

// templateDir is the directory {{template_dir}} and path.root name: the
// template's own directory, or the directory given as an HCL2 template.
func (t *Template) templateDir() (string, error) {
	abs, err := filepath.Abs(t.Path)
	if err != nil {
		return "", fmt.Errorf("resolving the template's directory: %w", err)
	}
	if fi, err := os.Stat(abs); err == nil && fi.IsDir() {
		return abs, nil
	}
	return filepath.Dir(abs), nil
}

func (t *Template) inputEnv(o InputOptions) (inputEnv, error) {
	var env inputEnv
	var err error
	if env.templateDir, err = t.templateDir(); err != nil {
		return env, err
	}
	if env.workDir, err = filepath.Abs(o.WorkDir); err != nil {
		return env, fmt.Errorf("resolving packer's working directory: %w", err)
	}
	files := slices.Clone(o.VarFiles)
	if t.Syntax == "hcl" && t.Path != "" {
		if fi, err := os.Stat(t.Path); err == nil && fi.IsDir() {
			auto, err := autoVarFiles(t.Path)
			if err != nil {
				return env, err
			}
			files = append(auto, files...)
		}
	}
	env.vars = map[string]string{}
	if t.Syntax == "hcl" {
		env.hclVars = hclValues{}
		env.ctxs = map[*hclScope]*hcl.EvalContext{}
	}
	for _, f := range files {
		if t.Syntax == "hcl" {
			if err := env.hclVars.readFile(f); err != nil {
				return env, err
			}
			continue
		}
		if err := readJSONVarFile(f, env.vars); err != nil {
			return env, err
		}
	}
	for k, v := range o.Vars {
		env.vars[k] = v
		if env.hclVars != nil {
			env.hclVars.setString(k, v)
		}
	}
	return env, nil
}

// autoVarFiles returns an HCL2 directory's *.auto.pkrvars.hcl and
// *.auto.pkrvars.json files, in name order, as packer 1.6.6 loads them.
func autoVarFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, readError(dir, err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".auto.pkrvars.hcl") || strings.HasSuffix(n, ".auto.pkrvars.json")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	return out, nil
}

// pathSettings are the settings, by provisioner or post-processor type,
// whose value is a local path or a list of them.
var pathSettings = map[string]map[string][]string{
	"provisioner": {
		"shell":             {"script", "scripts"},
		"shell-local":       {"script", "scripts"},
		"powershell":        {"script", "scripts"},
		"windows-shell":     {"script", "scripts"},
		"file":              {"source", "sources"},
		"ansible":           {"playbook_file", "galaxy_file", "roles_path", "inventory_file", "inventory_directory"},
		"ansible-local":     {"playbook_file", "playbook_dir", "playbook_paths", "role_paths", "group_vars", "host_vars", "galaxy_file", "inventory_file"},
		"chef-solo":         {"cookbook_paths", "roles_path", "data_bags_path", "environments_path", "config_template"},
		"chef-client":       {"config_template"},
		"puppet-masterless": {"manifest_file", "manifest_dir", "module_paths", "hiera_config_path"},
		"salt-masterless":   {"local_state_tree", "local_pillar_roots", "minion_config", "grains_file"},
	},
	"post-processor": {
		"shell-local": {"script", "scripts"},
		"vagrant":     {"vagrantfile_template", "include"},
	},
}

// builderPathSettings are the settings of any builder whose value is a
// local path or a list of them.
var builderPathSettings = []string{"user_data_file", "http_directory", "floppy_files", "floppy_dirs", "cd_files"}

// skipSetting reports whether a path setting of a provisioner does not
// name a local input given the provisioner's other settings (each a
// literal, "" when absent or not one): the source of a file provisioner
// that downloads or whose source is generated during the build, and the
// roles_path of an ansible provisioner with a galaxy_file, into which
// ansible-galaxy installs the roles.
func skipSetting(kind, typ, name string, other func(string) string) bool {
	switch {
	case kind == "provisioner" && typ == "file" && (name == "source" || name == "sources"):
		return other("direction") == "download" || other("generated") == "true"
	case kind == "provisioner" && typ == "ansible" && name == "roles_path":
		return other("galaxy_file") != ""
	}
	return false
}

// parentSetting reports whether the input a setting names is the directory
// that holds its path: ansible's playbook_file, since ansible, running on
// this machine, reads roles/, group_vars/, host_vars/ and files beside the
// playbook.
func parentSetting(kind, typ, name string) bool {
	return kind == "provisioner" && typ == "ansible" && name == "playbook_file"
}

// useOf names a setting for Input.Use: `provisioner "shell" scripts`, and
// `... (its directory)` for a parentSetting.
func useOf(kind, typ, name string) string {
	use := fmt.Sprintf("%s %q %s", kind, typ, name)
	if parentSetting(kind, typ, name) {
		use += " (its directory)"
	}
	return use
}
