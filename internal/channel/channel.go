// Package channel keeps a project's release channels (staging, prod, ...):
// for each image, channel and region one SSM parameter of data type
// aws:ec2:image whose versions are the channel's history. Every version
// ami-bakery writes is labelled with its AMI's fingerprint (fp-SUM) and
// described with what wrote it ("ami-bakery promote fp=SUM"), so the
// history says what was promoted, when, and what a rollback undid.
//
// The package reads a channel (Read, History), decides a promotion or a
// rollback (gates.go: every gate in every region, before any write) and
// writes all or nothing (write.go: a failed write puts back every
// parameter already written).
package channel

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"
)

// Defaults of a channel block.
const (
	// DefaultParameter is the pattern of a channel's parameter names.
	DefaultParameter = "/ami-bakery/{project}/{image}/{channel}"
	// DefaultKeep is how many promoted versions before the head prune
	// keeps.
	DefaultKeep = 2
)

// Channel is a channel block of bakery.hcl: it applies to every image.
type Channel struct {
	Name string
	// From is the channel whose AMI a promotion takes ("" for the image's
	// current AMI); Soak is how long it must have held it.
	From string
	Soak time.Duration
	// Requires are tests that must have passed on the AMI, with the
	// test's current fingerprint.
	Requires []string
	// Accounts must each be allowed to launch the AMI.
	Accounts []string
	// Parameter is the pattern of the parameter names ({project},
	// {image}, {channel}).
	Parameter string
	// Keep is how many promoted versions before the head prune keeps.
	Keep int
}

// Param is the channel's parameter name for an image of the project.
func (c *Channel) Param(project, image string) string {
	r := strings.NewReplacer("{project}", ProjectPath(project), "{image}", image, "{channel}", c.Name)
	return r.Replace(c.Parameter)
}

// ProjectPath makes a project's identity usable in a parameter name: every
// character SSM refuses becomes '_', and empty levels are dropped
// ("github.com/acme/infra//ami/bakery.hcl" is
// "github.com/acme/infra/ami/bakery.hcl").
func ProjectPath(id string) string {
	var b strings.Builder
	for _, c := range id {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-/", c) {
			b.WriteRune(c)
		} else {
			b.WriteRune('_')
		}
	}
	parts := slices.DeleteFunc(strings.Split(b.String(), "/"), func(s string) bool { return s == "" })
	return strings.Join(parts, "/")
}

