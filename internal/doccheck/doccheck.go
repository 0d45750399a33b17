// Package doccheck checks the repository's markdown offline, so that a
// newcomer walking the documentation never meets a dead end: every relative
// link and #anchor resolves (anchors as GitHub makes them from headings),
// and every test, script or file a page names as the proof of a promise
// exists. External URLs are never fetched.
//
// Nothing in the binary imports it; its test runs it over README.md and
// docs/ (make docs, make test).
package doccheck

import (
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// ScriptDir is where the CLI scripts a page may name (`NAME.txtar`) live,
// relative to the repository root.
const ScriptDir = "cmd/ami-bakery/testdata/script"

// A Problem is one dead end: a link, anchor or named test that does not
// resolve.
type Problem struct {
	File string // relative to the root, slash-separated
	Line int
	Msg  string
}

func (p Problem) String() string { return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg) }

// Files lists the markdown the newcomer walks: README.md and every .md
// under docs/, relative to root.
func Files(root string) ([]string, error) {
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("listing docs: %w", err)
	}
	slices.Sort(files[1:])
	return files, nil
}

// Check checks files (relative to root, slash-separated) and returns every
// problem found, in file and line order.
func Check(root string, files []string) ([]Problem, error) {
	c := &checker{root: root, anchors: map[string]map[string]bool{}}
	var problems []Problem
	for _, f := range files {
		doc, err := c.parse(f)
		if err != nil {
			return nil, err
		}
		for _, l := range doc.links {
			if msg := c.checkLink(f, l.target); msg != "" {
				problems = append(problems, Problem{File: f, Line: l.line, Msg: msg})
			}
		}
		for _, r := range doc.spans {
			msg, err := c.checkSpan(r.text)
			if err != nil {
				return nil, err
			}
			if msg != "" {
				problems = append(problems, Problem{File: f, Line: r.line, Msg: msg})
			}
		}
	}
	return problems, nil
}

type checker struct {
	root    string
	anchors map[string]map[string]bool // by file, relative to root
	tests   map[string]bool            // Test, Fuzz and Benchmark functions; read once
}

type ref struct {
	line   int
	target string // a link's target
	text   string // a code span's text
}

type document struct {
	anchors map[string]bool
	links   []ref
	spans   []ref
}

// parse reads a markdown file's anchors, links and code spans, outside
// fenced code blocks.
func (c *checker) parse(file string) (*document, error) {
	src, err := os.ReadFile(filepath.Join(c.root, filepath.FromSlash(file)))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	doc := &document{anchors: map[string]bool{}}
	seen := map[string]int{}
	var fence string
	for i, line := range strings.Split(string(src), "\n") {
		n := i + 1
		trimmed := strings.TrimLeft(line, " ")
		if len(line)-len(trimmed) <= 3 {
			if fence == "" {
				if m := fenceOpen.FindString(trimmed); m != "" {
					fence = m
					continue
				}
			} else if strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, string(fence[0])+" \t") == "" {
				fence = ""
				continue
			}
		}
		if fence != "" {
			continue
		}
		if m := heading.FindStringSubmatch(line); m != nil {
			slug := Slug(m[1])
			if k := seen[slug]; k > 0 {
				seen[slug] = k + 1
				slug = fmt.Sprintf("%s-%d", slug, k)
			} else {
				seen[slug] = 1
			}
			doc.anchors[slug] = true
		}
		for _, m := range htmlAnchor.FindAllStringSubmatch(line, -1) {
			doc.anchors[m[1]] = true
		}
		text, spans := splitCode(line)
		for _, s := range spans {
			doc.spans = append(doc.spans, ref{line: n, text: s})
		}
		for _, m := range inlineLink.FindAllStringSubmatch(text, -1) {
			doc.links = append(doc.links, ref{line: n, target: strings.Trim(m[1], "<>")})
		}
		if m := refDef.FindStringSubmatch(text); m != nil {
			doc.links = append(doc.links, ref{line: n, target: strings.Trim(m[1], "<>")})
		}
	}
	c.anchors[file] = doc.anchors
	return doc, nil
}

var (
	fenceOpen  = regexp.MustCompile("^(```+|~~~+)")
	heading    = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	htmlAnchor = regexp.MustCompile(`<a\s+(?:id|name)="([^"]+)"`)
	inlineLink = regexp.MustCompile(`!?\[[^\]]*\]\(\s*(<[^>]*>|[^)\s]+)(?:\s+"[^"]*")?\s*\)`)
	refDef     = regexp.MustCompile(`^ {0,3}\[[^\]]+\]:\s*(\S+)`)
	scheme     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	mdLink     = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	htmlTag    = regexp.MustCompile(`<[^>]+>`)
)

