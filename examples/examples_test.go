// Package examples_test checks the files that ship ami-bakery to CI users:
// the Terraform example, the GitHub Action, the CI pipeline examples, the
// goreleaser config and the Dockerfile. They are not Go, so the checks are
// what a reviewer would otherwise do by eye:
//
//   - Terraform: every .tf file parses (hcl/v2), every var.X and local.X is
//     declared, every data "aws_ami" has owners; `terraform validate` runs
//     too when Terraform and an AWS provider mirror are on the machine.
//   - The AMI definition loads the way ami-bakery loads it and declares the
//     variables ami-bakery passes.
//   - YAML: there is no YAML library in go.mod, and the checks do not need
//     one: python3 with PyYAML (when installed) turns each file into JSON,
//     which the tests then inspect; without it those tests skip and a light
//     line-based check (no tabs, the expected top-level keys) still runs.
//   - action.yml's two shell steps run for real, with a stub ami-bakery, to
//     check how inputs become flags; every flag they pass exists in
//     `ami-bakery bake --help`.
package examples_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/testenv"
)

const (
	terraformDir = "terraform"
	actionFile   = "../action.yml"
	workflowFile = "github-actions/bake-and-deploy.yml"
	gitlabFile   = "gitlab-ci/.gitlab-ci.yml"
	circleFile   = "circleci/config.yml"
	goreleaser   = "../.goreleaser.yaml"
	dockerfile   = "../Dockerfile"
)

// --- Terraform ---------------------------------------------------------------

type tfModule struct {
	vars   map[string]bool
	locals map[string]bool
	blocks map[string]*hclsyntax.Block // "data.aws_ami.baked", "resource.aws_launch_template.app"
	refs   []hcl.Traversal
}

func loadTerraform(t *testing.T, dir string) *tfModule {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no .tf files in %s (%v)", dir, err)
	}
	m := &tfModule{vars: map[string]bool{}, locals: map[string]bool{}, blocks: map[string]*hclsyntax.Block{}}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		file, diags := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatalf("parsing %s: %s", f, diags.Error())
		}
		body := file.Body.(*hclsyntax.Body)
		for _, b := range body.Blocks {
			switch b.Type {
			case "variable":
				m.vars[b.Labels[0]] = true
			case "locals":
				for name := range b.Body.Attributes {
					m.locals[name] = true
				}
			case "data", "resource":
				m.blocks[b.Type+"."+strings.Join(b.Labels, ".")] = b
			}
		}
		// Every expression in the file, however deeply nested.
		diags = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
			if e, ok := n.(hclsyntax.Expression); ok {
				m.refs = append(m.refs, e.Variables()...)
			}
			return nil
		})
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
	}
	return m
}

func TestTerraformReferencesAreDeclared(t *testing.T) {
	m := loadTerraform(t, terraformDir)
	for _, want := range []string{"ami_id", "ami_ids", "ami_fingerprint", "ami_owners", "ami_tag_key"} {
		if !m.vars[want] {
			t.Errorf("variable %q is not declared; the README's three ways need it", want)
		}
	}
	used := map[string]bool{}
	for _, tr := range m.refs {
		root := tr.RootName()
		attr := func(i int) string {
			if len(tr) <= i {
				return ""
			}
			if a, ok := tr[i].(hcl.TraverseAttr); ok {
				return a.Name
			}
			return ""
		}
		switch root {
		case "var":
			used[attr(1)] = true
			if !m.vars[attr(1)] {
				t.Errorf("%s: var.%s is not declared", tr.SourceRange(), attr(1))
			}
		case "local":
			if !m.locals[attr(1)] {
				t.Errorf("%s: local.%s is not declared", tr.SourceRange(), attr(1))
			}
		case "data":
			if m.blocks["data."+attr(1)+"."+attr(2)] == nil {
				t.Errorf("%s: data.%s.%s is not declared", tr.SourceRange(), attr(1), attr(2))
			}
		}
	}
	for v := range m.vars {
		if !used[v] {
			t.Errorf("variable %q is declared but never used", v)
		}
	}
}

func TestTerraformAMILookupHasOwners(t *testing.T) {
	m := loadTerraform(t, terraformDir)
	n := 0
	for name, b := range m.blocks {
		if !strings.HasPrefix(name, "data.aws_ami.") {
			continue
		}
		n++
		if _, ok := b.Body.Attributes["owners"]; !ok {
			t.Errorf("%s has no owners: a lookup by tag alone accepts any account's AMI", name)
		}
		var filters []string
		for _, f := range b.Body.Blocks {
			if f.Type != "filter" {
				continue
			}
			if a, ok := f.Body.Attributes["name"]; ok {
				r := a.Expr.Range()
				src, _ := os.ReadFile(r.Filename)
				filters = append(filters, string(r.SliceBytes(src)))
			}
		}
		if !slices.ContainsFunc(filters, func(s string) bool { return strings.Contains(s, "tag:${var.ami_tag_key}") }) {
			t.Errorf("%s does not filter on the fingerprint tag (filters: %v)", name, filters)
		}
	}
	if n == 0 {
		t.Error(`no data "aws_ami" in the Terraform example`)
	}
}