// SSM is the part of the SSM API channels use, with the SDK's signatures.
type SSM interface {
	GetParameter(ctx context.Context, in *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
	GetParameterHistory(ctx context.Context, in *ssm.GetParameterHistoryInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterHistoryOutput, error)
	PutParameter(ctx context.Context, in *ssm.PutParameterInput, optFns ...func(*ssm.Options)) (*ssm.PutParameterOutput, error)
	LabelParameterVersion(ctx context.Context, in *ssm.LabelParameterVersionInput, optFns ...func(*ssm.Options)) (*ssm.LabelParameterVersionOutput, error)
	UnlabelParameterVersion(ctx context.Context, in *ssm.UnlabelParameterVersionInput, optFns ...func(*ssm.Options)) (*ssm.UnlabelParameterVersionOutput, error)
	DeleteParameter(ctx context.Context, in *ssm.DeleteParameterInput, optFns ...func(*ssm.Options)) (*ssm.DeleteParameterOutput, error)
}

// Kinds of version, as written in a version's description.
const (
	KindPromote  = "promote"
	KindRollback = "rollback" // a rollback, or putting back a failed promotion
)

// Version is one version of a channel's parameter.
type Version struct {
	Number      int64
	AMI         string
	At          time.Time
	Labels      []string
	Kind        string // KindPromote, KindRollback, or "" when ami-bakery did not write it
	Fingerprint string // as ami-bakery wrote it; "" when unknown
}

// History is a channel's parameter in one region, oldest version first;
// no versions when the parameter does not exist.
type History struct {
	Param    string
	Versions []Version
}

// Head is the parameter's newest version: what the channel holds.
func (h History) Head() (Version, bool) {
	if len(h.Versions) == 0 {
		return Version{}, false
	}
	return h.Versions[len(h.Versions)-1], true
}

// Promoted is the stack of promotions still in effect, oldest first, the
// head last: each version pushes its AMI, except a rollback, which pops
// back to the AMI it wrote (or, when no promotion below held it, starts
// again from it). A version someone else wrote counts as a promotion.
func (h History) Promoted() []Version {
	var stack []Version
	for _, v := range h.Versions {
		if v.Kind != KindRollback {
			stack = append(stack, v)
			continue
		}
		i := len(stack) - 1
		for i >= 0 && stack[i].AMI != v.AMI {
			i--
		}
		if i < 0 {
			stack = []Version{v}
			continue
		}
		stack = stack[:i]
		stack = append(stack, v)
	}
	return stack
}

// HeldSince is when the head's AMI came to the head: the oldest of the
// newest versions that all hold it. Zero without versions.
func (h History) HeldSince() time.Time {
	head, ok := h.Head()
	if !ok {
		return time.Time{}
	}
	at := head.At
	for i := len(h.Versions) - 1; i >= 0 && h.Versions[i].AMI == head.AMI; i-- {
		at = h.Versions[i].At
	}
	return at
}

// maxVersions is how many versions SSM keeps of a parameter.
const maxVersions = 100

// historyPage is the most versions GetParameterHistory returns at once.
const historyPage = 50

// Read reads the parameter's history; a parameter that does not exist has
// none.
func Read(ctx context.Context, c SSM, param string) (History, error) {
	h := History{Param: param}
	in := &ssm.GetParameterHistoryInput{Name: aws.String(param), MaxResults: aws.Int32(historyPage)}
	for {
		out, err := c.GetParameterHistory(ctx, in)
		if ssm.IsParameterNotFound(err) {
			return h, nil
		}
		if err != nil {
			return h, fmt.Errorf("reading the history of SSM parameter %s: %w", param, err)
		}
		for _, p := range out.Parameters {
			if dt := aws.ToString(p.DataType); dt != "aws:ec2:image" {
				return h, fmt.Errorf("reading channel parameter %s: it has data type %q, not aws:ec2:image; delete it or change the channel's parameter pattern", param, dt)
			}
			v := Version{Number: p.Version, AMI: aws.ToString(p.Value), At: aws.ToTime(p.LastModifiedDate), Labels: p.Labels}
			v.Kind, v.Fingerprint = parseDescription(aws.ToString(p.Description))
			h.Versions = append(h.Versions, v)
		}
		if aws.ToString(out.NextToken) == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	slices.SortFunc(h.Versions, func(a, b Version) int { return int(a.Number - b.Number) })
	return h, nil
}

// description is what a version ami-bakery writes says of itself.
func description(kind, fp, note string) string {
	d := "ami-bakery " + kind + " fp=" + fp
	if note != "" {
		d += " " + note
	}
	return d
}

// parseDescription reads description's kind and fingerprint back; "" for
// a description ami-bakery did not write.
func parseDescription(d string) (kind, fp string) {
	f := strings.Fields(d)
	if len(f) < 2 || f[0] != "ami-bakery" || f[1] != KindPromote && f[1] != KindRollback {
		return "", ""
	}
	for _, kv := range f[2:] {
		if v, ok := strings.CutPrefix(kv, "fp="); ok {
			fp = v
		}
	}
	return f[1], fp
}

// Label is the label of a version holding the AMI of fingerprint fp. A
// label may not start with a digit, so it has a prefix.
func Label(fp string) string { return "fp-" + fp }

// Kept is what prune keeps of a channel: the head and the keep promotions
// before it (Promoted), newest first.
func (h History) Kept(keep int) []Version {
	stack := h.Promoted()
	var out []Version
	for i := len(stack) - 1; i >= 0 && len(out) <= keep; i-- {
		out = append(out, stack[i])
	}
	if head, ok := h.Head(); ok && !slices.ContainsFunc(out, func(v Version) bool { return v.Number == head.Number }) {
		out = append([]Version{head}, out...)
	}
	return out
}
