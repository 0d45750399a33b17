// Package explain answers "why does this image need a build?": it compares
// a fingerprint's group hashes (fingerprint.Groups) with those recorded in
// the ami-bakery:inputs tag of the newest trusted AMI of the same image
// (ami-bakery:image), names the groups that changed, and, when the AMI's
// recorded git commit is in the local history, lists the files added,
// removed and changed since, read from git objects (git.go), without a
// checkout.
package explain

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

// EC2 is what explaining calls, with the SDK's signature.
type EC2 interface {
	DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, optFns ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error)
}

// Explanation says why an image's fingerprint differs from its newest
// earlier AMI's.
type Explanation struct {
	Image       string `json:"image"`
	Fingerprint string `json:"fingerprint"`
	// Previous is the newest trusted AMI of the image with another
	// fingerprint; nil when there is none.
	Previous *Previous `json:"previous"`
	// Changed are the groups whose hashes differ.
	Changed []Change `json:"changed"`
	// Files are the definition's files that differ from the recorded
	// commit's, when it is known locally.
	Files []File `json:"files,omitempty"`
	// Note says why Files is empty when it could not be listed.
	Note string `json:"note,omitempty"`
}

// Previous is the AMI an explanation compares with.
type Previous struct {
	AMI         string `json:"ami"`
	Region      string `json:"region"`
	Created     string `json:"created"`
	Fingerprint string `json:"fingerprint"`
	Commit      string `json:"commit,omitempty"`
	Inputs      string `json:"inputs,omitempty"`
	BaseName    string `json:"base_name,omitempty"` // its ami-bakery:base-name tag
}

// Change is one group that changed.
type Change struct {
	Group string `json:"group"` // template, directory, variables, base, parent
	// Root names the directory, for a directory group.
	Root string `json:"root,omitempty"`
	Old  string `json:"old,omitempty"`
	New  string `json:"new,omitempty"`
}

// File is one file that differs from the recorded commit's.
type File struct {
	Path   string `json:"path"`   // relative to the repository's top
	Change string `json:"change"` // added, removed, changed
}

// Request is what to explain: one image's current fingerprint.
type Request struct {
	Image   string
	TagKey  string // the fingerprint tag
	Owners  []string
	Region  string
	Current fingerprint.Result
	// BaseName is the name of the base image the current fingerprint
	// covers, when the image has a base block.
	BaseName string
	// TemplateDir is where the fingerprint's roots are relative to.
	TemplateDir string
}

// Explain finds the newest earlier AMI of req.Image and compares.
func Explain(ctx context.Context, c EC2, req Request) (*Explanation, error) {
	x := &Explanation{Image: req.Image, Fingerprint: req.Current.Sum, Changed: []Change{}}
	prev, err := newest(ctx, c, req)
	if err != nil || prev == nil {
		return x, err
	}
	x.Previous = prev
	x.Changed = compare(req.Current, prev)
	for i, c := range x.Changed {
		if c.Group == "base" {
			// The names say more than the group hashes: which release.
			x.Changed[i].Old, x.Changed[i].New = prev.BaseName, req.BaseName
		}
	}
	for i, c := range x.Changed {
		if c.Root != "" {
			x.Changed[i].Root = displayPath(req.TemplateDir, c.Root)
		}
	}
	x.Files, x.Note = gitFiles(ctx, req, prev.Commit)
	return x, nil
}

