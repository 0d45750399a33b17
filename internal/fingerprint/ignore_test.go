package fingerprint

import "testing"

func TestIgnoreMatch(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		path  string
		isDir bool
		want  bool
	}{
		{"no rules", "", "a", false, false},
		{"comment", "# a\n", "# a", false, false},
		{"blank lines", "\n\n  \n", "a", false, false},
		{"escaped hash", `\#a`, "#a", false, true},
		{"escaped bang", `\!a`, "!a", false, true},
		{"escaped bang is not negation", "*\n\\!a", "b", false, true},
		{"plain name any depth", "a.log", "x/y/a.log", false, true},
		{"plain name at root", "a.log", "a.log", false, true},
		{"plain name is not a prefix", "a.log", "a.logx", false, false},
		{"star", "*.log", "d/e.log", false, true},
		{"star does not cross slash", "d*e", "d/e", false, false},
		{"star matches dot files", "*", ".hidden", false, true},
		{"question", "?.txt", "a.txt", false, true},
		{"question needs one byte", "?.txt", ".txt", false, false},
		{"class", "[ab].txt", "b.txt", false, true},
		{"class miss", "[ab].txt", "c.txt", false, false},
		{"class range", "[a-c]x", "bx", false, true},
		{"class negated bang", "[!a-c]x", "dx", false, true},
		{"class negated caret", "[^a-c]x", "bx", false, false},
		{"class bracket first", "[]a]x", "]x", false, true},
		{"class escape", `[\]]x`, "]x", false, true},
		{"class posix", "[[:digit:]]x", "7x", false, true},
		{"class posix miss", "[[:digit:]]x", "ax", false, false},
		{"class unknown posix never matches", "[[:nope:]]x", "ax", false, false},
		{"class unclosed never matches", "[ab", "[ab", false, false},
		{"escaped star", `\*`, "*", false, true},
		{"escaped star literal only", `\*`, "a", false, false},
		{"trailing spaces trimmed", "a  ", "a", false, true},
		{"escaped trailing space kept", `a\ `, "a ", false, true},
		{"escaped trailing space exact", `a\ `, "a", false, false},
		{"crlf", "a\r\n", "a", false, true},
		{"dir only matches dir", "build/", "x/build", true, true},
		{"dir only skips file", "build/", "x/build", false, false},
		{"leading slash anchors", "/a", "a", false, true},
		{"leading slash not deeper", "/a", "x/a", false, false},
		{"middle slash anchors", "x/a", "x/a", false, true},
		{"middle slash not deeper", "x/a", "y/x/a", false, false},
		{"anchored with star", "x/*.sh", "x/a.sh", false, true},
		{"anchored star one level", "x/*.sh", "x/y/a.sh", false, false},
		{"leading doublestar root", "**/a", "a", false, true},
		{"leading doublestar deep", "**/a", "x/y/a", false, true},
		{"leading doublestar path", "**/x/a", "p/x/a", false, true},
		{"trailing doublestar inside", "x/**", "x/y/z", false, true},
		{"trailing doublestar not itself", "x/**", "x", true, false},
		{"middle doublestar zero", "a/**/b", "a/b", false, true},
		{"middle doublestar many", "a/**/b", "a/x/y/b", false, true},
		{"middle doublestar wrong end", "a/**/b", "a/x/c", false, false},
		{"doublestar in name is star", "a**b", "axxb", false, true},
		{"negation", "*.log\n!keep.log", "keep.log", false, false},
		{"negation last wins", "!keep.log\n*.log", "keep.log", false, true},
		{"negation of other", "*.log\n!keep.log", "x.log", false, true},
		{"non utf8 bytes", "\xff*", "\xffa", false, true},
		{"question matches one byte", "?", "\xc3\xa9", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := parseIgnore(tt.rules)
			if got := m.match(tt.path, tt.isDir); got != tt.want {
				t.Errorf("rules %q: match(%q, dir=%v) = %v, want %v", tt.rules, tt.path, tt.isDir, got, tt.want)
			}
		})
	}
}

func TestIgnoreExcluded(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		path  string
		isDir bool
		want  bool
	}{
		{"parent excluded", "build/", "build/a", false, true},
		{"negation cannot re-include under excluded dir", "build/\n!build/a", "build/a", false, true},
		{"negation works when only contents excluded", "build/**\n!build/a", "build/a", false, false},
		{"git dir", "", "x/.git/config", false, true},
		{"git file", "", ".git", false, true},
		{"not excluded", "*.log", "a/b.txt", false, false},
		{"nil matcher", "", "a/b", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m *ignoreMatcher
			if tt.rules != "" {
				m = parseIgnore(tt.rules)
			}
			if got := m.excluded(tt.path, tt.isDir); got != tt.want {
				t.Errorf("rules %q: excluded(%q) = %v, want %v", tt.rules, tt.path, got, tt.want)
			}
		})
	}
}
