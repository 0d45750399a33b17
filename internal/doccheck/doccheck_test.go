package doccheck

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestSlug(t *testing.T) {
	for _, tc := range []struct{ heading, want string }{
		{"Many images: bakery.hcl", "many-images-bakeryhcl"},
		{"Why did this rebuild? plan --explain and diff", "why-did-this-rebuild-plan---explain-and-diff"},
		{"`ami-bakery plan`", "ami-bakery-plan"},
		{"Options inherited from parent commands", "options-inherited-from-parent-commands"},
		{"[Pruning](pruning.md) old AMIs", "pruning-old-amis"},
		{"**Bold** and snake_case", "bold-and-snake_case"},
		{"Accounts, IAM & trust", "accounts-iam--trust"},
		{"Émigré café 2", "émigré-café-2"},
	} {
		if got := Slug(tc.heading); got != tc.want {
			t.Errorf("Slug(%q) = %q, want %q", tc.heading, got, tc.want)
		}
	}
}

// TestCheckFindsDeadEnds: every kind of dead end is reported, with its line,
// and nothing else is.
func TestCheckFindsDeadEnds(t *testing.T) {
	root := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(ScriptDir+"/bad_input.txtar", "")
	write(ScriptDir+"/bad_input_project.txtar", "")
	write("internal/x/x_test.go", "package x\n\nfunc TestReal(t *testing.T) {}\n")
	write("docs/a.md", "# Page A\n\n## Same\n\n## Same\n\n<a id=\"custom\"></a>\n")
	write("README.md", strings.Join([]string{
		"# Front", // 1
		"[ok](docs/a.md) [ok](docs/a.md#page-a) [ok](docs/a.md#same-1) [ok](docs/a.md#custom) [ok](#front)", // 2
		"[dead](docs/b.md) [dead anchor](docs/a.md#same-2) [self](#nowhere)",                                // 3
		"[ext](https://example.com/x#y) [dir](docs/) [escape](../outside.md)",                               // 4
		"`bad_input.txtar` `bad_input*.txtar` `missing.txtar` `TestReal` `TestGone`",                        // 5
		"`internal/x/x_test.go` `internal/y` `[not](a-link.md)` [`code text`](docs/a.md#page-a)",            // 6
		"```",                                    // 7
		"[in a fence](nowhere.md) `TestInFence`", // 8
		"# Not a heading in a fence",             // 9
		"```",                                    // 10
		"[into a fence](#not-a-heading-in-a-fence)",   // 11
		"[anchor into code](internal/x/x_test.go#L3)", // 12
		"[ref]: docs/missing.md",                      // 13
	}, "\n"))
	files, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", "docs/a.md"}; !slices.Equal(files, want) {
		t.Fatalf("Files = %v, want %v", files, want)
	}
	problems, err := Check(root, files)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"README.md:3: link docs/b.md: docs/b.md does not exist",
		"README.md:3: link docs/a.md#same-2: docs/a.md has no heading with anchor #same-2",
		"README.md:3: link #nowhere: README.md has no heading with anchor #nowhere",
		"README.md:4: link ../outside.md leaves the repository",
		"README.md:11: link #not-a-heading-in-a-fence: README.md has no heading with anchor #not-a-heading-in-a-fence",
		"README.md:12: link internal/x/x_test.go#L3: an anchor into internal/x/x_test.go, which is not markdown",
		"README.md:13: link docs/missing.md: docs/missing.md does not exist",
		"README.md:5: names the script missing.txtar, which " + ScriptDir + " does not hold",
		"README.md:5: names the test TestGone, which no _test.go file defines",
		"README.md:6: names internal/y, which does not exist",
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.String())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// repoRoot is the repository's root, from this package's directory.
const repoRoot = "../.."

// TestRepositoryDocs walks README.md and docs/ as a newcomer would: no link,
// anchor or named test leads nowhere.
func TestRepositoryDocs(t *testing.T) {
	files, err := Files(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	problems, err := Check(repoRoot, files)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestFrontPage: README.md stays a front page (under 200 lines), gives the
// two commands CI runs, and links every topic page of docs/ and the
// command reference.
func TestFrontPage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	if n := strings.Count(readme, "\n"); n >= 200 {
		t.Errorf("README.md has %d lines; the front page stays under 200 (move detail to docs/)", n)
	}
	for _, cmd := range []string{"make demo", "make test"} {
		if !regexp.MustCompile(`(?m)^` + cmd + `\b`).MatchString(readme) {
			t.Errorf("README.md does not give the command %q at the start of a line", cmd)
		}
	}
	pages, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) == 0 {
		t.Fatal("docs/ holds no topic page")
	}
	pages = append(pages, filepath.Join(repoRoot, "docs", "cli", "ami-bakery.md"))
	for _, p := range pages {
		rel, _ := filepath.Rel(repoRoot, p)
		link := "](" + filepath.ToSlash(rel) + ")"
		if !strings.Contains(readme, link) {
			t.Errorf("README.md does not link %s", filepath.ToSlash(rel))
		}
	}
}
