package project

import (
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/ami-bakery/ami-bakery/internal/channel"
	"github.com/ami-bakery/ami-bakery/internal/report"
)

// Channels are a project's channel blocks, top-level and applying to every
// image:
//
//	channel "staging" {}
//	channel "prod" {
//	  from      = "staging"   # promote what staging holds ...
//	  soak      = "24h"       # ... once it held it this long
//	  requires  = ["boot"]    # tests that passed on the AMI
//	  accounts  = ["123456789012"]  # accounts that must be able to launch it
//	  parameter = "/ami-bakery/{project}/{image}/{channel}"
//	  keep      = 2           # promoted versions before the head prune keeps
//	}
//
// Each is a channel.Channel; Load checks them against the images.

// channelBlock is a channel block as written.
type channelBlock struct {
	From      string
	Soak      string
	Requires  []string
	Accounts  []string
	Parameter string
	Keep      *int
}

// decodeChannels reads the channel blocks and checks each against the
// others and the images.
func decodeChannels(blocks hcl.Blocks, imgs []*Image) ([]*channel.Channel, hcl.Diagnostics) {
	var out []*channel.Channel
	ranges := map[string]map[string]hcl.Range{} // channel -> attribute -> range
	defs := map[string]hcl.Range{}
	for _, b := range blocks {
		if b.Type != "channel" {
			continue
		}
		name := b.Labels[0]
		if !imageName().MatchString(name) {
			return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "invalid channel name %q; use letters, digits, '.', '_' and '-', starting with a letter or digit", name)}
		}
		if first, ok := defs[name]; ok {
			return nil, hcl.Diagnostics{errorAt(b.LabelRanges[0], "duplicate channel %q; it is first declared at %s", name, first)}
		}
		defs[name] = b.DefRange
		var cb channelBlock
		content, d := decodeBody(b.Body, nil,
			field{name: "from", to: &cb.From},
			field{name: "soak", to: &cb.Soak},
			field{name: "requires", to: &cb.Requires},
			field{name: "accounts", to: &cb.Accounts},
			field{name: "parameter", to: &cb.Parameter},
			field{name: "keep", to: &cb.Keep},
		)
		if d.HasErrors() {
			return nil, d
		}
		rs := map[string]hcl.Range{}
		for k, a := range content.Attributes {
			rs[k] = a.Range
		}
		ranges[name] = rs
		c := &channel.Channel{Name: name, From: cb.From, Requires: cb.Requires, Accounts: cb.Accounts, Parameter: cb.Parameter, Keep: channel.DefaultKeep}
		if c.Parameter == "" {
			c.Parameter = channel.DefaultParameter
		}
		if cb.Keep != nil {
			if *cb.Keep < 0 {
				return nil, hcl.Diagnostics{errorAt(rs["keep"], "channel %q: keep is %d; give how many promoted versions before the head prune keeps, 0 or more", name, *cb.Keep)}
			}
			c.Keep = *cb.Keep
		}
		if cb.Soak != "" {
			soak, err := time.ParseDuration(cb.Soak)
			if err != nil || soak < 0 {
				return nil, hcl.Diagnostics{errorAt(rs["soak"], "channel %q: invalid soak %q; give a duration such as \"24h\"", name, cb.Soak)}
			}
			if c.From == "" {
				return nil, hcl.Diagnostics{errorAt(rs["soak"], "channel %q: soak is how long the AMI sat in the channel it comes from; set from = \"CHANNEL\" too", name)}
			}
			c.Soak = soak
		}
		for _, a := range c.Accounts {
			if len(a) != 12 || strings.Trim(a, "0123456789") != "" {
				return nil, hcl.Diagnostics{errorAt(rs["accounts"], "channel %q: %q is not an AWS account id (12 digits)", name, a)}
			}
		}
		for _, t := range c.Requires {
			for _, img := range imgs {
				if !slices.ContainsFunc(img.Tests, func(x *Test) bool { return x.Name == t }) {
					return nil, hcl.Diagnostics{errorAt(rs["requires"], "channel %q requires test %q, which image %q does not declare; add a test %q block (to the image or to defaults), or remove it from requires", name, t, img.Name, t)}
				}
			}
		}
		out = append(out, c)
	}
	for _, c := range out {
		rs := ranges[c.Name]
		if c.From != "" {
			if c.From == c.Name {
				return nil, hcl.Diagnostics{errorAt(rs["from"], "channel %q comes from itself; name another channel", c.Name)}
			}
			if _, ok := defs[c.From]; !ok {
				return nil, hcl.Diagnostics{errorAt(rs["from"], "channel %q comes from %q, which is not declared; declare channel %q or fix the name", c.Name, c.From, c.From)}
			}
			// A chain that comes back is a cycle: nothing could enter it.
			seen := map[string]bool{c.Name: true}
			for f := c.From; f != ""; f = channelNamed(out, f).From {
				if seen[f] {
					return nil, hcl.Diagnostics{errorAt(rs["from"], "channel %q: the from chain %q comes back to a channel it passed; one channel of the chain must take the image's current AMI (no from)", c.Name, f)}
				}
				seen[f] = true
			}
		}
		if _, ok := rs["parameter"]; !ok {
			rs["parameter"] = defs[c.Name]
		}
		if d := checkParameterPattern(c, len(imgs), rs["parameter"]); d != nil {
			return nil, hcl.Diagnostics{d}
		}
	}
	// Two channels of one image may not share a parameter.
	for i, a := range out {
		for _, b := range out[i+1:] {
			if a.Parameter == b.Parameter && !strings.Contains(a.Parameter, "{channel}") {
				return nil, hcl.Diagnostics{errorAt(ranges[b.Name]["parameter"], "channels %q and %q have the same parameter pattern %q; put {channel} in it", a.Name, b.Name, b.Parameter)}
			}
		}
	}
	return out, nil
}

// checkParameterPattern refuses a pattern that names the same parameter
// for two images, or one SSM would refuse whatever it expands to.
func checkParameterPattern(c *channel.Channel, images int, rng hcl.Range) *hcl.Diagnostic {
	if !strings.Contains(c.Parameter, "{image}") && images > 1 {
		return errorAt(rng, "channel %q: the parameter pattern %q has no {image}, and the project has %d images; put {image} in it", c.Name, c.Parameter, images)
	}
	probe := strings.NewReplacer("{project}", "p", "{image}", "i", "{channel}", "c").Replace(c.Parameter)
	if strings.ContainsAny(probe, "{}") {
		return errorAt(rng, "channel %q: the parameter pattern %q has an unknown placeholder; use {project}, {image} and {channel}", c.Name, c.Parameter)
	}
	if err := report.CheckParameterName(probe); err != nil {
		return errorAt(rng, "channel %q: the parameter pattern %q: %s", c.Name, c.Parameter, err)
	}
	return nil
}

// channelNamed is the channel of that name among cs.
func channelNamed(cs []*channel.Channel, name string) *channel.Channel {
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	return &channel.Channel{}
}

// Channel returns the project's channel of that name, or nil.
func (p *Project) Channel(name string) *channel.Channel {
	for _, c := range p.Channels {
		if c.Name == name {
			return c
		}
	}
	return nil
}
