package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/spf13/cobra"

	"github.com/ami-bakery/ami-bakery/cmd/ami-bakery/options"
	"github.com/ami-bakery/ami-bakery/internal/bake"
	"github.com/ami-bakery/ami-bakery/internal/channel"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Test results, as printed and as tagged on the AMI.
const (
	testPass          = "pass"
	testFail          = "fail"
	testAlreadyPassed = "already-passed"
)

// testTagPrefix starts the tags a test's result is recorded in:
// PREFIX+NAME (pass or fail), PREFIX+NAME+":fingerprint", PREFIX+NAME+":at".
const testTagPrefix = channel.TestTagPrefix

// testTailLines is how many of a failed test's last output lines stderr
// shows.
const testTailLines = 20

type testOptions struct {
	imageFlags
	out    options.Output
	packer string
	grace  time.Duration

	// compat is whether template tests run in compatibility mode
	// (test_compat.go), decided once a run, before the first template test.
	compat, compatDecided bool
}

func newTestCommand(e *env) *cobra.Command {
	var o testOptions
	cmd := &cobra.Command{
		Use:   "test [IMAGE...]",
		Short: "Run the tests of each image's current AMI, once per AMI and test fingerprint",
		Long: `test runs the test blocks of a project's images (bakery.hcl) against each
image's current AMI: the AMI of its current fingerprint, found as plan finds
it, in its primary region. An image that is not up to date there is refused:
bake it first. Each test runs once, in the primary region; its result is
recorded on the AMI as the tags ami-bakery:test:NAME (pass or fail),
ami-bakery:test:NAME:fingerprint and ami-bakery:test:NAME:at. A test has a
fingerprint of its own (its template or command, dirs and vars): a pass is
not repeated for the same AMI and test fingerprint, and editing only a test
runs it again on the same AMI without rebuilding anything.

A template test is run by packer with the AMI in the variable source_ami (or
the test's var) and must set skip_create_ami = true. A packer before 1.7.0
lacks skip_create_ami: it runs a copy of the template without it, and the
AMI it makes is deleted (compatibility mode). A command test runs
without a shell from the project file's directory, with AMI_ID, REGION and
IMAGE in its environment, and passes when it exits 0.

stdout has one "IMAGE TEST RESULT" line per test (pass, fail or
already-passed), or with --json {"tests": [...]}. A failed test's last
output lines go to stderr, and test exits 3 after running the others.
A single template (--template) has no tests.` + exitHelp,
		Example: `  ami-bakery bake && ami-bakery test
  ami-bakery test app --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := applyEnv(cmd, e); err != nil {
				return err
			}
			return runTest(cmd.Context(), cmd, &o, args, e)
		},
	}
	fs := cmd.Flags()
	o.def.AddFlags(fs)
	o.target.AddFlags(fs)
	o.wire.AddFlags(fs)
	o.out.AddFlags(fs, false)
	fs.StringVar(&o.packer, "packer", "packer", "packer binary for template tests (a path, or a name looked up on PATH)")
	options.BindEnv(fs, "packer", "AMI_BAKERY_PACKER")
	fs.DurationVar(&o.grace, "grace", packer.DefaultGrace, "after an interrupt, how long packer may take to clean up before it is killed")
	o.proj.AddFlags(fs)
	fs.SortFlags = false
	return cmd
}

// testRun is one test of one image's AMI, and its outcome.
type testRun struct {
	Image       string `json:"image"`
	Test        string `json:"test"`
	AMI         string `json:"ami"`
	Region      string `json:"region"`
	Fingerprint string `json:"fingerprint"`
	Result      string `json:"result"`

	img      *bake.Image
	test     *project.Test
	template *packer.Template // a template test's, read before AWS
	dir      string           // the project file's directory
	tail     []string         // a failure's last output lines
	why      string           // a failure's reason
}

func runTest(ctx context.Context, cmd *cobra.Command, o *testOptions, names []string, e *env) error {
	if err := o.out.Validate(); err != nil {
		return err
	}
	path, err := o.proj.Path(cmd.Flags(), &o.def)
	if err != nil {
		return err
	}
	if path == "" {
		return usererr.WithHint(usererr.Usagef("a single template has no tests: tests live in a project file's test blocks"),
			"declare test \"NAME\" { ... } blocks in bakery.hcl (see docs/testing.md) and run ami-bakery test without --template")
	}
	ws, err := o.load(cmd.Flags(), names)
	if err != nil {
		return err
	}
	runs, err := o.prepare(ctx, ws)
	if err != nil {
		return err
	}
	log := newLogger(e.stderr, o.out.LogFormat)
	if len(runs) == 0 {
		log.Info("no test: the images selected have no test blocks")
		return printTests(e.stdout, nil, o.out.JSON)
	}
	s, err := openSession(ctx, o.target.Endpoint, log, ws)
	if err != nil {
		return err
	}
	failed, err := o.execute(ctx, s, ws, runs, e)
	if err != nil {
		return err
	}
	if err := printTests(e.stdout, runs, o.out.JSON); err != nil {
		return err
	}
	return testsFailed(failed, len(runs), "")
}

// execute runs the tests against each image's current AMI, in its primary
// region: every image must have it before any test runs. A failed test's
// reason and output tail go to stderr; failed names each failure.
func (o *testOptions) execute(ctx context.Context, s *session, ws *workset, runs []*testRun, e *env) (failed []string, err error) {
	b := s.baker()
	plans, err := b.PlanAll(ctx, ws.imgs)
	if err != nil {
		return nil, err
	}
	amis := map[*bake.Image]string{}
	for i, img := range ws.imgs {
		if !slices.ContainsFunc(runs, func(r *testRun) bool { return r.img == img }) {
			continue
		}
		d := plans[i].Regions[0]
		if d.Action != bake.Reuse {
			return nil, usererr.WithHint(fmt.Errorf("image %s has no AMI of its current fingerprint in %s (plan: %s): nothing to test", ws.name(i), d.Region, d.Action),
				"bake it first: ami-bakery bake %s", ws.sel[i].Name)
		}
		amis[img] = d.AMI
	}
	for _, r := range runs {
		r.AMI, r.Region = amis[r.img], r.img.Regions[0]
		if err := o.runOne(ctx, s, b, r, e); err != nil {
			return nil, err
		}
		if r.Result == testFail {
			failed = append(failed, r.Image+"/"+r.Test)
			fmt.Fprintf(e.stderr, "ami-bakery: test %s of image %s failed on %s: %s\n", r.Test, r.Image, r.AMI, r.why)
			for _, l := range r.tail {
				fmt.Fprintf(e.stderr, "  | %s\n", l)
			}
		}
	}
	return failed, nil
}

// testsFailed is the error for failed tests (exit 3), nil for none; then
// says what did not happen because of them.
func testsFailed(failed []string, of int, then string) error {
	if len(failed) == 0 {
		return nil
	}
	return usererr.Gate(fmt.Errorf("%d of %d tests failed: %s%s", len(failed), of, strings.Join(failed, ", "), then))
}

// prepare lists the selected images' tests, computes each test's
// fingerprint and reads each template test's template, refusing one that
// would make an AMI: everything that needs no AWS.
func (o *testOptions) prepare(ctx context.Context, ws *workset) ([]*testRun, error) {
	var runs []*testRun
	for i, img := range ws.imgs {
		for _, t := range ws.sel[i].Tests {
			r := &testRun{Image: ws.name(i), Test: t.Name, img: img, test: t, dir: ws.project.Dir}
			if t.Template != "" {
				tmpl, err := packer.LoadTemplate(t.Template)
				if err != nil {
					return nil, usererr.Usage(fmt.Errorf("image %s: test %s: %w", r.Image, t.Name, err))
				}
				if err := checkTestTemplate(tmpl, t); err != nil {
					return nil, fmt.Errorf("image %s: test %s: %w", r.Image, t.Name, err)
				}
				r.template = tmpl
			}
			fp, err := t.Fingerprint(ctx, ws.project.Dir)
			if err != nil {
				return nil, fmt.Errorf("image %s: test %s: %w", r.Image, t.Name, err)
			}
			r.Fingerprint = fp
			runs = append(runs, r)
		}
	}
	return runs, nil
}

// checkTestTemplate refuses a test template that could make an AMI: each
// of its amazon sources must set skip_create_ami = true, and it must
// declare the variable receiving the AMI under test.
func checkTestTemplate(tmpl *packer.Template, t *project.Test) error {
	sources := tmpl.AmazonSources()
	if len(sources) == 0 {
		return usererr.Usage(usererr.WithHint(fmt.Errorf("the template %s has no amazon source to launch the AMI", t.Template),
			"use an amazon-ebs source with source_ami = var.%s and skip_create_ami = true", t.Var))
	}
	vars := map[string]string{}
	for k, v := range t.Vars {
		vars[k] = v
	}
	skip, _ := packer.SkippingAMI(sources, vars)
	for _, s := range sources {
		if !slices.ContainsFunc(skip, func(k packer.Source) bool { return k.Name == s.Name }) {
			return usererr.Usage(usererr.WithHint(fmt.Errorf("source %s of template %s does not set skip_create_ami = true: a test must not make an AMI", s.Name, t.Template),
				"set skip_create_ami = true in the source"))
		}
	}
	if !tmpl.Declares(t.Var) {
		return usererr.Usage(usererr.WithHint(fmt.Errorf("the template %s does not declare the variable %s, which receives the AMI under test", t.Template, t.Var),
			"declare variable %q and use it as the source's source_ami, or name another with var", t.Var))
	}
	return nil
}

// runOne runs r unless the AMI's tags say it passed with this
// fingerprint, and records its result on the AMI.
func (o *testOptions) runOne(ctx context.Context, s *session, b *bake.Baker, r *testRun, e *env) error {
	c := b.Clients(r.img.RoleARN, r.Region)
	tags, err := amiTags(ctx, c, r.AMI)
	if err != nil {
		return fmt.Errorf("image %s: reading the test results of %s: %w", r.Image, r.AMI, err)
	}
	key := testTagPrefix + r.Test
	if tags[key] == testPass && tags[key+":fingerprint"] == r.Fingerprint {
		s.log.Info("test "+r.Test+" already passed on "+r.AMI+" with this fingerprint", "image", r.Image)
		r.Result = testAlreadyPassed
		return nil
	}
	s.log.Info("running test "+r.Test+" on "+r.AMI, "image", r.Image, "region", r.Region)
	env, err := s.packerEnv(ctx, r.img)
	if err != nil {
		return err
	}
	if r.template != nil {
		if err := o.decideCompat(ctx, s, env, e); err != nil {
			return err
		}
	}
	tctx, cancel := context.WithTimeout(ctx, r.test.Timeout)
	defer cancel()
	out := &tailWriter{max: testTailLines}
	// cleanErr is ami-bakery's own failure to clean up after the test
	// (compatibility mode), which is no result of the test.
	var cleanErr error
	if r.template != nil {
		err, cleanErr = o.runTemplate(tctx, s, r, env, out, e)
	} else {
		err = runCommand(tctx, r, env, out)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("image %s: test %s: %w", r.Image, r.Test, errors.Join(ctx.Err(), err, cleanErr))
	}
	r.Result = testPass
	if err != nil {
		r.Result, r.tail = testFail, out.lines()
		r.why = err.Error()
		if tctx.Err() == context.DeadlineExceeded {
			r.why = fmt.Sprintf("timed out after %s", r.test.Timeout)
		}
		if bt := (*packer.BuildError)(nil); errors.As(err, &bt) {
			r.why = bt.Err.Error()
			if !o.compat && slices.ContainsFunc(bt.Tail, func(l string) bool { return strings.Contains(l, `unknown configuration key: '"skip_create_ami"'`) }) {
				// Only when `packer version` named no version: the
				// compatibility mode is for the packers that lack it.
				r.why += "; this packer does not know skip_create_ami, though its version did not say so: see the compatibility mode in docs/testing.md"
			}
		}
	}
	at := time.Now().UTC().Format(time.RFC3339)
	if _, err := c.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{r.AMI}, Tags: []types.Tag{
		{Key: aws.String(key), Value: aws.String(r.Result)},
		{Key: aws.String(key + ":fingerprint"), Value: aws.String(r.Fingerprint)},
		{Key: aws.String(key + ":at"), Value: aws.String(at)},
	}}); err != nil {
		return errors.Join(fmt.Errorf("image %s: recording test %s's result (%s) on %s: %w", r.Image, r.Test, r.Result, r.AMI, err), cleanErr)
	}
	return cleanErr
}

// runTemplate runs a template test with packer: the AMI in the test's var,
// the region and endpoint in the variables the sources use for them, as a
// bake passes them, and the test's vars. testErr is the test's failure;
// err is ami-bakery's own, in compatibility mode: a copy of the template
// that could not be written or removed, or an AMI packer made that could
// not be deleted.
func (o *testOptions) runTemplate(ctx context.Context, s *session, r *testRun, env []string, out io.Writer, e *env) (testErr, err error) {
	t, tmpl := r.test, r.template
	sources := tmpl.AmazonSources()
	bo := packer.BuildOptions{
		Packer: o.packer, Template: t.Template, Dir: filepath.Dir(t.Template), Env: env,
		Progress: out, Grace: o.grace, Kill: e.kill,
	}
	if fi, err := os.Stat(t.Template); err == nil && fi.IsDir() {
		bo.Dir = t.Template
	}
	vars := []packer.Var{{Name: t.Var, Value: r.AMI}}
	give := func(setting, explicit, legacy, value string) {
		if value == "" {
			return
		}
		names, _ := packer.SettingVars(sources, setting)
		names = append(names, explicit, legacy)
		var done []string
		for _, n := range names {
			if n == "" || n == t.Var || slices.Contains(done, n) || !tmpl.Declares(n) {
				continue
			}
			if _, own := t.Vars[n]; own {
				continue
			}
			done = append(done, n)
			vars = append(vars, packer.Var{Name: n, Value: value})
		}
	}
	give("region", r.img.RegionVar, bake.VarRegion, r.Region)
	give("custom_endpoint_ec2", r.img.EndpointVar, bake.VarEndpoint, r.img.Endpoint)
	for _, k := range slices.Sorted(maps.Keys(t.Vars)) {
		vars = append(vars, packer.Var{Name: k, Value: t.Vars[k]})
	}
	bo.Vars = vars
	if len(packer.WithoutRegion(sources)) > 0 {
		bo.SetEnv = []string{"AWS_REGION=" + r.Region, "AWS_DEFAULT_REGION=" + r.Region}
	}
	if o.compat {
		return o.runCompat(ctx, s, r, bo)
	}
	_, err = packer.Build(ctx, bo)
	return testResult(err), nil
}

// testResult is a template test's failure given packer.Build's error: none
// when packer succeeded, whether or not it made an AMI (with
// skip_create_ami it makes none).
func testResult(err error) error {
	if errors.Is(err, packer.ErrNoArtifacts) || errors.Is(err, packer.ErrNoAMI) {
		return nil
	}
	return err
}

// runCommand runs a command test: no shell, from the project file's
// directory, with AMI_ID, REGION and IMAGE added to env.
func runCommand(ctx context.Context, r *testRun, env []string, out io.Writer) error {
	cmd := exec.CommandContext(ctx, r.test.Command[0], r.test.Command[1:]...)
	cmd.Dir = r.dir
	cmd.Env = append(slices.Clone(env), "AMI_ID="+r.AMI, "REGION="+r.Region, "IMAGE="+r.img.Name)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("running %s: %w", strings.Join(r.test.Command, " "), err)
	}
	return nil
}

// amiTags returns the tags of the AMI id.
func amiTags(ctx context.Context, c images.EC2, id string) (map[string]string, error) {
	out, err := c.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{id}})
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, im := range out.Images {
		for _, t := range im.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return tags, nil
}

// printTests writes the results: "IMAGE TEST RESULT" lines, or JSON.
func printTests(w io.Writer, runs []*testRun, asJSON bool) error {
	if asJSON {
		if runs == nil {
			runs = []*testRun{}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Tests []*testRun `json:"tests"`
		}{runs})
	}
	for _, r := range runs {
		if _, err := fmt.Fprintf(w, "%s %s %s\n", r.Image, r.Test, r.Result); err != nil {
			return err
		}
	}
	return nil
}

// tailWriter keeps the last max lines written to it.
type tailWriter struct {
	mu      sync.Mutex
	max     int
	partial []byte
	tail    []string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, p...)
	for {
		i := slices.Index(t.partial, '\n')
		if i < 0 {
			break
		}
		t.add(string(t.partial[:i]))
		t.partial = t.partial[i+1:]
	}
	return len(p), nil
}

func (t *tailWriter) add(l string) {
	t.tail = append(t.tail, l)
	if len(t.tail) > t.max {
		t.tail = t.tail[len(t.tail)-t.max:]
	}
}

// lines returns the last lines, an unfinished one included.
func (t *tailWriter) lines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.partial) > 0 {
		t.add(string(t.partial))
		t.partial = nil
	}
	return slices.Clone(t.tail)
}
