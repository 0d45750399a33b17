package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
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
the same object goes to .ami_ids.json beside the project file. Flags such as
--region, --role-arn or --owner are defaults for the images that do not set
them; one given on the command line for a setting the file sets is an error.`

// maxParallel bounds --parallel: each bake may run packer, which starts an
// instance; more at once is more likely a typo than a plan.
const maxParallel = 64

type bakeOptions struct {
	imageFlags
	build    options.Build
	out      options.Output
	parallel int
	test     bool
}

func newBakeCommand(e *env) *cobra.Command {
	var o bakeOptions
	cmd := &cobra.Command{
		Use:   "bake [IMAGE...]",
		Short: "Print the AMI for the current definition, building it only if none exists",
		Long: `bake fingerprints the definition, looks in every region for an AMI tagged
with the fingerprint and owned by a trusted account, and prints its id. A
region that lacks it gets a copy from one that has it; when no region has
it, packer builds it once, in the primary region.

stdout carries only the answer: the AMI id, one region=ami-id line per
region when there are several, or one JSON object with --json. On success
{"ami_id": ...} is also written to .ami_id.json beside the template.` + bakeProjectHelp + exitHelp,
		Example: `  ami-bakery bake --template ami/packer/ami.json --dir ami/ --region us-east-1
  terraform apply -var "ami_id=$(ami-bakery bake -t ami/packer/ami.json)"`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runBake(cmd.Context(), cmd, &o, args, e)
		},
	}
	fs := cmd.Flags()
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	o.wire.AddFlags(fs)
	o.build.AddFlags(fs)
	o.copies.AddFlags(fs)
	o.out.AddFlags(fs, true)
	o.base.AddFlags(fs)
	o.pub.AddFlags(fs)
	o.proj.AddFlags(fs)
	fs.IntVar(&o.parallel, "parallel", 4, "with a project: how many images may be baked at once")
	fs.BoolVar(&o.test, "test", false, "with a project: then run each image's tests (as ami-bakery test) before anything is published or printed; a failure exits 3")
	options.BindEnv(fs, "parallel", "AMI_BAKERY_PARALLEL")
	fs.SortFlags = false
	return cmd
}

func (o *bakeOptions) validate() error {
	if o.parallel < 1 || o.parallel > maxParallel {
		return options.FlagErr("parallel", usererr.WithHint(usererr.Usagef("--parallel %d is out of range", o.parallel), "--parallel must be between 1 and %d", maxParallel))
	}
	if err := o.build.Validate(); err != nil {
		return err
	}
	return o.out.Validate()
}

// runBake bakes the selected images: a single template is a one-image
// project, baked the same way.
func runBake(ctx context.Context, cmd *cobra.Command, o *bakeOptions, names []string, e *env) error {
	if err := o.validate(); err != nil {
		return err
	}
	ws, err := o.load(cmd.Flags(), names)
	if err != nil {
		return err
	}
	tests := &testOptions{packer: o.build.Packer, grace: o.build.Grace}
	var runs []*testRun
	if o.test {
		if ws.project.Single() {
			return usererr.WithHint(usererr.Usagef("--test needs a project file: a single template has no tests"),
				"declare test \"NAME\" { ... } blocks in bakery.hcl (see docs/testing.md)")
		}
		// A bad test is refused before anything is built.
		if runs, err = tests.prepare(ctx, ws); err != nil {
			return err
		}
	}
	// Output paths are checked before anything else: a typo must not
	// cost a build.
	so := o.sinkOptions(ws, e)
	if err := checkOutputs(ws, so); err != nil {
		return err
	}
	files := report.Sinks(so)
	if !ws.project.Single() {
		files = report.ProjectSinks(so)
	}
	log := newLogger(e.stderr, o.out.LogFormat)
	s, err := openSession(ctx, o.target.Endpoint, log, ws)
	if err != nil {
		return err
	}
	pubs := s.publishers(ws, o.build.PollInterval, o.pub.Timeout)
	sinks := append(pubs.sinks(ws), files...)
	if err := report.CheckAll(sinks); err != nil {
		return err
	}
	b := s.baker()
	b.RebuildRevoked = o.build.RebuildRevoked
	if o.build.Lock {
		b.Locks = func(role string) bake.Locker { return s.locker(role, &o.build) }
	}
	b.Wait = images.Waiter{Poll: o.build.PollInterval, Timeout: o.build.WaitTimeout, ReportEvery: 30 * time.Second}
	dir := ws.project.Dir
	b.GitCommit = func() string { return gitCommit(ctx, dir) }
	b.Project = sync.OnceValue(func() string { return ws.project.Identity(ctx) })
	if err := o.preparePacker(ctx, s, ws, e); err != nil {
		return err
	}
	plans, err := b.PlanAll(ctx, ws.imgs)
	if err != nil {
		return err
	}
	// What cannot be published is refused before anything is built.
	if _, err := pubs.plan(ctx, ws, plans); err != nil {
		return err
	}
	results, err := b.BakePlanned(ctx, ws.imgs, plans, o.parallel)
	if err != nil {
		return err
	}
	if len(runs) > 0 {
		failed, err := tests.execute(ctx, s, ws, runs, e)
		if err != nil {
			return err
		}
		for _, r := range runs {
			log.Info("test "+r.Test+": "+r.Result, "image", r.Image, "ami", r.AMI)
		}
		if err := testsFailed(failed, len(runs), "; nothing was published or written (the AMIs are kept: bake again after a fix reuses them)"); err != nil {
			return err
		}
	}
	return o.report(ctx, ws, results, sinks, b, e)
}

// report writes the result to the sinks, then stdout: a single template's
// as the AMI id (region=ami lines, or JSON), a project's as its table.
func (o *bakeOptions) report(ctx context.Context, ws *workset, results []bake.GraphResult, sinks []report.Sink, b *bake.Baker, e *env) error {
	res := report.ProjectResult{Images: make([]report.ImageResult, len(results))}
	for i, r := range results {
		img := ws.sel[i]
		res.Images[i] = report.NewImageResult(ws.name(i), img.ParentName, img.Level, r.Outcome)
		log := b.Log
		if !ws.project.Single() {
			log = log.With("image", img.Name)
		}
		log.Info(fmt.Sprintf("%s %s", r.Outcome.Action, r.Outcome.Primary()), "fingerprint", r.Outcome.Fingerprint.Sum)
	}
	all := report.Result{Project: &res}
	switch {
	case ws.project.Single() && len(results) > 1:
		builds, outs := make([]string, len(results)), make([]*bake.Outcome, len(results))
		for i, r := range results {
			builds[i], outs[i] = ws.imgs[i].Build, r.Outcome
		}
		all = report.FromBuilds(builds, outs)
	case ws.project.Single():
		all = report.FromOutcome(results[0].Outcome)
	}
	// Sinks first: if one cannot be written, nothing goes to stdout.
	if err := report.Publish(ctx, sinks, &all); err != nil {
		hint := "every image has its AMIs; run ami-bakery bake again to print them, they will be reused"
		if out := results[0].Outcome; ws.project.Single() {
			hint = fmt.Sprintf("the AMI %s was %s (fingerprint %s); run ami-bakery bake again to print it, it will be reused",
				out.Primary(), out.Action, out.Fingerprint.Sum)
		}
		return usererr.WithHint(fmt.Errorf("writing the result: %w", err), "%s", hint)
	}
	if ws.project.Single() {
		return report.Print(e.stdout, all, o.out.JSON)
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

// preparePacker gives each image what packer needs that the definition
// does not say: the binary, its environment (the role's credentials),
// its flags and where its progress goes.
func (o *bakeOptions) preparePacker(ctx context.Context, s *session, ws *workset, e *env) error {
	var mu sync.Mutex
	for _, img := range ws.imgs {
		env, err := s.packerEnv(ctx, img)
		if err != nil {
			return err
		}
		var progress io.Writer = e.stderr
		if !ws.project.Single() {
			progress = &prefixLines{w: e.stderr, prefix: "[" + img.Name + "] ", mu: &mu}
		}
		if o.out.LogFormat == "json" {
			progress = logging.Lines(s.log.With("image", img.Name), "packer")
		}
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

// checkOutputs refuses an output path that is an input of an image:
// writing it would change the fingerprint, so the next run would build
// again, and a plan could never agree with the bake that wrote it.
func checkOutputs(ws *workset, so report.SinkOptions) error {
	for _, out := range []struct{ flag, path string }{
		{"output-file", so.OutputFile}, {"tfvars-file", so.TFVarsFile}, {"", so.GitHubOutput}, {"", so.GitHubSummary},
	} {
		if out.path == "" {
			continue
		}
		if err := checkOutput(ws, out.path); err != nil && out.flag != "" {
			return options.FlagErr(out.flag, err)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// checkOutput refuses one output path that is an input of an image.
func checkOutput(ws *workset, p string) error {
	for _, img := range ws.imgs {
		{
			what, err := fingerprint.InputOf(img.Spec, p)
			if err != nil {
				return err
			}
			if what == "" {
				continue
			}
			if ws.project.Single() {
				return usererr.WithHint(usererr.Usagef("output file %s is an input of the definition (%s)", p, what),
					"writing it would change the fingerprint: write results outside the definition; %s beside the template is the one output left out of the fingerprint",
					options.DefaultOutputFile)
			}
			return usererr.WithHint(usererr.Usagef("output file %s is an input of image %s (%s)", p, img.Name, what),
				"writing it would change the fingerprint: write results outside the images' directories")
		}
	}
	return nil
}

// sinkOptions names where the result goes besides stdout: the files the
// flags name (by default .ami_id.json beside a single template, or
// .ami_ids.json beside the project file), and the GitHub Actions files
// when running there.
func (o *bakeOptions) sinkOptions(ws *workset, e *env) report.SinkOptions {
	ghOutput, _ := e.getenv("GITHUB_OUTPUT")
	ghSummary, _ := e.getenv("GITHUB_STEP_SUMMARY")
	out := o.out.OutputFile
	switch {
	case out == "none":
		out = ""
	case out != "":
	case ws.project.Single():
		out = filepath.Join(o.def.TemplateDir(), options.DefaultOutputFile)
	default:
		out = filepath.Join(ws.project.Dir, project.ResultFile)
	}
	return report.SinkOptions{
		OutputFile:    out,
		TFVarsFile:    o.out.TFVarsFile,
		GitHubOutput:  ghOutput,
		GitHubSummary: ghSummary,
	}
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
