package bake

import "github.com/ami-bakery/ami-bakery/internal/fingerprint"

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
