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