// terraform returns a function running terraform in a copy of the example,
// or skips the test: it needs Terraform on PATH and an AWS provider in a
// local mirror (TF_PROVIDER_MIRROR, or /opt/tf-plugins), since there is no
// registry to download from. extra files are added to the copy.
//
// This is the one tool that is skipped under CI too (not testenv.Missing):
// neither Terraform nor the provider can be installed from the registries
// CI reaches (Debian, the Go module proxy, npm), so CI runs these tests only
// on machines that come with them. TestTerraformReferencesAreDeclared and
// TestTerraformAMILookupHasOwners check the example's HCL without Terraform
// either way.
func terraform(t *testing.T, extra map[string]string) (dir string, run func(args ...string) string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short")
	}
	tf, err := exec.LookPath("terraform")
	if err != nil {
		t.Skip("terraform is not installed; the HCL checks ran")
	}
	mirror := os.Getenv("TF_PROVIDER_MIRROR")
	if mirror == "" {
		mirror = "/opt/tf-plugins"
	}
	if _, err := os.Stat(filepath.Join(mirror, "registry.terraform.io", "hashicorp", "aws")); err != nil {
		t.Skipf("no AWS provider in a local mirror (%s); set TF_PROVIDER_MIRROR", mirror)
	}
	dir = t.TempDir()
	copyTree(t, terraformDir, dir)
	for name, data := range extra {
		writeFile(t, filepath.Join(dir, name), data)
	}
	rc := filepath.Join(t.TempDir(), "terraformrc")
	writeFile(t, rc, `provider_installation {
  filesystem_mirror {
    path    = "`+mirror+`"
    include = ["registry.terraform.io/hashicorp/*"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/*"]
  }
}
`)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TF_CLI_CONFIG_FILE=" + rc, "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1"}
	run = func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, tf, args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	run("init", "-backend=false", "-input=false", "-no-color")
	return dir, run
}

func TestTerraformValidate(t *testing.T) {
	_, tf := terraform(t, nil)
	tf("fmt", "-check", "-diff", "-recursive")
	tf("validate", "-no-color")
}

// TestAMIDefinition loads the example's template the way ami-bakery does.
func TestAMIDefinition(t *testing.T) {
	tmpl := filepath.Join(terraformDir, "ami", "packer", "ami.json")
	tp, err := packer.LoadTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"config_checksum", "aws_region", "aws_subnet_id", "aws_ec2_endpoint"} {
		if !tp.Declares(v) {
			t.Errorf("%s does not declare %q, which ami-bakery passes", tmpl, v)
		}
	}
	if len(tp.AmazonSources()) == 0 {
		t.Errorf("%s has no amazon builder", tmpl)
	}
	var raw struct {
		Builders []struct {
			Tags            map[string]string `json:"tags"`
			SourceAMIFilter struct {
				Owners []string `json:"owners"`
			} `json:"source_ami_filter"`
		} `json:"builders"`
	}
	b, _ := os.ReadFile(tmpl)
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, bl := range raw.Builders {
		if bl.Tags["ami_config_checksum"] != "{{user `config_checksum`}}" {
			t.Errorf("the builder does not tag the AMI with the fingerprint: tags %v", bl.Tags)
		}
		if len(bl.SourceAMIFilter.Owners) == 0 {
			t.Error("source_ami_filter has no owners")
		}
	}
	res, err := fingerprint.Compute(context.Background(), fingerprint.Spec{Template: tmpl, Dirs: []string{filepath.Join(terraformDir, "ami")}})
	if err != nil {
		t.Fatalf("fingerprinting the example: %v", err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(res.Sum) {
		t.Errorf("fingerprint %q", res.Sum)
	}
}

// --- YAML ----------------------------------------------------------------

// loadYAML returns the file as JSON-decoded values, converted by PyYAML
// (the python3 on PATH, or Debian's /usr/bin/python3 with python3-yaml,
// which scripts/ensure-deps.sh installs), or calls testenv.Missing.
func loadYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	var pys []string
	if py, err := exec.LookPath("python3"); err == nil {
		pys = append(pys, py)
	}
	pys = append(pys, "/usr/bin/python3")
	for _, py := range pys {
		if out, ok := yamlToJSON(t, py, path); ok {
			var v map[string]any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			return v
		}
	}
	testenv.Missing(t, "no python3 with PyYAML: YAML structure not checked (the line checks ran)")
	return nil
}

// yamlToJSON converts the YAML file at path to JSON with py; ok is false
// when py does not run or has no PyYAML.
func yamlToJSON(t *testing.T, py, path string) (out []byte, ok bool) {
	t.Helper()
	cmd := exec.Command(py, "-c", `import json, sys
try:
    import yaml
except ImportError:
    sys.exit(3)
with open(sys.argv[1]) as f:
    json.dump(yaml.safe_load(f), sys.stdout)`, path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.ExitCode() == 3, errors.Is(err, fs.ErrNotExist):
		return nil, false
	case err != nil:
		t.Fatalf("%s is not valid YAML: %v\n%s", path, err, stderr.String())
	}
	return out, true
}

