package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/buildlock"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/prune"
	"github.com/ami-bakery/ami-bakery/internal/report"
)

// session is a run's AWS access. Every step takes its clients from it by
// the image's role (bake.Image.RoleARN; "" is the run's own credentials):
// the Baker's lookups, builds, tags and copies, the build locks, the
// publishers, prune and explain. It is opened once per run, in one place.
type session struct {
	aws    *awsclient.Session
	log    *slog.Logger
	region string // where the caller's account is asked (the first image's primary)
	single bool   // a single template's: logs need not name the image

	mu    sync.Mutex
	locks map[string]*buildlock.Locker
}

// openSession loads the AWS configuration for the workset's images and
// checks each role's credentials, failing fast with a hint. The caller's
// account is looked up in the background meanwhile (awsclient.Session).
func openSession(ctx context.Context, endpoint string, log *slog.Logger, ws *workset) (*session, error) {
	aws, err := awsclient.NewSession(ctx, awsclient.Options{Endpoint: endpoint, Log: log})
	if err != nil {
		return nil, err
	}
	ws.warnInputs(log)
	s := &session{aws: aws, log: log, region: ws.imgs[0].Regions[0], single: ws.project.Single(), locks: map[string]*buildlock.Locker{}}
	if err := aws.For("").CheckCredentials(ctx); err != nil {
		return nil, err
	}
	for _, role := range ws.roles() {
		if role == "" {
			aws.Prefetch("", s.region)
			continue
		}
		if err := aws.For(role).CheckCredentials(ctx); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// baker makes the Baker whose every client is the image's role's.
func (s *session) baker() *bake.Baker {
	return &bake.Baker{
		Clients:    func(role, region string) images.EC2 { return s.aws.For(role).EC2(region) },
		SSMClients: func(role, region string) images.SSM { return s.aws.For(role).SSM(region) },
		Account:    s.account,
		Packer:     bake.PackerCLI{},
		Log:        s.log,
		Version:    version,
		NameLogs:   !s.single,
	}
}

func (s *session) account(ctx context.Context, role string) (string, error) {
	return s.aws.Account(ctx, role, s.region)
}

// locker returns the build lock in role's account, one per role and run.
func (s *session) locker(role string, o *options.Build) *buildlock.Locker {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.locks[role]; ok {
		return l
	}
	f := s.aws.For(role)
	l := &buildlock.Locker{Clients: func(r string) buildlock.EC2 { return f.EC2(r) }, Log: s.log}
	if o != nil {
		l.Lease, l.Poll = o.LockLease, o.PollInterval
	}
	s.locks[role] = l
	return l
}

// pruneClients are prune's clients in role's account.
func (s *session) pruneClients(role string) prune.Clients {
	f := s.aws.For(role)
	return prune.Clients{
		EC2:         func(r string) prune.EC2 { return f.EC2(r) },
		SSM:         func(r string) prune.SSM { return f.SSM(r) },
		AutoScaling: func(r string) prune.AutoScaling { return f.AutoScaling(r) },
	}
}

// packerEnv is the environment packer runs in for img: this process's,
// with the role's credentials when the image has one.
func (s *session) packerEnv(ctx context.Context, img *bake.Image) ([]string, error) {
	env, err := s.aws.For(img.RoleARN).PackerEnv(ctx, os.Environ())
	if err != nil && img.Name != "" {
		return nil, fmt.Errorf("image %s: %w", img.Name, err)
	}
	return env, err
}

// publishers makes the publishing sinks of the selected images, each from
// its publish settings (a project's publish block, or the --ssm-parameter
// and --launch-template flags of a single template) and through its role's
// clients: per image, in the order of the workset's images. A project's
// are given their image's part of the result when written.
func (s *session) publishers(ws *workset, poll, timeout time.Duration) publishing {
	out := make(publishing, len(ws.sel))
	for i, img := range ws.sel {
		f := s.aws.For(ws.imgs[i].RoleARN)
		if p := img.Publish.SSMParameter; p != "" {
			out[i] = append(out[i], &report.SSMSink{
				Param: p, Timeout: timeout, Poll: poll,
				Clients: func(r string) report.SSM { return f.SSM(r) },
			})
		}
		if t := img.Publish.LaunchTemplate; t != "" {
			out[i] = append(out[i], &report.LaunchTemplateSink{
				Template: t, SetDefault: img.Publish.SetDefaultVersion,
				Clients: func(r string) report.LaunchTemplateEC2 { return f.EC2(r) },
			})
		}
	}
	return out
}

// publishing is the publishing sinks of each image of a workset.
type publishing [][]report.Sink

// sinks returns every image's sinks as the result is written: a project's
// each given its image's part of the result.
func (p publishing) sinks(ws *workset) []report.Sink {
	var out []report.Sink
	for i, sinks := range p {
		for _, sink := range sinks {
			if !ws.project.Single() {
				sink = report.ForImage(ws.sel[i].Name, sink)
			}
			out = append(out, sink)
		}
	}
	return out
}

// plan says what a bake following plans would publish: in a region whose
// AMI is known (reuse, wait), whether the destination holds it already;
// elsewhere, pending for the AMI to be made. A destination that cannot be
// written (a parameter of another type, a missing launch template, one
// that reads its image from SSM) is an error: plan reports it, and bake
// refuses before building anything.
func (p publishing) plan(ctx context.Context, ws *workset, plans []*bake.Plan) ([]report.Publication, error) {
	var out []report.Publication
	for i, sinks := range p {
		for _, sink := range sinks {
			pl, ok := sink.(report.Publisher)
			if !ok {
				continue
			}
			for _, d := range plans[i].Regions {
				ami := d.AMI
				if d.Action != bake.Reuse && d.Action != bake.Wait {
					ami = ""
				}
				pub, err := pl.Plan(ctx, d.Region, ami, plans[i].Fingerprint.Sum)
				if err != nil {
					if !ws.project.Single() {
						err = fmt.Errorf("image %s: %w", ws.sel[i].Name, err)
					}
					return nil, err
				}
				if !ws.project.Single() {
					pub.Image = ws.sel[i].Name
				}
				out = append(out, pub)
			}
		}
	}
	return out, nil
}
