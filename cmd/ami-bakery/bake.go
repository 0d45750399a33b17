package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/lock"
	"github.com/ami-bakery/ami-bakery/internal/logging"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/report"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

type bakeOptions struct {
	imageFlags
	build options.Build
	out   options.Output
	pub   options.Publish
	proj  bakeProjectOptions
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
			return withProject(cmd, args, &o.proj.project, &o.def,
				func(path string) error { return runBakeProject(cmd.Context(), &o, path, args, e) },
				func() error { return runBake(cmd.Context(), &o, e) })
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
	o.proj.addFlags(fs)
	fs.SortFlags = false
	return cmd
}

func (o *bakeOptions) validate() error {
	if err := o.imageFlags.validate(); err != nil {
		return err
	}
	if err := o.build.Validate(); err != nil {
		return err
	}
	if err := o.pub.Validate(); err != nil {
		return err
	}
	return o.out.Validate(o.def.TemplateDir())
}

// prepare builds what a plan needs from validated options: the Image (its
// fingerprint spec, loaded template, regions and how its AMI is found) and
// a Baker with EC2 clients whose credentials were checked, and the client
// factory, for what a bake adds.
func prepare(ctx context.Context, def *options.Definition, target *options.Target, wire *options.Wiring, e *env, logFormat string) (*bake.Baker, *bake.Image, *awsclient.Factory, error) {
	sp, _, err := spec(def)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl, err := packer.LoadTemplate(def.Template)
	if err != nil {
		return nil, nil, nil, err
	}
	log := newLogger(e.stderr, logFormat)
	clients, err := awsclient.New(ctx, awsclient.Options{Endpoint: target.Endpoint, RoleARN: target.RoleARN, Log: log})
	if err != nil {
		return nil, nil, nil, err
	}
	if err := clients.CheckCredentials(ctx); err != nil {
		return nil, nil, nil, err
	}
	account, err := clients.CallerAccount(ctx, target.AllRegions()[0])
	if err != nil {
		return nil, nil, nil, err
	}
	img := &bake.Image{
		Spec:     sp,
		Template: tmpl,
		Regions:  target.AllRegions(),
		Owners:   target.TrustedOwners(),
		TagKey:   target.TagKey,
		ByName:   target.By == "name",
		Endpoint: target.Endpoint,

		FingerprintVar: wire.FingerprintVar,
		SubnetID:       wire.SubnetID,
		RegionVar:      wire.RegionVar,
		SubnetVar:      wire.SubnetVar,
		EndpointVar:    wire.EndpointVar,
		PackerDir:      def.PackerDir,
		Packer:         packer.BuildOptions{Only: wire.Only, Vars: userVars(def.Vars)},
	}
	b := &bake.Baker{
		Clients: func(r string) images.EC2 { return clients.EC2(r) },
		Account: account,
		Packer:  bake.PackerCLI{},
		Log:     log,
		Version: version,
	}
	return b, img, clients, nil
}

func runBake(ctx context.Context, o *bakeOptions, e *env) error {
	if err := o.validate(); err != nil {
		return err
	}
	name, err := o.proj.imageName(o.def.Template)
	if err != nil {
		return err
	}
	// Output paths are checked before anything else: a typo must not
	// cost a build.
	so := o.sinkOptions(e)
	if err := checkOutputs(&o.def, so.Paths()); err != nil {
		return err
	}
	var clients *awsclient.Factory
	sinks := append(publishSinks(ctx, &o.pub, &clients, o.build.PollInterval), report.Sinks(so)...)
	if err := report.CheckAll(sinks); err != nil {
		return err
	}
	b, img, clients, err := o.prepare(ctx, e, o.out.LogFormat)
	if err != nil {
		return err
	}
	if o.build.Lock {
		b.Lock = newLocker(clients, &o.build, b.Log)
	}
	varFiles, err := absAll(o.def.VarFiles)
	if err != nil {
		return err
	}
	progress := e.stderr
	if o.out.LogFormat == "json" {
		progress = logging.Lines(b.Log, "packer")
	}
	img.Name = name
	b.GitCommit = func() string { return gitCommit(ctx, o.def.TemplateDir()) }
	b.Wait = images.Waiter{Poll: o.build.PollInterval, Timeout: o.build.WaitTimeout, ReportEvery: 30 * time.Second}
	packerEnv, err := clients.PackerEnv(ctx, os.Environ())
	if err != nil {
		return err
	}
	img.Packer = packer.BuildOptions{
		Env:      packerEnv,
		Packer:   o.build.Packer,
		Vars:     img.Packer.Vars,
		VarFiles: varFiles,
		Only:     img.Packer.Only,
		OnError:  o.build.OnError,
		Debug:    o.build.Debug,
		Progress: progress,
		Grace:    o.build.Grace,
		Kill:     e.kill,
	}

	out, err := b.Bake(ctx, img)
	if err != nil {
		return err
	}
	res := report.FromOutcome(out)
	// Sinks first: if one cannot be written, nothing goes to stdout.
	if err := report.Publish(sinks, &res); err != nil {
		return usererr.WithHint(fmt.Errorf("writing the result: %w", err),
			"the AMI %s was %s (fingerprint %s); run ami-bakery bake again to print it, it will be reused",
			out.Primary(), out.Action, out.Fingerprint.Sum)
	}
	b.Log.Info(fmt.Sprintf("%s %s", out.Action, out.Primary()), "fingerprint", out.Fingerprint.Sum)
	return report.Print(e.stdout, res, o.out.JSON)
}

// newLocker makes the EC2 build lock with the build flags' lease and poll.
func newLocker(clients *awsclient.Factory, o *options.Build, log *slog.Logger) *lock.Locker {
	return &lock.Locker{
		Clients: func(r string) lock.EC2 { return clients.EC2(r) },
		Lease:   o.LockLease,
		Poll:    o.PollInterval,
		Log:     log,
	}
}

// checkOutputs refuses an output path that is an input of the definition:
// writing it would change the fingerprint, so the next run would build
// again, and a plan could never agree with the bake that wrote it.
func checkOutputs(def *options.Definition, paths []string) error {
	sp, _, err := spec(def)
	if err != nil {
		return err
	}
	for _, p := range paths {
		what, err := fingerprint.InputOf(sp, p)
		if err != nil {
			return err
		}
		if what != "" {
			return usererr.WithHint(usererr.Usagef("output file %s is an input of the definition (%s)", p, what),
				"writing it would change the fingerprint: write results outside the definition; %s beside the template is the one output left out of the fingerprint",
				options.DefaultOutputFile)
		}
	}
	return nil
}

// sinkOptions names where the result goes besides stdout: the files the
// flags name, and the GitHub Actions files when running there.
func (o *bakeOptions) sinkOptions(e *env) report.SinkOptions {
	ghOutput, _ := e.getenv("GITHUB_OUTPUT")
	ghSummary, _ := e.getenv("GITHUB_STEP_SUMMARY")
	return report.SinkOptions{
		OutputFile:    o.out.OutputFile,
		TFVarsFile:    o.out.TFVarsFile,
		GitHubOutput:  ghOutput,
		GitHubSummary: ghSummary,
	}
}

// userVars are the --var values as packer variables, in order.
func userVars(vs []string) []packer.Var {
	out := make([]packer.Var, len(vs))
	for i, v := range vs {
		out[i] = packer.Var{Name: options.VarName(v), Value: v[len(options.VarName(v))+1:]}
	}
	return out
}
