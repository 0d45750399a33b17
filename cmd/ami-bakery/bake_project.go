package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/logging"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

const bakeProjectHelp = `

With a project file of many images (bakery.hcl or bakery.json in the working
directory, or --config), bake takes the images named as arguments and their
ancestors (all by default) and bakes them parents first, up to --parallel at
a time; each child's parent_var receives its parent's AMI in the build
region. What exists is reused, so a rerun after a failure resumes. stdout
has one "IMAGE REGION AMI" line per image and region, or with --json
{"images": {NAME: {"ami_id", "amis", "fingerprint", "action", "parent"}}};
the same object goes to .ami_ids.json beside the project file.`

// maxParallel bounds --parallel: each bake may run packer, which starts an
// instance; more at once is more likely a typo than a plan.
const maxParallel = 64

// bakeProjectOptions are bake's flags for a project, and --name for one
// template.
type bakeProjectOptions struct {
	project  options.Project
	parallel int
	name     string
}

func (o *bakeProjectOptions) addFlags(fs *pflag.FlagSet) {
	o.project.AddFlags(fs)
	fs.IntVar(&o.parallel, "parallel", 4, "with a project: how many images may be baked at once")
	options.BindEnv(fs, "parallel", "AMI_BAKERY_PARALLEL")
	fs.StringVar(&o.name, "name", "", "without a project: the image's name, tagged ami-bakery:image (default: the template's file name without extension)")
}

func (o *bakeProjectOptions) validate() error {
	if o.name != "" {
		return usererr.WithHint(usererr.Usagef("--name is for a single template"), "a project names its images in the project file")
	}
	if o.parallel < 1 || o.parallel > maxParallel {
		return usererr.WithHint(usererr.Usagef("--parallel %d is out of range", o.parallel), "--parallel must be between 1 and %d", maxParallel)
	}
	return nil
}

// imageName is the single-template image's name: --name, else the
// template's file name without its extension (.json, .pkr.hcl), or a
// directory template's own name.
func (o *bakeProjectOptions) imageName(template string) (string, error) {
	if o.name != "" {
		if !project.ValidName(o.name) {
			return "", usererr.WithHint(usererr.Usagef("invalid --name %q", o.name), "a name is letters, digits, '.', '_' and '-', starting with a letter or digit")
		}
		return o.name, nil
	}
	return singleName(template), nil
}

// runBakeProject bakes the images of the project file at path.
func runBakeProject(ctx context.Context, o *bakeOptions, path string, names []string, e *env) error {
	if err := o.proj.validate(); err != nil {
		return err
	}
	if err := o.build.Validate(); err != nil {
		return err
	}
	p, sel, err := loadSelect(path, names)
	if err != nil {
		return err
	}
	if o.out.OutputFile == "" {
		o.out.OutputFile = filepath.Join(p.Dir, project.ResultFile)
	}
	if err := o.out.Validate(""); err != nil {
		return err
	}
	imgs := p.BakeImages(sel)
	if err := p.PinBases(imgs); err != nil {
		return err
	}
	so := o.sinkOptions(e)
	if err := checkProjectOutputs(imgs, so.Paths()); err != nil {
		return err
	}
	var factory *awsclient.Factory
	sinks := append(projectPublishSinks(ctx, sel, &factory, o.build.PollInterval, o.pub.Timeout), report.ProjectSinks(so)...)
	if err := report.CheckAll(sinks); err != nil {
		return err
	}
	b, clients, err := projectBaker(ctx, imgs, &o.target, e, o.out.LogFormat)
	if err != nil {
		return err
	}
	factory = clients.def
	if err := o.prepareProject(ctx, b, clients, imgs, p.Dir, e); err != nil {
		return err
	}
	results, err := b.BakeGraph(ctx, imgs, o.proj.parallel)
	if err != nil {
		return err
	}
	res := report.ProjectResult{Images: make([]report.ImageResult, len(results))}
	for i, r := range results {
		res.Images[i] = report.NewImageResult(sel[i].Name, sel[i].ParentName, sel[i].Level, r.Outcome)
		b.Log.Info(fmt.Sprintf("%s %s", r.Outcome.Action, r.Outcome.Primary()), "image", sel[i].Name, "fingerprint", r.Outcome.Fingerprint.Sum)
	}
	all := report.Result{Project: &res}
	if err := report.Publish(sinks, &all); err != nil {
		return usererr.WithHint(fmt.Errorf("writing the result: %w", err),
			"every image has its AMIs; run ami-bakery bake again to print them, they will be reused")
	}
	for _, pub := range all.Published {
		for i := range res.Images {
			if res.Images[i].Name == pub.Image {
				res.Images[i].Published = append(res.Images[i].Published, pub)
			}
		}
	}
	return report.PrintProject(e.stdout, res, o.out.JSON)
}

// prepareProject gives the Baker and the images what the project file does
// not say: the lock, the waits, packer and its environment, the subnet.
func (o *bakeOptions) prepareProject(ctx context.Context, b *bake.Baker, clients projectClients, imgs []*bake.Image, dir string, e *env) error {
	if o.build.Lock {
		b.Lock = newLocker(clients.def, &o.build, b.Log)
	}
	b.Wait = images.Waiter{Poll: o.build.PollInterval, Timeout: o.build.WaitTimeout, ReportEvery: 30 * time.Second}
	b.GitCommit = func() string { return gitCommit(ctx, dir) }
	var mu sync.Mutex
	for _, img := range imgs {
		env, err := clients.forImage(img).PackerEnv(ctx, os.Environ())
		if err != nil {
			return fmt.Errorf("image %s: %w", img.Name, err)
		}
		var progress io.Writer = &prefixLines{w: e.stderr, prefix: "[" + img.Name + "] ", mu: &mu}
		if o.out.LogFormat == "json" {
			progress = logging.Lines(b.Log.With("image", img.Name), "packer")
		}
		img.SubnetID = o.wire.SubnetID
		img.Packer.Env = env
		img.Packer.Packer = o.build.Packer
		img.Packer.OnError = o.build.OnError
		img.Packer.Debug = o.build.Debug
		img.Packer.Progress = progress
		img.Packer.Grace = o.build.Grace
		img.Packer.Kill = e.kill
	}
	return nil
}

// checkProjectOutputs refuses an output path that is an input of one of
// the images, as checkOutputs does for one template.
func checkProjectOutputs(imgs []*bake.Image, paths []string) error {
	for _, img := range imgs {
		for _, p := range paths {
			what, err := fingerprint.InputOf(img.Spec, p)
			if err != nil {
				return err
			}
			if what != "" {
				return usererr.WithHint(usererr.Usagef("output file %s is an input of image %s (%s)", p, img.Name, what),
					"writing it would change the fingerprint: write results outside the images' directories")
			}
		}
	}
	return nil
}

// prefixLines writes each line given to it (packer's progress comes a line
// per write) after prefix, so that images baked at once can be told apart.
type prefixLines struct {
	w      io.Writer
	prefix string
	mu     *sync.Mutex
}

func (p *prefixLines) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := io.WriteString(p.w, p.prefix+string(b)); err != nil {
		return 0, err
	}
	return len(b), nil
}
