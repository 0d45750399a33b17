package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Groups are compact hashes of a fingerprint's inputs by group, recorded
// in an AMI's ami-bakery:inputs tag so that a later run can say which
// group changed: "t:<8hex>;d0:<8hex>;d1:<8hex>;v:<8hex>;b:<8hex>;p:<8hex>".
//
//	t   the template
//	dN  the files and symlinks of the Nth definition root, in the order
//	    first hashed (d0 is the first root); one "d" for all of them when
//	    one per root would not fit
//	iN  the inputs of extra roots (kinds "input" and "input-symlink"),
//	    by root label, as dN; one "i" when one per label would not fit
//	v   the var files and vars
//	s   the build selection (kinds "only" and "except")
//	b   the base image inputs (kind "base"), when there are any
//	p   the parent's fingerprint, for an image with a parent
//
// A group without inputs is left out, so a definition without extra roots
// or a selection has the groups it always had. The value stays within an
// EC2 tag value's 256 characters.
type Groups struct {
	// Keys in order ("t", "d0", ..., "i0", ..., "v", "s", "b", "p"), and
	// their hashes.
	Keys   []string
	Hashes map[string]string
	// Roots names the root of each dN and iN key, from the inputs (not
	// recorded in the tag).
	Roots map[string]string
}

const maxGroupsLen = 256

// GroupsOf computes the group hashes of res's inputs.
func GroupsOf(res Result) Groups {
	hs := map[string]*groupHash{}
	var keys []string
	roots := map[string]string{}
	rootOrder := map[byte][]string{}
	byRoot := func(prefix byte, in Input) string {
		i := slices.Index(rootOrder[prefix], in.Root)
		if i < 0 {
			i = len(rootOrder[prefix])
			rootOrder[prefix] = append(rootOrder[prefix], in.Root)
		}
		key := fmt.Sprintf("%c%d", prefix, i)
		roots[key] = in.Root
		return key
	}
	add := func(key string, in Input) {
		h := hs[key]
		if h == nil {
			h = &groupHash{}
			hs[key] = h
			keys = append(keys, key)
		}
		h.add(in)
	}
	for _, in := range res.Inputs {
		switch in.Kind {
		case KindTemplate:
			add("t", in)
		case KindFile, KindSymlink:
			add(byRoot('d', in), in)
		case KindInput, KindInputSymlink:
			add(byRoot('i', in), in)
		case KindVarFile, KindVar:
			add("v", in)
		case KindOnly, KindExcept:
			add("s", in)
		case KindBase:
			add("b", in)
		case KindParent:
			add("p", in)
		}
	}
	g := Groups{Hashes: map[string]string{}, Roots: roots}
	order := map[byte]int{'t': 0, 'd': 1, 'i': 2, 'v': 3, 's': 4, 'b': 5, 'p': 6}
	slices.SortStableFunc(keys, func(a, b string) int { return order[a[0]] - order[b[0]] })
	for _, k := range keys {
		g.Keys = append(g.Keys, k)
		g.Hashes[k] = hs[k].sum()
	}
	if len(g.String()) > maxGroupsLen {
		g = g.collapse(res, 'd', KindFile, KindSymlink)
	}
	if len(g.String()) > maxGroupsLen {
		g = g.collapse(res, 'i', KindInput, KindInputSymlink)
	}
	return g
}

// collapse replaces the groups prefix0, prefix1, ... (one per root) by one
// group, prefix alone, of every input of the kinds.
func (g Groups) collapse(res Result, prefix byte, kinds ...string) Groups {
	all := &groupHash{}
	for _, in := range res.Inputs {
		if slices.Contains(kinds, in.Kind) {
			all.add(in)
		}
	}
	out := Groups{Hashes: map[string]string{}, Roots: map[string]string{}}
	for _, k := range g.Keys {
		switch {
		case k[0] != prefix:
			out.Keys = append(out.Keys, k)
			out.Hashes[k] = g.Hashes[k]
			if r, ok := g.Roots[k]; ok {
				out.Roots[k] = r
			}
		case k == string(prefix)+"0":
			out.Keys = append(out.Keys, string(prefix))
			out.Hashes[string(prefix)] = all.sum()
		}
	}
	return out
}

// String is the tag value.
func (g Groups) String() string {
	parts := make([]string, len(g.Keys))
	for i, k := range g.Keys {
		parts[i] = k + ":" + g.Hashes[k]
	}
	return strings.Join(parts, ";")
}

// ParseGroups reads a tag value written by Groups.String; it ignores what
// it does not understand, so that a later format can add groups.
func ParseGroups(s string) Groups {
	g := Groups{Hashes: map[string]string{}, Roots: map[string]string{}}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, ":")
		if !ok || k == "" || v == "" {
			continue
		}
		g.Keys = append(g.Keys, k)
		g.Hashes[k] = v
	}
	return g
}

// groupHash hashes a group's inputs as the fingerprint lists them.
type groupHash struct{ b strings.Builder }

func (h *groupHash) add(in Input) {
	fmt.Fprintf(&h.b, "%s\x00%s\x00%s\x00%t\x00%s\n", in.Kind, in.Root, in.Path, in.Executable, in.Hash)
}

func (h *groupHash) sum() string {
	s := sha256.Sum256([]byte(h.b.String()))
	return hex.EncodeToString(s[:4])
}
