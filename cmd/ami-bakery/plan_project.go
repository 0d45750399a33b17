package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const planProjectHelp = `

With a project file of many images (bakery.hcl or bakery.json in the working
directory, or --config), plan takes the images named as arguments and their
ancestors (all by default) and prints one table: image, fingerprint (first 12
digits), parent, level and per region the action. --json prints
{"images": [...]}. --matrix github prints {"include": [{"image", "level"}]}
for the images that need work, --matrix gitlab a child pipeline; --level N
keeps one dependency level.`

// planProjectOptions are plan's flags for a project.
type planProjectOptions struct {
	project options.Project
	matrix  string
	level   int
}

func (o *planProjectOptions) addFlags(fs *pflag.FlagSet) {
	o.project.AddFlags(fs)
	fs.StringVar(&o.matrix, "matrix", "", "with a project: print a CI matrix of the images that need work: github or gitlab")
	fs.IntVar(&o.level, "level", -1, "with a project: only the images of this dependency level (0: images without a parent)")
}

// checkSingle refuses the project flags in the single-template mode.
func (o *planProjectOptions) checkSingle() error {
	if o.matrix != "" || o.level >= 0 {
		return usererr.WithHint(usererr.Usagef("--matrix and --level need a project file"),
			"put a bakery.hcl in the working directory or name one with --config")
	}
	return nil
}

func (o *planProjectOptions) validate(out *options.Output) error {
	switch {
	case o.matrix != "" && o.matrix != report.MatrixGitHub && o.matrix != report.MatrixGitLab:
		return usererr.WithHint(usererr.Usagef("invalid --matrix %q", o.matrix), "use github or gitlab")
	case o.matrix != "" && out.JSON:
		return usererr.WithHint(usererr.Usagef("--matrix and --json both choose the output"), "give one of them")
	}
	return out.Validate("")
}

// runPlanProject plans the images of the project file at path.
func runPlanProject(ctx context.Context, o *planOptions, path string, names []string, e *env) error {
	if err := o.proj.validate(&o.out); err != nil {
		return err
	}
	p, sel, err := loadSelect(path, names)
	if err != nil {
		return err
	}
	imgs := p.BakeImages(sel)
	if err := p.PinBases(imgs); err != nil {
		return err
	}
	for _, img := range imgs {
		img.SubnetID = o.wire.SubnetID // as bake does, so that both refuse the same
	}
	b, _, err := projectBaker(ctx, imgs, &o.target, e, o.out.LogFormat)
	if err != nil {
		return err
	}
	plans, err := b.PlanAll(ctx, imgs)
	if err != nil {
		return err
	}
	var rows []report.ImagePlan
	work := false
	for i, img := range sel {
		if o.proj.level >= 0 && img.Level != o.proj.level {
			continue
		}
		rows = append(rows, report.ImagePlan{Name: img.Name, Parent: img.ParentName, Level: img.Level, Plan: plans[i]})
		work = work || !plans[i].UpToDate()
	}
	xs, err := o.explainProject(ctx, b, sel, imgs, plans)
	if err != nil || o.diff {
		if err == nil {
			err = printExplanations(e.stdout, xs, o.out.JSON, e)
		}
		return err
	}
	if o.proj.matrix != "" {
		n, err := report.PrintMatrix(e.stdout, rows, o.proj.matrix)
		if err != nil {
			return err
		}
		if n == 0 {
			b.Log.Info("nothing to bake: the matrix is empty; guard the matrix job with if: fromJSON(...).include[0] != null")
		}
	} else if err := report.PrintProjectPlan(e.stdout, rows, o.out.JSON); err != nil {
		return err
	}
	if err := printExplanations(e.stdout, xs, false, e); err != nil {
		return err
	}
	if o.detailed && work {
		return exitError{exitBuildNeeded}
	}
	return nil
}

// loadSelect loads the project file at path and selects the images named
// and their ancestors (all when none is named), parents first.
func loadSelect(path string, names []string) (*project.Project, []*project.Image, error) {
	p, err := project.Load(path)
	if err != nil {
		return nil, nil, err
	}
	sel, err := p.Select(names...)
	if err != nil {
		return nil, nil, err
	}
	return p, sel, nil
}

// withProject runs project with the project file the flags or the working
// directory name, or else single, refusing arguments there (they name a
// project's images).
func withProject(cmd *cobra.Command, args []string, proj *options.Project, def *options.Definition,
	project func(path string) error, single func() error) error {
	path, err := proj.Path(def)
	switch {
	case err != nil:
		return err
	case path != "":
		return project(path)
	}
	if err := noArgs(cmd, args); err != nil {
		return err
	}
	return single()
}

// projectClients are a project's AWS clients: the default credentials'
// factory, and one per role_arn.
type projectClients struct {
	def   *awsclient.Factory
	roles map[string]*awsclient.Factory
}

// forImage returns the factory an image's calls go through.
func (c projectClients) forImage(img *bake.Image) *awsclient.Factory {
	if img.RoleARN != "" {
		return c.roles[img.RoleARN]
	}
	return c.def
}

// projectBaker makes the Baker for a project's images: the default
// credentials' clients, and one factory per role_arn. Settings the project
// file does not hold come from the flags (the endpoint).
func projectBaker(ctx context.Context, imgs []*bake.Image, target *options.Target, e *env, logFormat string) (*bake.Baker, projectClients, error) {
	clients, err := awsclient.New(ctx, awsclient.Options{Endpoint: target.Endpoint})
	if err != nil {
		return nil, projectClients{}, err
	}
	if err := clients.CheckCredentials(ctx); err != nil {
		return nil, projectClients{}, err
	}
	account, err := clients.CallerAccount(ctx, imgs[0].Regions[0])
	if err != nil {
		return nil, projectClients{}, err
	}
	roles := map[string]*awsclient.Factory{}
	for _, img := range imgs {
		img.Endpoint = target.Endpoint
		if img.RoleARN == "" || roles[img.RoleARN] != nil {
			continue
		}
		if roles[img.RoleARN], err = awsclient.New(ctx, awsclient.Options{Endpoint: target.Endpoint, RoleARN: img.RoleARN}); err != nil {
			return nil, projectClients{}, fmt.Errorf("image %s: %w", img.Name, err)
		}
	}
	return &bake.Baker{
		Clients:     func(r string) images.EC2 { return clients.EC2(r) },
		Account:     account,
		RoleClients: func(role, r string) images.EC2 { return roles[role].EC2(r) },
		SSMClients:  func(r string) images.SSM { return clients.SSM(r) },
		Packer:      bake.PackerCLI{},
		Log:         newLogger(e.stderr, logFormat),
		Version:     version,
	}, projectClients{clients, roles}, nil
}