// splitCode returns line with its inline code spans replaced by "code" (so
// that a link whose text is code is still seen, and a link written inside
// code is not), and the spans' contents.
func splitCode(line string) (string, []string) {
	var out strings.Builder
	var spans []string
	for {
		i := strings.IndexByte(line, '`')
		if i < 0 {
			out.WriteString(line)
			return out.String(), spans
		}
		ticks := len(line[i:]) - len(strings.TrimLeft(line[i:], "`"))
		delim := line[i : i+ticks]
		rest := line[i+ticks:]
		j := indexRun(rest, delim)
		if j < 0 {
			out.WriteString(line)
			return out.String(), spans
		}
		out.WriteString(line[:i])
		out.WriteString("code")
		spans = append(spans, strings.TrimSpace(rest[:j]))
		line = rest[j+ticks:]
	}
}

// indexRun finds delim in s as a whole run of backticks (a longer or
// shorter run does not close a code span).
func indexRun(s, delim string) int {
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		if j-i == len(delim) {
			return i
		}
		i = j
	}
	return -1
}

// Slug is the anchor GitHub gives a heading: its text without markup,
// lower-cased, with everything but letters, marks, numbers, '_' (and the
// other connector punctuation), '-' and spaces removed and spaces turned into '-'. A repeated slug gets -1, -2, ...
// (Check counts them).
func Slug(headingText string) string {
	t := strings.ReplaceAll(headingText, "`", "")
	t = mdLink.ReplaceAllString(t, "$1")
	t = htmlTag.ReplaceAllString(t, "")
	t = strings.ReplaceAll(t, "*", "")
	var b strings.Builder
	for _, r := range strings.ToLower(t) {
		switch {
		case r == ' ':
			b.WriteByte('-')
		case r == '-' || unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.Pc):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// checkLink returns what is wrong with a link from file, or "".
func (c *checker) checkLink(file, target string) string {
	if target == "" {
		return "empty link"
	}
	if scheme.MatchString(target) || strings.HasPrefix(target, "//") {
		return "" // external: never fetched
	}
	pathPart, anchor, _ := strings.Cut(target, "#")
	p, err := url.PathUnescape(pathPart)
	if err != nil {
		return fmt.Sprintf("link %s: bad escape: %v", target, err)
	}
	dest := file
	if p != "" {
		if strings.HasPrefix(p, "/") {
			dest = strings.TrimPrefix(p, "/")
		} else {
			dest = filepath.ToSlash(filepath.Join(filepath.Dir(file), p))
		}
		if dest == ".." || strings.HasPrefix(dest, "../") {
			return fmt.Sprintf("link %s leaves the repository", target)
		}
		if _, err := os.Stat(filepath.Join(c.root, filepath.FromSlash(dest))); err != nil {
			return fmt.Sprintf("link %s: %s does not exist", target, dest)
		}
	}
	if anchor == "" {
		return ""
	}
	if !strings.HasSuffix(dest, ".md") {
		return fmt.Sprintf("link %s: an anchor into %s, which is not markdown", target, dest)
	}
	anchors, ok := c.anchors[dest]
	if !ok {
		d, err := c.parse(dest)
		if err != nil {
			return err.Error()
		}
		anchors = d.anchors
	}
	if !anchors[anchor] {
		return fmt.Sprintf("link %s: %s has no heading with anchor #%s", target, dest, anchor)
	}
	return ""
}

var (
	scriptName = regexp.MustCompile(`^[\w.*-]+\.txtar$`)
	testName   = regexp.MustCompile(`^(Test|Fuzz|Benchmark)[A-Z_]\w*$`)
	repoPath   = regexp.MustCompile(`^(cmd|internal|examples|scripts|bench|docs|\.ci)/[\w./*-]*$`)
	testFunc   = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Benchmark)\w*)\(`)
)

// checkSpan returns what is wrong with a code span that names a proof: a
// CLI script (`name.txtar`, globs allowed), a test function (`TestX`) or a
// repository path (`internal/x/y_test.go`); "" for any other span.
func (c *checker) checkSpan(s string) (string, error) {
	switch {
	case scriptName.MatchString(s):
		m, err := filepath.Glob(filepath.Join(c.root, ScriptDir, s))
		if err != nil || len(m) == 0 {
			return fmt.Sprintf("names the script %s, which %s does not hold", s, ScriptDir), nil
		}
	case testName.MatchString(s):
		if err := c.loadTests(); err != nil {
			return "", err
		}
		if !c.tests[s] {
			return fmt.Sprintf("names the test %s, which no _test.go file defines", s), nil
		}
	case repoPath.MatchString(s):
		m, err := filepath.Glob(filepath.Join(c.root, filepath.FromSlash(strings.TrimSuffix(s, "/"))))
		if err != nil || len(m) == 0 {
			return fmt.Sprintf("names %s, which does not exist", s), nil
		}
	}
	return "", nil
}

// loadTests reads the names of every test, fuzz target and benchmark in
// the repository, once.
func (c *checker) loadTests() error {
	if c.tests != nil {
		return nil
	}
	c.tests = map[string]bool{}
	return filepath.WalkDir(c.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, m := range testFunc.FindAllStringSubmatch(string(src), -1) {
			c.tests[m[1]] = true
		}
		return nil
	})
}
