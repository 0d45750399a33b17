package project

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

// DefaultTestTimeout is a test's timeout when its block sets none.
const DefaultTestTimeout = 30 * time.Minute

// maxTestName bounds a test's name: its result's tags are named
// "ami-bakery:test:NAME:fingerprint", and an EC2 tag key has at most 128
// characters.
const maxTestName = 128 - len("ami-bakery:test:") - len(":fingerprint")

// Test is a test block of an image or of defaults (which applies to every
// image): a check run against the image's current AMI by `ami-bakery test`,
// with a fingerprint of its own (its template or command, its directories
// and its variables, not the image's):
//
//	test "boot" {
//	  template = "tests/boot.pkr.hcl"   # or command = ["./tests/check.sh"]
//	  dirs     = ["tests"]
//	  timeout  = "20m"
//	}
//
// An image's test of the same name as a default's replaces it.
type Test struct {
	Name string
	// Template is a packer template (absolute), run with the AMI as its
	// source and skip_create_ami; Command is a program and its arguments,
	// run from the project file's directory. Exactly one is set.
	Template string
	Command  []string
	Dirs     []string          // absolute
	Vars     map[string]string // packer -var values (a template test)
	Var      string            // the template variable receiving the AMI id
	Timeout  time.Duration
	Range    hcl.Range // the test block
}

// testBlock is a test block as written.
type testBlock struct {
	Template string
	Command  []string
	Dirs     []string
	Vars     map[string]string
	Var      string
	Timeout  string
}

// decodeTests reads the test blocks among blocks, paths relative to dir.
func decodeTests(blocks hcl.Blocks, dir string) ([]*Test, hcl.Diagnostics) {
	var out []*Test
	for _, b := range blocks {
		if b.Type != "test" {
			continue
		}
		name := b.Labels[0]
		if !imageName().MatchString(name) || len(name) > maxTestName {
			return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "invalid test name %q; use at most %d letters, digits, '.', '_' and '-', starting with a letter or digit", name, maxTestName)}
		}
		if i := slices.IndexFunc(out, func(t *Test) bool { return t.Name == name }); i >= 0 {
			return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "duplicate test %q; it is first declared at %s", name, out[i].Range)}
		}
		var tb testBlock
		content, d := decodeBody(b.Body, nil,
			field{name: "template", to: &tb.Template},
			field{name: "command", to: &tb.Command},
			field{name: "dirs", to: &tb.Dirs},
			field{name: "vars", to: &tb.Vars},
			field{name: "var", to: &tb.Var},
			field{name: "timeout", to: &tb.Timeout},
		)
		if d.HasErrors() {
			return nil, d
		}
		t := &Test{Name: name, Command: tb.Command, Vars: tb.Vars, Var: tb.Var, Timeout: DefaultTestTimeout, Range: b.DefRange}
		switch {
		case tb.Template != "" && len(tb.Command) > 0:
			return nil, hcl.Diagnostics{errorAt(b.DefRange, "test %q sets both template and command; give one of them", name)}
		case tb.Template == "" && len(tb.Command) == 0:
			return nil, hcl.Diagnostics{errorAt(b.DefRange, "test %q has neither template nor command; set template = \"PATH\" (a packer template) or command = [\"PROGRAM\", ...]", name)}
		case len(tb.Command) > 0 && tb.Command[0] == "":
			return nil, hcl.Diagnostics{errorAt(content.Attributes["command"].Range, "test %q: the command's program is empty", name)}
		case len(tb.Command) > 0 && (len(tb.Vars) > 0 || tb.Var != ""):
			a := content.Attributes["vars"]
			if a == nil {
				a = content.Attributes["var"]
			}
			return nil, hcl.Diagnostics{errorAt(a.Range, "test %q: vars and var are for a template test; a command test gets AMI_ID, REGION and IMAGE in its environment", name)}
		}
		if tb.Template != "" {
			t.Template = abs(dir, tb.Template)
			t.Var = tb.Var
			if t.Var == "" {
				t.Var = DefaultParentVar
			}
			if _, ok := t.Vars[t.Var]; ok {
				return nil, hcl.Diagnostics{errorAt(content.Attributes["vars"].Range, "test %q: vars sets %s, which ami-bakery sets itself to the AMI under test; remove it", name, t.Var)}
			}
		}
		for _, p := range tb.Dirs {
			t.Dirs = append(t.Dirs, abs(dir, p))
		}
		if a := content.Attributes["timeout"]; a != nil {
			to, err := time.ParseDuration(tb.Timeout)
			if err != nil || to <= 0 {
				return nil, hcl.Diagnostics{errorAt(a.Range, "test %q: invalid timeout %q; give a positive duration such as \"20m\"", name, tb.Timeout)}
			}
			t.Timeout = to
		}
		out = append(out, t)
	}
	return out, nil
}

// mergeTests is an image's tests: the defaults', each replaced by the
// image's own of the same name, then the image's others, in order.
func mergeTests(defs, own []*Test) []*Test {
	var out []*Test
	for _, t := range defs {
		if i := slices.IndexFunc(own, func(o *Test) bool { return o.Name == t.Name }); i >= 0 {
			t = own[i]
		}
		out = append(out, t)
	}
	for _, t := range own {
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}

func abs(dir, p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

// Fingerprint is the test's own fingerprint: its template or command
// line, its dirs (for a template test without dirs, the template's
// directory; for a command whose program is a file, that file's
// directory) and its vars.
func (t *Test) Fingerprint(ctx context.Context, projectDir string) (string, error) {
	spec := fingerprint.Spec{Algorithm: fingerprint.V2, Template: t.Template, Dirs: t.Dirs}
	for _, k := range slices.Sorted(maps.Keys(t.Vars)) {
		spec.Vars = append(spec.Vars, k+"="+t.Vars[k])
	}
	spec.Vars = append(spec.Vars, "ami-bakery-test-var="+t.Var)
	if len(t.Command) > 0 {
		line, _ := json.Marshal(t.Command)
		spec.Vars = append(spec.Vars, "ami-bakery-test-command="+string(line))
		if len(spec.Dirs) == 0 && strings.ContainsRune(t.Command[0], '/') {
			prog := t.Command[0]
			if !filepath.IsAbs(prog) {
				prog = filepath.Join(projectDir, prog)
			}
			if fi, err := os.Stat(prog); err == nil && !fi.IsDir() {
				spec.Dirs = []string{filepath.Dir(prog)}
			}
		}
		if len(spec.Dirs) == 0 {
			// The command line alone: a program looked up on PATH.
			spec.Dirs = nil
			return commandOnlySum(spec.Vars), nil
		}
	}
	res, err := fingerprint.Compute(ctx, spec)
	if err != nil {
		return "", err
	}
	return res.Sum, nil
}

// commandOnlySum fingerprints a command test that names no file: its
// command line and vars.
func commandOnlySum(vars []string) string {
	var b strings.Builder
	b.WriteString("ami-bakery test command v1\n")
	for _, v := range vars {
		b.WriteString(strconv.Quote(v) + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
