package options

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"unicode"
)

// TestTemplateDir: a directory template is its own directory however it is
// spelled (the bug: "-t dir" took dir's parent as the definition directory
// and as the place of .ami_id.json, "-t dir/" took dir).
func TestTemplateDir(t *testing.T) {
	root := t.TempDir()
	os.Mkdir(filepath.Join(root, "hcl"), 0o755)
	os.WriteFile(filepath.Join(root, "ami.json"), []byte("{}"), 0o644)
	var got []Definition
	for _, tmpl := range []string{"hcl", "hcl/", "hcl//"} {
		d := Definition{Template: filepath.Join(root, tmpl), Algorithm: "v2"}
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	want := filepath.Join(root, "hcl")
	for _, d := range got {
		if d.Template != want || d.TemplateDir() != want || !slices.Equal(d.Dirs, []string{want}) {
			t.Errorf("template %q, dir %q, dirs %q; want all %q", d.Template, d.TemplateDir(), d.Dirs, want)
		}
	}
	f := Definition{Template: filepath.Join(root, "ami.json"), Algorithm: "v2"}
	if err := f.Validate(); err != nil || f.TemplateDir() != root || !slices.Equal(f.Dirs, []string{root}) {
		t.Errorf("file template: dir %q, dirs %q, %v", f.TemplateDir(), f.Dirs, err)
	}
}

// TestTagKeyChars: tagKeyChars accepts what EC2's tag key pattern does,
// rune by rune over all of Unicode, and refuses invalid UTF-8 and "".
func TestTagKeyChars(t *testing.T) {
	re := regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$`)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		s := string(r) + "k"
		if got, want := tagKeyChars(s), re.MatchString(s); got != want {
			t.Errorf("tagKeyChars(%q) = %v, want %v (U+%04X)", s, got, want, r)
		}
	}
	for _, s := range []string{"", "ami_config_checksum", "a\xffb", "\xe2\x82", "Schlüssel Ω 42", "tab\there"} {
		if got, want := tagKeyChars(s), re.MatchString(s); got != want {
			t.Errorf("tagKeyChars(%q) = %v, want %v", s, got, want)
		}
	}
}

// checkers are the loops that stand for patterns, with the patterns.
var checkers = []struct {
	name    string
	check   func(string) bool
	pattern *regexp.Regexp
}{
	{"validRegion", validRegion, regexp.MustCompile(`^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$`)},
	{"validVarName", validVarName, regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)},
}

var checkerSeeds = []string{
	"", "us-east-1", "eu-west-12", "us-gov-west-1", "us-iso-east-1", "us-isob-east-1", "us-isobb-east-1",
	"us-east-123", "us-east-", "us-east", "use-east-1", "u-east-1", "US-east-1", "us-gov-1", "us--east-1",
	"us-east-1-", "-us-east-1", "us-gov-iso-east-1", "us-ISO-east-1", "us-iso1-east-1", "cn-north-1", "ap-southeast-5",
	"source_ami", "_x", "x-y_1", "1x", "-x", "a b", "a.b", "é", "A", "_", "z9-",
}

// TestCheckersAgreeWithPatterns: each loop accepts what its pattern does.
func TestCheckersAgreeWithPatterns(t *testing.T) {
	for _, c := range checkers {
		for _, s := range checkerSeeds {
			if got, want := c.check(s), c.pattern.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the pattern says %v", c.name, s, got, want)
			}
		}
	}
}

func FuzzCheckers(f *testing.F) {
	for _, s := range checkerSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range checkers {
			if got, want := c.check(s), c.pattern.MatchString(s); got != want {
				t.Errorf("%s(%q) = %v, the pattern says %v", c.name, s, got, want)
			}
		}
	})
}
