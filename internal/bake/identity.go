package bake

import (
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

// An AMI's identity: which project, image and variant (its lineage) it
// belongs to. prune changes only AMIs whose identity tags name one of the
// lineages it was given.

// TagProject names the project an AMI belongs to. Bake writes it on every
// AMI it builds or copies; prune takes an AMI for a project's only when it
// carries the project's name here.
const TagProject = "ami-bakery:project"

// Variant is an image's variant: the hash of its variables, its var files
// and vars (the "v" group of fingerprint.GroupsOf), or "" when it has
// none. Two builds of one template with different variables are two
// variants; each has its own current fingerprint.
func Variant(res fingerprint.Result) string {
	return fingerprint.GroupsOf(res).Hashes["v"]
}

// VariantOfTags is the variant an AMI was built as, read from the "v"
// group of its ami-bakery:inputs tag (TagInputs), which holds the same
// hash as Variant: "" when the tag has no such group (no variables). ok
// is false when the AMI has no inputs tag at all (built before the tag
// existed, or not by ami-bakery): its variant is unknown.
func VariantOfTags(tags map[string]string) (variant string, ok bool) {
	s, ok := tags[TagInputs]
	if !ok || s == "" {
		return "", false
	}
	return fingerprint.ParseGroups(s).Hashes["v"], true
}

// IsCurrent reports whether an AMI with this name and these tags stands
// for fingerprint fp under tagKey: it carries fp in tagKey, or its name
// contains fp. These are the two ways bake's lookup (Baker.find) finds an
// AMI, by tag and then by name (an AMI whose tag EC2 does not show yet, or
// that a template forgot to tag, or that carries fp under another tag
// key), so every AMI bake could print for fp is current. It says nothing
// of the AMI's state: bake looks only at available and pending AMIs, and
// prune keeps a current AMI in any state.
func IsCurrent(name string, tags map[string]string, tagKey, fp string) bool {
	if fp == "" {
		return false
	}
	return tagKey != "" && tags[tagKey] == fp || strings.Contains(name, fp)
}
