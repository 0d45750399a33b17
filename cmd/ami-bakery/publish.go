package main

import (
	"context"
	"time"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/report"
)

// publishSinks makes the publishing sinks p names. Their clients come from
// *clients, set once the factory exists: Check, which runs before any AWS
// call, does not use them.
func publishSinks(ctx context.Context, p *options.Publish, clients **awsclient.Factory, poll time.Duration) []report.Sink {
	var sinks []report.Sink
	if p.SSMParameter != "" {
		sinks = append(sinks, &report.SSMSink{
			Ctx: ctx, Param: p.SSMParameter, Timeout: p.Timeout, Poll: poll,
			Clients: func(r string) report.SSM { return (*clients).SSM(r) },
		})
	}
	if p.LaunchTemplate != "" {
		sinks = append(sinks, &report.LaunchTemplateSink{
			Ctx: ctx, Template: p.LaunchTemplate, SetDefault: p.SetDefaultVersion,
			Clients: func(r string) report.LaunchTemplateEC2 { return (*clients).EC2(r) },
		})
	}
	return sinks
}

// planPublications says what a bake following plan would publish: in a
// region whose AMI is known (reuse, wait), whether the destination holds
// it already; elsewhere, pending for the AMI to be made ("new").
func planPublications(plan *bake.Plan, sinks []report.Sink) ([]report.Publication, error) {
	var out []report.Publication
	for _, s := range sinks {
		pl, ok := s.(report.PublicationPlanner)
		if !ok {
			continue
		}
		for _, d := range plan.Regions {
			ami := d.AMI
			if d.Action != bake.Reuse && d.Action != bake.Wait || ami == "" {
				ami = ""
			}
			p, err := pl.Plan(d.Region, ami, plan.Fingerprint.Sum)
			if err != nil {
				return nil, err
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// projectPublishSinks makes the publishing sinks of a project's images,
// each from its publish block, through the project's default clients.
func projectPublishSinks(ctx context.Context, sel []*project.Image, clients **awsclient.Factory, poll, timeout time.Duration) []report.Sink {
	var sinks []report.Sink
	for _, img := range sel {
		p := options.Publish{SSMParameter: img.Publish.SSMParameter, LaunchTemplate: img.Publish.LaunchTemplate,
			SetDefaultVersion: img.Publish.SetDefaultVersion, Timeout: timeout}
		for _, s := range publishSinks(ctx, &p, clients, poll) {
			sinks = append(sinks, report.ForImage(img.Name, s))
		}
	}
	return sinks
}