// newest finds the newest available AMI tagged with the image's name among
// the trusted owners whose fingerprint is not the current one.
func newest(ctx context.Context, c EC2, req Request) (*Previous, error) {
	in := &ec2.DescribeImagesInput{
		Owners: append([]string{"self"}, req.Owners...),
		Filters: []ec2types.Filter{
			{Name: aws.String("tag:" + bake.TagImage), Values: []string{req.Image}},
			{Name: aws.String("state"), Values: []string{"available"}},
		},
	}
	var imgs []ec2types.Image
	for p := ec2.NewDescribeImagesPaginator(c, in); p.HasMorePages(); {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("finding earlier AMIs of image %s in %s: %w", req.Image, req.Region, err)
		}
		imgs = append(imgs, out.Images...)
	}
	var best *Previous
	for _, img := range imgs {
		tags := map[string]string{}
		for _, t := range img.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
		fp := tags[req.TagKey]
		if fp == "" || fp == req.Current.Sum {
			continue
		}
		p := &Previous{AMI: aws.ToString(img.ImageId), Region: req.Region, Created: aws.ToString(img.CreationDate),
			Fingerprint: fp, Commit: tags[bake.TagCommit], Inputs: tags[bake.TagInputs], BaseName: tags[bake.TagBaseName]}
		if best == nil || p.Created > best.Created || p.Created == best.Created && p.AMI > best.AMI {
			best = p
		}
		if tags[bake.TagParentFingerprint] != "" {
			p.Inputs += ";pf:" + tags[bake.TagParentFingerprint]
		}
	}
	return best, nil
}

// compare names the groups whose hashes differ between the current
// fingerprint and the previous AMI's tag.
func compare(cur fingerprint.Result, prev *Previous) []Change {
	now := fingerprint.GroupsOf(cur)
	old := fingerprint.ParseGroups(prev.Inputs)
	changes := []Change{}
	if len(old.Keys) == 0 {
		return append(changes, Change{Group: "unknown", Old: "the earlier AMI has no " + bake.TagInputs + " tag"})
	}
	seen := map[string]bool{}
	for _, k := range append(slices.Clone(now.Keys), old.Keys...) {
		if seen[k] || k == "pf" || old.Hashes[k] == now.Hashes[k] {
			continue
		}
		seen[k] = true
		ch := Change{Group: groupName(k), Root: now.Roots[k], Old: old.Hashes[k], New: now.Hashes[k]}
		if k == "p" {
			ch.Old, ch.New = old.Hashes["pf"], parentOf(cur)
		}
		changes = append(changes, ch)
	}
	return changes
}

func groupName(k string) string {
	switch k[0] {
	case 't':
		return "template"
	case 'd':
		return "directory"
	case 'i':
		return "input"
	case 'v':
		return "variables"
	case 's':
		return "selection"
	case 'b':
		return "base"
	case 'p':
		return "parent"
	}
	return k
}

func parentOf(res fingerprint.Result) string {
	for _, in := range res.Inputs {
		if in.Kind == fingerprint.KindParent {
			return in.Hash
		}
	}
	return ""
}

// Lines renders x for people: one line per change and per file.
func (x *Explanation) Lines() []string {
	if x.Previous == nil {
		return []string{fmt.Sprintf("%s: no earlier AMI of this image; this is its first build", x.Image)}
	}
	out := []string{fmt.Sprintf("%s: compared with %s (%s, fingerprint %s)", x.Image, x.Previous.AMI, x.Previous.Created, short(x.Previous.Fingerprint))}
	for _, c := range x.Changed {
		switch {
		case (c.Group == "directory" || c.Group == "input") && c.Root != "":
			out = append(out, fmt.Sprintf("  changed: %s %s", c.Group, c.Root))
		case c.Group == "parent":
			out = append(out, fmt.Sprintf("  changed: parent %s -> %s", short(c.Old), short(c.New)))
		case c.Group == "base":
			out = append(out, fmt.Sprintf("  changed: base %s -> %s", orNone(c.Old), orNone(c.New)))
		case c.Group == "unknown":
			out = append(out, "  changed: unknown ("+c.Old+")")
		default:
			out = append(out, "  changed: "+c.Group)
		}
	}
	for _, f := range x.Files {
		out = append(out, fmt.Sprintf("  %s: %s", f.Change, f.Path))
	}
	if x.Note != "" {
		out = append(out, "  note: "+x.Note)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "(none)"
	}
	return strings.TrimSpace(s)
}

// displayPath is a root (relative to the template's directory) as a path
// relative to the working directory, when it can be.
func displayPath(templateDir, root string) string {
	abs := filepath.Join(templateDir, filepath.FromSlash(root))
	wd, err := os.Getwd()
	if err != nil {
		return root
	}
	if rel, err := filepath.Rel(wd, abs); err == nil {
		return filepath.ToSlash(rel)
	}
	return root
}
