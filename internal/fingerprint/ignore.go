package fingerprint

import (
	"strings"
)

// An ignoreMatcher holds the rules of one ignore file (".bakeryignore"),
// written in gitignore syntax with paths relative to the definition root
// that holds the file.
//
// Supported, as in git: blank lines, "#" comments, trailing spaces trimmed
// unless escaped with "\", "!" negation, "\#" and "\!" for a literal first
// character, a trailing "/" matching directories only, a leading or middle
// "/" anchoring the pattern to the root, "*", "?", "[...]" (with "!" or "^"
// negation, ranges, "\" escapes and [:class:] names), and "**" as a whole
// segment: leading ("**/x": in any directory), trailing ("x/**": everything
// inside x) and middle ("a/**/b": zero or more directories). A pattern
// without a slash is matched against the name at any depth. The last
// matching rule wins.
//
// Matching is on bytes, as git's wildmatch does, so "?" matches one byte and
// names need not be valid UTF-8. Unlike git, a trailing "\r" is dropped so
// that a file saved with CRLF line ends means what it says. A bracket
// expression without its closing "]" never matches (as in git).
//
// The matcher only judges a path by its own rules; the walk does not descend
// into an ignored directory, which gives git's rule that a negation cannot
// re-include a file whose parent directory is excluded. excluded applies the
// same rule to a single path by checking its parents.
type ignoreMatcher struct {
	rules []ignoreRule
}

type ignoreRule struct {
	negate   bool
	dirOnly  bool
	anchored bool     // matched against the whole path, not only the name
	segs     []string // the pattern split at "/", each a glob
	pattern  string   // the glob for an unanchored rule
}

// parseIgnore reads the rules of an ignore file. Every line is valid.
func parseIgnore(data string) *ignoreMatcher {
	m := &ignoreMatcher{}
	for line := range strings.SplitSeq(data, "\n") {
		line = strings.TrimSuffix(line, "\r")
		line = trimTrailingSpaces(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var r ignoreRule
		if line[0] == '!' {
			r.negate = true
			line = line[1:]
		}
		if strings.HasSuffix(line, "/") {
			r.dirOnly = true
			line = line[:len(line)-1]
		}
		if strings.Contains(line, "/") {
			r.anchored = true
			line = strings.TrimPrefix(line, "/")
		}
		if line == "" {
			continue
		}
		if r.anchored {
			r.segs = strings.Split(line, "/")
		} else {
			r.pattern = line
		}
		m.rules = append(m.rules, r)
	}
	return m
}

// trimTrailingSpaces drops trailing spaces that are not escaped with "\".
func trimTrailingSpaces(s string) string {
	for strings.HasSuffix(s, " ") {
		rest := s[:len(s)-1]
		// Count the backslashes before the space: an odd number escapes it.
		n := 0
		for n < len(rest) && rest[len(rest)-1-n] == '\\' {
			n++
		}
		if n%2 == 1 {
			return s
		}
		s = rest
	}
	return s
}

// match reports whether the rules ignore p, a slash-separated path relative
// to the root, without looking at its parents. A nil matcher ignores nothing.
func (m *ignoreMatcher) match(p string, isDir bool) bool {
	if m == nil {
		return false
	}
	var segs []string // split lazily: most rules are unanchored
	name := p[strings.LastIndexByte(p, '/')+1:]
	for i := len(m.rules) - 1; i >= 0; i-- {
		r := &m.rules[i]
		if r.dirOnly && !isDir {
			continue
		}
		var ok bool
		if r.anchored {
			if segs == nil {
				segs = strings.Split(p, "/")
			}
			ok = matchSegments(r.segs, segs)
		} else {
			ok = wildmatch(r.pattern, name)
		}
		if ok {
			return !r.negate
		}
	}
	return false
}

// excluded reports whether p is left out of the walk: because it or one of
// its parent directories is ignored, or because it lies inside ".git".
func (m *ignoreMatcher) excluded(p string, isDir bool) bool {
	for i := 0; i < len(p); i++ {
		if p[i] != '/' {
			continue
		}
		dir := p[:i]
		if baseName(dir) == ".git" || m.match(dir, true) {
			return true
		}
	}
	return baseName(p) == ".git" || m.match(p, isDir)
}

func baseName(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// matchSegments matches pattern segments against path segments, where a
// "**" segment stands for zero or more path segments, except at the end of
// the pattern, where it stands for one or more ("x/**" matches what is
// inside x, not x itself).
func matchSegments(pat, segs []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return len(segs) > 0
			}
			for i := 0; i <= len(segs); i++ {
				if matchSegments(pat[1:], segs[i:]) {
					return true
				}
			}
			return false
		}
		if len(segs) == 0 || !wildmatch(pat[0], segs[0]) {
			return false
		}
		pat, segs = pat[1:], segs[1:]
	}
	return len(segs) == 0
}