// get walks maps by keys: get(v, "jobs", "bake", "steps").
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { l, _ := v.([]any); return l }

// TestYAMLLines runs without any YAML parser: no tab in indentation, and the
// top-level keys each file must have.
func TestYAMLLines(t *testing.T) {
	for file, keys := range map[string][]string{
		actionFile:   {"name", "description", "inputs", "outputs", "runs"},
		workflowFile: {"name", "on", "permissions", "jobs"},
		gitlabFile:   {"stages", "bake", "deploy"},
		circleFile:   {"version", "jobs", "workflows"},
		projectFlow:  {"name", "on", "permissions", "jobs"},
		projectLab:   {"stages", "plan", "bake"},
		projectLabDf: {"default"},
		goreleaser:   {"version", "builds", "archives", "checksum", "dockers_v2"},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		top := map[string]bool{}
		for i, line := range strings.Split(string(b), "\n") {
			indent := line[:len(line)-len(strings.TrimLeft(line, " \t"))]
			if strings.Contains(indent, "\t") {
				t.Errorf("%s:%d: tab in indentation", file, i+1)
			}
			if m := regexp.MustCompile(`^([A-Za-z_.][A-Za-z0-9_.-]*):`).FindStringSubmatch(line); m != nil {
				if top[m[1]] {
					t.Errorf("%s:%d: top-level key %q twice", file, i+1, m[1])
				}
				top[m[1]] = true
			}
		}
		for _, k := range keys {
			if !top[k] {
				t.Errorf("%s: no top-level %q", file, k)
			}
		}
	}
}

