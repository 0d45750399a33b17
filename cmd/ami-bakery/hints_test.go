package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagRe finds a long flag named in text: "--name", not inside a word, or
// a family of them, "--base-*".
var flagRe = regexp.MustCompile(`(?:^|[^A-Za-z0-9_-])--([a-z][a-z0-9-]*[a-z0-9])(-\*)?`)

// otherCommandRe finds an AWS CLI command line in a hint: the flags after
// it are the CLI's.
var otherCommandRe = regexp.MustCompile(`\baws [a-z0-9-]+ [a-z0-9-]+ `)

// builtFlagRe finds a flag name built by appending to a format verb, such
// as "%s-var" given "--subnet-id" (which made --subnet-id-var, a flag that
// never existed): a hint must name such a flag literally.
var builtFlagRe = regexp.MustCompile(`%[-+# 0-9.\[\]]*[sqv]-[a-z]`)

// TestHintFlagsExist: every flag a hint names exists in some command's flag
// set. The hints are the text of the functions that give one (a call of
// usererr.WithHint, or a "hint" log attribute), of functions and constants
// whose names say hint, in every non-test Go file of cmd/ and internal/.
// Every string literal in them counts, errors included, since an error
// beside a hint tells the user what to type too.
func TestHintFlagsExist(t *testing.T) {
	flags := allFlags(newRootCommand(&env{stdout: io.Discard, stderr: io.Discard, getenv: func(string) (string, bool) { return "", false }}))
	if len(flags) < 20 || !flags["subnet-var"] || !flags["template"] || !flags["help"] {
		t.Fatalf("collected only these flags: %v", flags)
	}
	lits := hintLiterals(t, "../../cmd", "../../internal")
	if len(lits) < 50 {
		t.Fatalf("found only %d hint literals: the scan is broken", len(lits))
	}
	for _, l := range lits {
		text := l.text
		if loc := otherCommandRe.FindStringIndex(text); loc != nil {
			text = text[:loc[0]]
		}
		for _, m := range flagRe.FindAllStringSubmatch(text, -1) {
			if !flagNamed(flags, m[1], m[2] != "") {
				t.Errorf("%s: names --%s%s, which no command has: %q", l.pos, m[1], m[2], l.text)
			}
		}
		if m := builtFlagRe.FindString(l.text); m != "" {
			t.Errorf("%s: builds a flag name with %q; name the flag literally so that this test can check it: %q", l.pos, m, l.text)
		}
	}
}

// flagNamed reports whether flags has name, or with family a flag whose
// name starts with name and "-".
func flagNamed(flags map[string]bool, name string, family bool) bool {
	if !family {
		return flags[name]
	}
	for f := range flags {
		if strings.HasPrefix(f, name+"-") {
			return true
		}
	}
	return false
}

// allFlags returns the long flag names of cmd and its subcommands.
func allFlags(cmd *cobra.Command) map[string]bool {
	out := map[string]bool{}
	var visit func(c *cobra.Command)
	visit = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		c.InitDefaultVersionFlag()
		for _, fs := range []*pflag.FlagSet{c.Flags(), c.PersistentFlags(), c.InheritedFlags()} {
			fs.VisitAll(func(f *pflag.Flag) { out[f.Name] = true })
		}
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(cmd)
	return out
}

type hintLiteral struct {
	pos  string
	text string
}

// hintLiterals parses the non-test Go files under dirs and returns the
// string literals of hint-giving code.
func hintLiterals(t *testing.T, dirs ...string) []hintLiteral {
	t.Helper()
	fset := token.NewFileSet()
	var out []hintLiteral
	add := func(n ast.Node) {
		ast.Inspect(n, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					out = append(out, hintLiteral{fset.Position(lit.Pos()).String(), s})
				}
			}
			return true
		})
	}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "awsemu") {
				return filepath.SkipDir // the emulator speaks AWS, not ami-bakery
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, p, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				switch d := decl.(type) {
				case *ast.FuncDecl:
					if d.Body != nil && (namesHint(d.Name.Name) || givesHint(d.Body)) {
						add(d.Body)
					}
				case *ast.GenDecl:
					for _, spec := range d.Specs {
						if vs, ok := spec.(*ast.ValueSpec); ok && slices.ContainsFunc(vs.Names, func(n *ast.Ident) bool { return namesHint(n.Name) }) {
							add(vs)
						}
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func namesHint(name string) bool { return strings.Contains(strings.ToLower(name), "hint") }

// givesHint reports whether body calls WithHint or passes a "hint"
// attribute.
func givesHint(body *ast.BlockStmt) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			found = found || n.Sel.Name == "WithHint"
		case *ast.BasicLit:
			found = found || n.Value == `"hint"`
		}
		return !found
	})
	return found
}

// TestHintCheckFindsBadFlags: the check above can fail.
func TestHintCheckFindsBadFlags(t *testing.T) {
	flags := map[string]bool{"subnet-var": true, "base-name": true}
	var bad []string
	for _, text := range []string{"name the variable with --subnet-id-var", "use --subnet-var", "see a--b and --x", "the --base-* flags", "the --region-* flags"} {
		for _, m := range flagRe.FindAllStringSubmatch(text, -1) {
			if !flagNamed(flags, m[1], m[2] != "") {
				bad = append(bad, m[1]+m[2])
			}
		}
	}
	if !slices.Equal(bad, []string{"subnet-id-var", "region-*"}) {
		t.Errorf("bad flags found: %q, want --subnet-id-var and --region-* (--x is too short to be a flag)", bad)
	}
	if m := otherCommandRe.FindStringIndex("check: aws ec2 describe-images --owners X"); m == nil || m[0] != 7 {
		t.Errorf("otherCommandRe: %v", m)
	}
	if builtFlagRe.FindString("or name the variable with %s-var") == "" || builtFlagRe.FindString("a %s variable") != "" {
		t.Error("builtFlagRe")
	}
}