// wildmatch matches one glob against one name (neither holds a "/").
// It backtracks only to the last "*", which is enough because a later "*"
// can absorb whatever an earlier one would have.
func wildmatch(pat, name string) bool {
	px, nx := 0, 0
	starPx, starNx := -1, 0
	for px < len(pat) || nx < len(name) {
		if px < len(pat) {
			switch c := pat[px]; c {
			case '*':
				for px < len(pat) && pat[px] == '*' {
					px++
				}
				starPx, starNx = px, nx
				continue
			case '?':
				if nx < len(name) {
					px++
					nx++
					continue
				}
			case '[':
				if nx < len(name) {
					ok, next, valid := matchClass(pat, px, name[nx])
					if !valid {
						return false
					}
					if ok {
						px = next
						nx++
						continue
					}
				}
			case '\\':
				lit, w := byte('\\'), 1
				if px+1 < len(pat) {
					lit, w = pat[px+1], 2
				}
				if nx < len(name) && name[nx] == lit {
					px += w
					nx++
					continue
				}
			default:
				if nx < len(name) && name[nx] == c {
					px++
					nx++
					continue
				}
			}
		}
		if starPx >= 0 && starNx < len(name) {
			starNx++
			px, nx = starPx, starNx
			continue
		}
		return false
	}
	return true
}

// matchClass matches byte c against the bracket expression that starts at
// pat[i] == '['. It returns whether c matched, the index just past the
// closing ']', and whether the expression was well formed.
func matchClass(pat string, i int, c byte) (matched bool, next int, valid bool) {
	i++
	negate := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		negate = true
		i++
	}
	for first := true; ; first = false {
		if i >= len(pat) {
			return false, 0, false
		}
		ch := pat[i]
		if ch == ']' && !first {
			return matched != negate, i + 1, true
		}
		if ch == '[' && i+1 < len(pat) && pat[i+1] == ':' {
			end := strings.Index(pat[i+2:], ":]")
			if end < 0 {
				return false, 0, false
			}
			in, known := posixClass(pat[i+2:i+2+end], c)
			if !known {
				return false, 0, false
			}
			matched = matched || in
			i += 2 + end + 2
			continue
		}
		lo := ch
		if ch == '\\' {
			i++
			if i >= len(pat) {
				return false, 0, false
			}
			lo = pat[i]
		}
		i++
		hi := lo
		if i+1 < len(pat) && pat[i] == '-' && pat[i+1] != ']' {
			i++
			hi = pat[i]
			if hi == '\\' {
				i++
				if i >= len(pat) {
					return false, 0, false
				}
				hi = pat[i]
			}
			i++
		}
		if lo <= c && c <= hi {
			matched = true
		}
	}
}

// posixClass reports whether c is in the named class, and whether the name
// is known. Only ASCII bytes are in any class, as in git's wildmatch.
func posixClass(name string, c byte) (in, known bool) {
	lower := 'a' <= c && c <= 'z'
	upper := 'A' <= c && c <= 'Z'
	digit := '0' <= c && c <= '9'
	punct := (33 <= c && c <= 47) || (58 <= c && c <= 64) || (91 <= c && c <= 96) || (123 <= c && c <= 126)
	switch name {
	case "alnum":
		return lower || upper || digit, true
	case "alpha":
		return lower || upper, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 32 || c == 127, true
	case "digit":
		return digit, true
	case "graph":
		return 33 <= c && c <= 126, true
	case "lower":
		return lower, true
	case "print":
		return 32 <= c && c <= 126, true
	case "punct":
		return punct, true
	case "space":
		return c == ' ' || ('\t' <= c && c <= '\r'), true
	case "upper":
		return upper, true
	case "xdigit":
		return digit || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F'), true
	}
	return false, false
}