// bakeFlags returns the long flags of `ami-bakery bake --help`.
func bakeFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := buildCLI(t)
	out, err := exec.Command(bin, "bake", "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("ami-bakery bake --help: %v\n%s", err, out)
	}
	flags := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z][a-z0-9-]*)`).FindAllStringSubmatch(string(out), -1) {
		flags[m[1]] = true
	}
	if len(flags) < 10 {
		t.Fatalf("could not read the flags from:\n%s", out)
	}
	return flags
}

var cliBin string

// buildCLI builds ami-bakery once per test binary.
func buildCLI(t *testing.T) string {
	t.Helper()
	if cliBin != "" {
		return cliBin
	}
	goBin := testenv.Command(t, "go", "needed to build ami-bakery")
	dir, err := os.MkdirTemp("", "examples-test-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "ami-bakery")
	cmd := exec.Command(goBin, "build", "-o", bin, "../cmd/ami-bakery")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cliBin = bin
	return bin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cliBin != "" {
		os.RemoveAll(filepath.Dir(cliBin))
	}
	os.Exit(code)
}

func TestActionMetadata(t *testing.T) {
	a := loadYAML(t, actionFile)
	if got := str(get(a, "runs", "using")); got != "composite" {
		t.Fatalf("runs.using = %q, want composite", got)
	}
	inputs, _ := get(a, "inputs").(map[string]any)
	for _, want := range []string{"template", "dirs", "region", "regions", "owners", "algorithm", "var", "var-file",
		"subnet-id", "tag-key", "fingerprint-var", "only", "on-error", "tfvars-file", "output-file", "role-arn",
		"lookup", "lock", "ignore-file", "wait-timeout", "working-directory", "version", "packer-version"} {
		if inputs[want] == nil {
			t.Errorf("no input %q", want)
		}
	}
	for name, in := range inputs {
		if str(get(in, "description")) == "" {
			t.Errorf("input %q has no description", name)
		}
	}
	for _, out := range []string{"ami-id", "amis", "fingerprint", "action"} {
		want := "${{ steps.bake.outputs." + out + " }}"
		if got := str(get(a, "outputs", out, "value")); got != want {
			t.Errorf("output %q = %q, want %q (the names the CLI writes to GITHUB_OUTPUT)", out, got, want)
		}
	}
	used := map[string]bool{}
	for i, s := range list(get(a, "runs", "steps")) {
		run := str(get(s, "run"))
		if run != "" {
			if str(get(s, "shell")) != "bash" {
				t.Errorf("step %d: a composite run step needs shell: bash", i)
			}
			if strings.Contains(run, "${{") {
				t.Errorf("step %d: an expression inside run: is pasted into the script (injection); pass it through env:", i)
			}
		}
		b, _ := json.Marshal(s)
		for _, m := range regexp.MustCompile(`inputs\.([a-z0-9-]+)`).FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
			if inputs[m[1]] == nil {
				t.Errorf("step %d uses undeclared input %q", i, m[1])
			}
		}
	}
	for name := range inputs {
		if !used[name] {
			t.Errorf("input %q is declared but no step uses it", name)
		}
	}
}

// actionStep returns the run script and env of the step with the id.
func actionStep(t *testing.T, id string) (string, map[string]any) {
	t.Helper()
	a := loadYAML(t, actionFile)
	for _, s := range list(get(a, "runs", "steps")) {
		if str(get(s, "id")) == id {
			env, _ := get(s, "env").(map[string]any)
			return str(get(s, "run")), env
		}
	}
	t.Fatalf("action.yml has no step %q", id)
	return "", nil
}

// runStep runs a step's script with bash, the given env on top of a minimal
// one. It returns stdout+stderr and the GITHUB_OUTPUT file's contents.
func runStep(t *testing.T, script, dir string, env map[string]string) (string, string, error) {
	t.Helper()
	bash := testenv.Command(t, "bash", "the action's steps are bash")
	tmp := t.TempDir()
	ghOut := filepath.Join(tmp, "github_output")
	writeFile(t, ghOut, "")
	cmd := exec.Command(bash, "-e", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "GITHUB_OUTPUT=" + ghOut, "RUNNER_TEMP=" + tmp,
		"GOCACHE=" + goEnv(t, "GOCACHE"), "GOMODCACHE=" + goEnv(t, "GOMODCACHE"), "GOTOOLCHAIN=local"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	gh, _ := os.ReadFile(ghOut)
	return string(out), string(gh), err
}

func goEnv(t *testing.T, name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// TestActionBakeStep runs the bake step with a stub ami-bakery that records
// its arguments, and checks every flag against the real CLI's.
func TestActionBakeStep(t *testing.T) {
	script, env := actionStep(t, "bake")
	for k := range env {
		if !strings.HasPrefix(k, "IN_") && k != "AMI_BAKERY" {
			t.Errorf("unexpected env %s", k)
		}
	}
	dir := t.TempDir()
	argsFile := filepath.Join(dir, "args")
	stub := filepath.Join(dir, "ami-bakery")
	writeFile(t, stub, "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > \""+argsFile+"\"\necho ami-0123456789abcdef0\n")
	if err := os.Chmod(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	in := map[string]string{
		"AMI_BAKERY":         stub,
		"IN_TEMPLATE":        "ami/packer/ami.json",
		"IN_DIRS":            "ami\nscripts, shared\n",
		"IN_REGION":          "us-east-1",
		"IN_REGIONS":         "eu-west-1,  eu-central-1",
		"IN_OWNERS":          "111122223333\n444455556666",
		"IN_ALGORITHM":       "v2",
		"IN_VAR":             "instance_type=t3.small\ngreeting=hello, world\n\n",
		"IN_VAR_FILE":        "vars/common.json\nvars/prod.json",
		"IN_SUBNET_ID":       "subnet-0123",
		"IN_TAG_KEY":         "ami_config_checksum",
		"IN_FINGERPRINT_VAR": "config_checksum",
		"IN_ONLY":            "amazon-ebs",
		"IN_ON_ERROR":        "abort",
		"IN_OUTPUT_FILE":     "none",
		"IN_TFVARS_FILE":     "terraform/ami.auto.tfvars.json",
		"IN_WAIT_TIMEOUT":    "30m",
		"IN_IGNORE_FILE":     ".bakeryignore",
		"IN_LOOKUP":          "tag",
		"IN_ROLE_ARN":        "arn:aws:iam::111122223333:role/bake",
		"IN_LOCK":            "false",
	}
	for k := range env {
		if _, ok := in[k]; !ok {
			t.Errorf("the test gives no value for %s", k)
		}
	}
	out, _, err := runStep(t, script, dir, in)
	if err != nil {
		t.Fatalf("bake step: %v\n%s", err, out)
	}
	if strings.TrimSpace(out) != "ami-0123456789abcdef0" {
		t.Errorf("output %q: the step must pass the CLI's stdout through", out)
	}
	b, err := os.ReadFile(argsFile)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	want := []string{"bake", "--template", "ami/packer/ami.json",
		"--dir", "ami", "--dir", "scripts", "--dir", "shared",
		"--regions", "eu-west-1", "--regions", "eu-central-1",
		"--owner", "111122223333", "--owner", "444455556666",
		"--var", "instance_type=t3.small", "--var", "greeting=hello, world",
		"--var-file", "vars/common.json", "--var-file", "vars/prod.json",
		"--only", "amazon-ebs",
		"--region", "us-east-1", "--algorithm", "v2",
		"--ignore-file", ".bakeryignore", "--lookup", "tag", "--role-arn", "arn:aws:iam::111122223333:role/bake", "--lock=false",
		"--subnet-id", "subnet-0123", "--tag-key", "ami_config_checksum", "--fingerprint-var", "config_checksum",
		"--on-error", "abort", "--output-file", "none", "--tfvars-file", "terraform/ami.auto.tfvars.json", "--wait-timeout", "30m"}
	if !slices.Equal(got, want) {
		t.Errorf("argv:\n got %q\nwant %q", got, want)
	}
	flags := bakeFlags(t)
	for _, a := range got {
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			if !flags[name] {
				t.Errorf("the action passes --%s, which ami-bakery bake does not have", name)
			}
		}
	}

	// Only the template: no empty flags.
	only := map[string]string{}
	for k := range in {
		only[k] = ""
	}
	only["AMI_BAKERY"], only["IN_TEMPLATE"] = stub, "t.json"
	if out, _, err := runStep(t, script, dir, only); err != nil {
		t.Fatalf("bake step with defaults: %v\n%s", err, out)
	}
	b, _ = os.ReadFile(argsFile)
	if got := strings.Fields(string(b)); !slices.Equal(got, []string{"bake", "--template", "t.json"}) {
		t.Errorf("with empty inputs argv = %q", got)
	}
}

// TestActionBakeStepSignal cancels the bake step as GitHub cancels a
// workflow, with SIGINT to the step's process alone: ami-bakery must get it
// (the step execs it), not a bash that waits for its child to finish.
func TestActionBakeStepSignal(t *testing.T) {
	script, env := actionStep(t, "bake")
	bash := testenv.Command(t, "bash", "the action's steps are bash")
	dir := t.TempDir()
	stub := filepath.Join(dir, "ami-bakery")
	writeFile(t, stub, "#!/bin/sh\ntrap 'echo INT > \"$STUB_DIR/signal\"; exit 130' INT\n"+
		"echo $$ > \"$STUB_DIR/started\"\nwhile :; do sleep 0.05; done\n")
	if err := os.Chmod(stub, 0o755); err != nil {
		t.Fatal(err)
	}
	// As GitHub runs a bash step: the script in a file. (bash -c would exec
	// a last simple command by itself and hide a missing exec.)
	scriptFile := filepath.Join(dir, "step.sh")
	writeFile(t, scriptFile, script)
	cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", scriptFile)
	cmd.Dir = dir
	for k := range env {
		cmd.Env = append(cmd.Env, k+"=") // set -u: every input is set, if empty
	}
	cmd.Env = append(cmd.Env, "PATH="+os.Getenv("PATH"), "AMI_BAKERY="+stub, "IN_TEMPLATE=t.json", "STUB_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var started []byte
	for deadline := time.Now().Add(10 * time.Second); len(started) == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the stub ami-bakery never started; the step printed:\n%s", out.String())
		}
		started, _ = os.ReadFile(filepath.Join(dir, "started"))
	}
	if pid := strings.TrimSpace(string(started)); pid != strconv.Itoa(cmd.Process.Pid) {
		t.Errorf("ami-bakery runs as pid %s under the step's pid %d: the step must exec it", pid, cmd.Process.Pid)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 {
			t.Errorf("step ended with %v, want exit status 130 from ami-bakery", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SIGINT to the step did not reach ami-bakery within 10s")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "signal")); strings.TrimSpace(string(b)) != "INT" {
		t.Errorf("ami-bakery did not see the SIGINT (recorded %q)", b)
	}
}

// TestActionEndToEnd runs the bake step with the real CLI and packer against
// the EC2 emulator, twice: the outputs action.yml maps must be the ones the
// CLI writes to GITHUB_OUTPUT, and the summary must be written.
func TestActionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs packer")
	}
	packerBin := testenv.Command(t, "packer", "scripts/ensure-deps.sh installs it")
	script, env := actionStep(t, "bake")
	srv := awsemu.NewTestServer(t, awsemu.Options{PendingDelay: 300 * time.Millisecond})

	const account = "111122223333"
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "ami", "packer"), 0o755); err != nil {
		t.Fatal(err)
	}
	// What packer 1.6.6 needs against the emulator: see scripts/image-test.sh.
	writeFile(t, filepath.Join(dir, "ami", "packer", "ami.json"), `{
  "variables": {"config_checksum": "", "aws_region": "", "aws_subnet_id": "", "aws_ec2_endpoint": ""},
  "builders": [{
    "type": "amazon-ebs",
    "region": "{{user `+"`aws_region`"+`}}",
    "subnet_id": "{{user `+"`aws_subnet_id`"+`}}",
    "custom_endpoint_ec2": "{{user `+"`aws_ec2_endpoint`"+`}}",
    "skip_credential_validation": true,
    "skip_region_validation": true,
    "source_ami": "`+awsemu.SeedImageID("us-east-1", awsemu.SeedDebian)+`",
    "instance_type": "t3.micro",
    "communicator": "none",
    "ami_name": "action-{{user `+"`config_checksum`"+`}}",
    "tags": {"ami_config_checksum": "{{user `+"`config_checksum`"+`}}"}
  }]
}`)
	in := map[string]string{}
	for k := range env {
		in[k] = ""
	}
	summary := filepath.Join(dir, "summary.md")
	for k, v := range map[string]string{
		"AMI_BAKERY":               buildCLI(t),
		"IN_TEMPLATE":              "ami/packer/ami.json",
		"IN_DIRS":                  "ami",
		"IN_REGION":                "us-east-1",
		"IN_SUBNET_ID":             awsemu.DefaultSubnetID(account, "us-east-1"),
		"IN_TFVARS_FILE":           "ami.auto.tfvars.json",
		"AWS_ACCESS_KEY_ID":        "AKIAACTIONTEST" + account,
		"AWS_SECRET_ACCESS_KEY":    "secret",
		"AWS_ENDPOINT_URL_EC2":     srv.URL,
		"AWS_ENDPOINT_URL_STS":     srv.URL, // the caller's account, asked once per run
		"AWS_POLL_DELAY_SECONDS":   "1",
		"AMI_BAKERY_POLL_INTERVAL": "200ms",
		"AMI_BAKERY_PACKER":        packerBin,
		"CHECKPOINT_DISABLE":       "1",
		"GITHUB_STEP_SUMMARY":      summary,
	} {
		in[k] = v
	}
	outputs := func(gh string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(gh), "\n") {
			k, v, _ := strings.Cut(l, "=")
			m[k] = v
		}
		return m
	}
	a := loadYAML(t, actionFile)
	var first map[string]string
	for i, wantAction := range []string{"built", "reused"} {
		out, gh, err := runStep(t, script, dir, in)
		if err != nil {
			t.Fatalf("bake %d: %v\n%s", i+1, err, out)
		}
		got := outputs(gh)
		for name := range get(a, "outputs").(map[string]any) {
			if got[name] == "" {
				t.Errorf("bake %d: the CLI wrote no %q to GITHUB_OUTPUT (it wrote %q)", i+1, name, gh)
			}
		}
		if got["action"] != wantAction {
			t.Errorf("bake %d: action=%q, want %q\n%s", i+1, got["action"], wantAction, out)
		}
		var amis map[string]string
		if err := json.Unmarshal([]byte(got["amis"]), &amis); err != nil || amis["us-east-1"] != got["ami-id"] {
			t.Errorf("bake %d: amis=%q, ami-id=%q (%v)", i+1, got["amis"], got["ami-id"], err)
		}
		if first == nil {
			first = got
		} else if got["ami-id"] != first["ami-id"] || got["fingerprint"] != first["fingerprint"] {
			t.Errorf("bake 2 gave %v, bake 1 %v", got, first)
		}
	}
	tfvars, err := os.ReadFile(filepath.Join(dir, "ami.auto.tfvars.json"))
	if err != nil || !strings.Contains(string(tfvars), `"ami_id": "`+first["ami-id"]+`"`) || !strings.Contains(string(tfvars), `"ami_ids"`) {
		t.Errorf("ami.auto.tfvars.json: %s (%v)", tfvars, err)
	}
	if b, err := os.ReadFile(summary); err != nil || !strings.Contains(string(b), first["ami-id"]) {
		t.Errorf("GITHUB_STEP_SUMMARY: %q (%v)", b, err)
	}

	// The Terraform example takes the AMI each of its three ways; the
	// lookup by fingerprint goes to the emulator.
	t.Run("terraform", func(t *testing.T) {
		override := `provider "aws" {
  region                      = var.region
  access_key                  = "AKIATFTEST` + account + `"
  secret_key                  = "secret"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = 1
  endpoints {
    ec2 = "` + srv.URL + `"
  }
}
`
		imageID := regexp.MustCompile(`\+ image_id\s+= "(ami-[0-9a-f]+)"`)
		for _, way := range []struct {
			name  string
			files map[string]string
			args  []string
		}{
			{"-var ami_id", nil, []string{"-var", "ami_id=" + first["ami-id"]}},
			{"ami.auto.tfvars.json", map[string]string{"ami.auto.tfvars.json": string(tfvars)}, nil},
			{"data aws_ami", nil, []string{"-var", "ami_fingerprint=" + first["fingerprint"]}},
		} {
			files := map[string]string{"provider_override.tf": override}
			for k, v := range way.files {
				files[k] = v
			}
			_, tf := terraform(t, files)
			out := tf(append([]string{"plan", "-input=false", "-no-color", "-lock=false"}, way.args...)...)
			if m := imageID.FindStringSubmatch(out); m == nil || m[1] != first["ami-id"] {
				t.Errorf("%s: the launch template's image_id is not %s:\n%s", way.name, first["ami-id"], out)
			}
		}
	})
}

// TestActionInstallStep runs the install step for version: path and
// version: source (the action's own code, built with Go), and a bad version.
func TestActionInstallStep(t *testing.T) {
	script, _ := actionStep(t, "install")
	bin := buildCLI(t)
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}

	t.Run("path", func(t *testing.T) {
		out, gh, err := runStep(t, script, t.TempDir(), map[string]string{
			"VERSION": "path", "PATH": filepath.Dir(bin) + ":" + os.Getenv("PATH")})
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if strings.TrimSpace(gh) != "bin="+bin {
			t.Errorf("GITHUB_OUTPUT = %q, want bin=%s", gh, bin)
		}
	})
	t.Run("bad version", func(t *testing.T) {
		out, _, err := runStep(t, script, t.TempDir(), map[string]string{"VERSION": "1.2"})
		if err == nil || !strings.Contains(out, "::error title=ami-bakery::invalid version input") {
			t.Errorf("err = %v, output:\n%s", err, out)
		}
	})
	t.Run("source", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: builds ami-bakery")
		}
		out, gh, err := runStep(t, script, t.TempDir(), map[string]string{
			"VERSION": "", "ACTION_REF": "main", "ACTION_PATH": repo})
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, "ami-bakery main") {
			t.Errorf("the step should print the built version, got:\n%s", out)
		}
		if !strings.HasPrefix(gh, "bin=") {
			t.Errorf("GITHUB_OUTPUT = %q", gh)
		}
	})
}

func TestWorkflowExample(t *testing.T) {
	w := loadYAML(t, workflowFile)
	a := loadYAML(t, actionFile)
	inputs, _ := get(a, "inputs").(map[string]any)
	// PyYAML reads the key on as true (YAML 1.1).
	if get(w, "on") == nil && get(w, "true") == nil {
		t.Error("no on:")
	}
	jobs, _ := get(w, "jobs").(map[string]any)
	bake, deploy := jobs["bake"], jobs["deploy"]
	if bake == nil || deploy == nil {
		t.Fatalf("want jobs bake and deploy, have %v", keys(jobs))
	}
	if str(get(deploy, "needs")) != "bake" {
		t.Errorf("deploy needs %v, want bake", get(deploy, "needs"))
	}
	for name, job := range jobs {
		if str(get(job, "permissions", "id-token")) != "write" {
			t.Errorf("job %s: permissions id-token: write is needed for OIDC", name)
		}
		var oidc bool
		for _, s := range list(get(job, "steps")) {
			if strings.HasPrefix(str(get(s, "uses")), "aws-actions/configure-aws-credentials@") {
				oidc = str(get(s, "with", "role-to-assume")) != ""
			}
		}
		if !oidc {
			t.Errorf("job %s: no configure-aws-credentials with role-to-assume", name)
		}
	}
	var baked, applied bool
	for _, s := range list(get(bake, "steps")) {
		if strings.HasPrefix(str(get(s, "uses")), "ami-bakery/ami-bakery@") {
			baked = true
			if str(get(s, "id")) != "bake" {
				t.Error("the ami-bakery step needs id: bake for the job outputs")
			}
			with, _ := get(s, "with").(map[string]any)
			for k := range with {
				if inputs[k] == nil {
					t.Errorf("the workflow passes %q, which action.yml does not declare", k)
				}
			}
			for k, in := range inputs {
				if get(in, "required") == true && with[k] == nil {
					t.Errorf("the workflow does not pass the required input %q", k)
				}
			}
		}
	}
	for _, s := range list(get(deploy, "steps")) {
		if strings.Contains(str(get(s, "run")), "terraform apply") {
			applied = true
		}
	}
	if !baked || !applied {
		t.Errorf("bake job uses the action: %v; deploy job runs terraform apply: %v", baked, applied)
	}
	for name, job := range jobs {
		for i, s := range list(get(job, "steps")) {
			if strings.Contains(str(get(s, "run")), "${{") {
				t.Errorf("job %s, step %d: an expression inside run: is pasted into the script (injection); pass it through env:", name, i)
			}
		}
	}
	for _, out := range []string{"ami-id", "amis", "action"} {
		if got := str(get(bake, "outputs", out)); got != "${{ steps.bake.outputs."+out+" }}" {
			t.Errorf("bake job output %s = %q", out, got)
		}
	}
}

func TestGitLabExample(t *testing.T) {
	g := loadYAML(t, gitlabFile)
	stages := list(get(g, "stages"))
	if len(stages) != 2 || stages[0] != "bake" || stages[1] != "deploy" {
		t.Errorf("stages = %v, want [bake deploy]", stages)
	}
	script := strings.Join(strs(list(get(g, "bake", "script"))), "\n")
	if !strings.Contains(script, "ami-bakery bake") {
		t.Errorf("the bake job does not run ami-bakery bake:\n%s", script)
	}
	tfvars := regexp.MustCompile(`--tfvars-file (\S+)`).FindStringSubmatch(script)
	if tfvars == nil {
		t.Fatal("the bake job writes no tfvars file")
	}
	if !slices.Contains(strs(list(get(g, "bake", "artifacts", "paths"))), tfvars[1]) {
		t.Errorf("the bake job does not keep %s as an artifact", tfvars[1])
	}
	if ep := list(get(g, "bake", "image", "entrypoint")); len(ep) != 1 || str(ep[0]) != "" {
		t.Error("the image's entrypoint is ami-bakery; GitLab needs entrypoint: [\"\"]")
	}
	needs := list(get(g, "deploy", "needs"))
	if len(needs) != 1 || str(get(needs[0], "job")) != "bake" {
		t.Errorf("deploy needs %v, want the bake job", needs)
	}
	if str(get(g, "deploy", "stage")) != "deploy" || str(get(g, "bake", "stage")) != "bake" {
		t.Error("jobs in the wrong stages")
	}
}

func TestCircleCIExample(t *testing.T) {
	c := loadYAML(t, circleFile)
	if v, _ := get(c, "version").(float64); v != 2.1 {
		t.Errorf("version %v, want 2.1", get(c, "version"))
	}
	var bakeCmd string
	for _, s := range list(get(c, "jobs", "bake", "steps")) {
		if cmd := str(get(s, "run", "command")); strings.Contains(cmd, "docker run") {
			bakeCmd = cmd
		}
	}
	// The original tool's command line, with its variables and mount.
	for _, want := range []string{"-e PACKER_JSON_PATH=", "-e AMI_DEFINITION_DIRS=", "-e AWS_DEFAULT_REGION",
		"--mount type=bind,source=\"$PWD\",target=/workdir", "--user \"$(id -u):$(id -g)\""} {
		if !strings.Contains(bakeCmd, want) {
			t.Errorf("the bake command lacks %s:\n%s", want, bakeCmd)
		}
	}
	var order []string
	for _, j := range list(get(c, "workflows", "bake-and-deploy", "jobs")) {
		m, _ := j.(map[string]any)
		for name, cfg := range m {
			order = append(order, name)
			if name == "deploy" && !slices.Contains(strs(list(get(cfg, "requires"))), "bake") {
				t.Error("deploy does not require bake")
			}
		}
	}
	if !slices.Equal(order, []string{"bake", "deploy"}) {
		t.Errorf("workflow jobs %v", order)
	}
}

func TestGoreleaserConfig(t *testing.T) {
	g := loadYAML(t, goreleaser)
	if v, _ := get(g, "version").(float64); v != 2 {
		t.Errorf("version: %v, want 2", get(g, "version"))
	}
	builds := list(get(g, "builds"))
	if len(builds) != 1 {
		t.Fatalf("%d builds, want 1", len(builds))
	}
	b := builds[0]
	if !slices.Contains(strs(list(get(b, "env"))), "CGO_ENABLED=0") {
		t.Error("builds are not static: CGO_ENABLED=0 missing")
	}
	if !slices.Contains(strs(list(get(b, "flags"))), "-trimpath") {
		t.Error("-trimpath missing")
	}
	goos, goarch := strs(list(get(b, "goos"))), strs(list(get(b, "goarch")))
	sort.Strings(goos)
	sort.Strings(goarch)
	if !slices.Equal(goos, []string{"darwin", "linux"}) || !slices.Equal(goarch, []string{"amd64", "arm64"}) {
		t.Errorf("goos %v goarch %v", goos, goarch)
	}
	ld := strings.Join(strs(list(get(b, "ldflags"))), " ")
	for _, x := range []string{"-X main.version=", "-X main.commit=", "-X main.date="} {
		if !strings.Contains(ld, x) {
			t.Errorf("ldflags lack %s: %s", x, ld)
		}
	}
	if get(g, "checksum") == nil {
		t.Error("no checksum")
	}
	// action.yml downloads ami-bakery_<os>_<arch>.tar.gz and checksums.txt.
	if got := str(get(list(get(g, "archives"))[0], "name_template")); got != "{{ .ProjectName }}_{{ .Os }}_{{ .Arch }}" {
		t.Errorf("archive name_template %q does not match what action.yml downloads", got)
	}
	if got := str(get(g, "checksum", "name_template")); got != "checksums.txt" {
		t.Errorf("checksum name %q does not match what action.yml downloads", got)
	}
	d := list(get(g, "dockers_v2"))
	if len(d) != 1 || str(get(d[0], "build_args", "BINARY")) != "context" {
		t.Error("the image must be built from the release binaries: dockers_v2 with build_args BINARY: context")
	}
}

// TestDockerfile checks what the image promises, line by line.
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, re := range []string{
		`(?m)^ARG PACKER_IMAGE=hashicorp/packer:\$\{PACKER_VERSION\}$`,
		`(?m)^ARG PACKER_VERSION=\d+\.\d+\.\d+$`,
		`(?m)^ARG BINARY=source$`,
		`(?m)^FROM binary-\$\{BINARY\} AS binary$`,
		`(?m)^FROM \$\{PACKER_IMAGE\}$`,
		`CGO_ENABLED=0 `,
		`go build -trimpath`,
		`-X main\.version=\$\{VERSION\} -X main\.commit=\$\{COMMIT\} -X main\.date=\$\{DATE\}`,
		`(?m)^COPY \$\{TARGETPLATFORM\}/ami-bakery /out/ami-bakery$`,
		`packer plugins install github.com/hashicorp/amazon`,
		// Root by default, as the original image ran, with credentials in
		// /root/.aws; HOME is the same, and writable, for any --user
		// (issue 16).
		`(?m)^USER 0:0$`,
		`(?m)^ENV HOME=/root `,
		`chmod 1777 /tmp "\$HOME" "\$PACKER_PLUGIN_PATH"`,
		`(?m)^WORKDIR /workdir$`,
		`(?m)^ENTRYPOINT \["ami-bakery"\]$`,
	} {
		if !regexp.MustCompile(re).MatchString(df) {
			t.Errorf("Dockerfile does not match %s", re)
		}
	}
}

// --- helpers -------------------------------------------------------------

func strs(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, str(v))
	}
	return out
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files of src into dst, skipping Terraform's
// state and data directories.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, _ := d.Info()
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
}
