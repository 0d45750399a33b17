package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/testenv"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"ami-bakery": func() { os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv)) },
		// A crash as main sets it up: a panic in a goroutine, which no
		// recover in Main could catch.
		"ami-bakery-crash": func() {
			crashBySignal()
			go panic("deliberate crash")
			select {}
		},
		"fake-packer": func() { os.Exit(fakePacker()) },
		"exit-status": func() { os.Exit(exitStatusOf()) },
	})
}

// TestScripts runs the CLI scripts in testdata/script. Each script gets a
// fresh EC2 emulator on loopback, credentials for awsemu.DefaultAccount and
// the emu command to inspect and change it. Scripts that need the real
// packer start with [!exec:packer] skip; under CI a missing packer fails
// instead (see requirePacker).
//
// UPDATE_SCRIPTS=1 go test -run TestScripts ./cmd/ami-bakery rewrites the
// expected files of failing cmp commands in place, for a deliberate change
// of output; review the diff before committing it.
func TestScripts(t *testing.T) {
	requirePacker(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       os.Getenv("UPDATE_SCRIPTS") == "1",
		Setup:               setupScript,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"emu":      cmdEmu,
			"seedplan": cmdSeedPlan,
			"exits":    cmdExits,
			"distinct": cmdDistinct,
			"capture":  cmdCapture,
			"waitfile": cmdWaitFile,
			"term":     cmdTerm,
			"sleep": func(ts *testscript.TestScript, neg bool, args []string) {
				d, err := time.ParseDuration(args[0])
				ts.Check(err)
				time.Sleep(d)
			},
		},
	})
}

// requirePacker fails the run under CI when packer is missing, so that end
// to end scripts can never be skipped there by accident.
func requirePacker(t *testing.T) {
	if _, err := exec.LookPath("packer"); err != nil && testenv.InCI() {
		t.Fatal("packer is not on PATH but CI is set: the end-to-end scripts need it (scripts/ensure-deps.sh installs it)")
	}
}

// tagArgs parses key=value arguments; a value @FILE is FILE's content.
func tagArgs(ts *testscript.TestScript, args []string) map[string]string {
	tags := map[string]string{}
	for _, kv := range args {
		k, v, _ := strings.Cut(kv, "=")
		if f, ok := strings.CutPrefix(v, "@"); ok {
			v = strings.TrimSpace(ts.ReadFile(f))
		}
		tags[k] = v
	}
	return tags
}

// exitStatusOf is a program for scripts that need the exit status of a
// background command: "exit-status FILE PROG ARGS..." runs PROG, passes it
// SIGINT and SIGTERM, and writes its exit status to FILE.
func exitStatusOf() int {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: exit-status FILE PROG [ARGS...]")
		return 2
	}
	cmd := exec.Command(os.Args[2], os.Args[3:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	go func() {
		for s := range sigs {
			cmd.Process.Signal(s)
		}
	}()
	cmd.Wait()
	code := cmd.ProcessState.ExitCode()
	os.WriteFile(os.Args[1], []byte(strconv.Itoa(code)+"\n"), 0o644)
	return code
}

var signalNames = map[syscall.Signal]string{
	syscall.SIGABRT: "SIGABRT", syscall.SIGINT: "SIGINT", syscall.SIGKILL: "SIGKILL", syscall.SIGTERM: "SIGTERM",
}

// cmdExits runs a program and asserts its exit status, or the signal that
// ended it:
//
//	exits N PROGRAM [ARGS...]
//	exits SIGABRT PROGRAM [ARGS...]
func cmdExits(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exits N|SIGNAME PROGRAM [ARGS...]")
	}
	got := "0"
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			ts.Fatalf("running %s: %v", args[1], err)
		}
		got = strconv.Itoa(ee.ExitCode())
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			got = signalNames[ws.Signal()]
		}
	}
	if got != args[0] {
		ts.Fatalf("%s exited %s, want %s", args[1], got, args[0])
	}
}

// cmdCapture sets an environment variable to the first group of a
// regexp's first match in the last command's stdout:
//
//	capture NAME REGEXP
func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: capture NAME REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("capture %s: no match (with a group) for %s in stdout", args[0], args[1])
	}
	ts.Setenv(args[0], m[1])
}

// cmdDistinct asserts how many distinct non-empty lines a file has:
//
//	distinct FILE N
func cmdDistinct(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: distinct FILE N")
	}
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	seen := map[string]bool{}
	for _, l := range strings.Split(ts.ReadFile(args[0]), "\n") {
		if l != "" {
			seen[l] = true
		}
	}
	if len(seen) != want {
		ts.Fatalf("%s has %d distinct lines, want %d: %v", args[0], len(seen), want, seen)
	}
}

// cmdWaitFile waits up to ten seconds for a file to exist:
//
//	waitfile FILE
func cmdWaitFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: waitfile FILE")
	}
	for range 400 {
		if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	ts.Fatalf("%s did not appear", args[0])
}

// cmdTerm sends SIGTERM to every background command (testscript's kill
// knows only INT and KILL):
//
//	term
func cmdTerm(ts *testscript.TestScript, neg bool, args []string) {
	for _, c := range ts.BackgroundCmds() {
		ts.Check(c.Process.Signal(syscall.SIGTERM))
	}
}

type emuKey struct{}

func setupScript(env *testscript.Env) error {
	emu := awsemu.New(awsemu.Options{})
	srv := httptest.NewServer(emu)
	env.Defer(srv.Close)
	env.Values[emuKey{}] = emu
	home := filepath.Join(env.WorkDir, ".home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	// Every script can use the example definition: $WORK/examples/app.
	if err := os.CopyFS(filepath.Join(env.WorkDir, "examples"), os.DirFS("../../examples")); err != nil {
		return err
	}
	for k, v := range map[string]string{
		"HOME":                          home,
		"EMU":                           srv.URL,
		"AWS_ENDPOINT_URL_EC2":          srv.URL,
		"AWS_ENDPOINT_URL_STS":          srv.URL,
		"AWS_ENDPOINT_URL_SSM":          srv.URL,
		"AWS_ENDPOINT_URL_AUTO_SCALING": srv.URL,
		"AWS_ACCESS_KEY_ID":             awsemu.AccessKeyFor(awsemu.DefaultAccount),
		"AWS_SECRET_ACCESS_KEY":         "emulator",
		"AWS_REGION":                    "us-east-1",
		"AWS_EC2_METADATA_DISABLED":     "true",
		"AWS_CONFIG_FILE":               filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE":   filepath.Join(home, "aws-credentials"),
		"AMI_BAKERY_POLL_INTERVAL":      "50ms",
		"SOURCE_AMI":                    awsemu.SeedImageID("us-east-1", awsemu.SeedImageNames()[0]),
		"ACCOUNT":                       awsemu.DefaultAccount,
		"PACKER_CACHE_DIR":              filepath.Join(home, "packer-cache"),
		"CHECKPOINT_DISABLE":            "1",
	} {
		env.Setenv(k, v)
	}
	return nil
}

// cmdEmu inspects or changes the script's emulator:
//
//	emu images [REGION [ACCOUNT]]       list images: id name state tag=value...
//	emu count ACTION N                  assert ACTION was called N times
//	emu calls ACTION                    list ACTION's calls: account region
//	emu mark; emu since ACTION N        the same, counting from the mark
//	emu running N                       assert N instances are not terminated
//	emu instances [REGION]              list instances: id image state
//	emu snapshots [REGION]              list snapshots: id state tag=value...
//	emu put-image [-account A] [-public] [-shared ACCOUNT] [-pending] NAME [key=value...]
//	                                    (NAME prefix@FILE appends FILE's content)
//	emu tag ID [key=value...]            tag an image as the script's account
//	emu disable ID                      disable an image as the script's account
//	emu deregister ID [REGION]          deregister an image as the script's account
//	emu faults RATE                     fail RATE of calls with RequestLimitExceeded
//	emu latency ACTION DURATION         delay every ACTION call by DURATION
//	emu leftovers                       assert no key pair or security group is left
//	emu wait-call ACTION [N]            wait until ACTION has been called (N times)
//	emu org|kms-key|visible|perms|unshare ...   sharing and keys (cmdEmuSharing)
//	emu put-ami|run|lt|lc|asg|ssm|dump|advance|fail ...   prune (cmdEmuPrune)
//	emu ssm-validation|params|put-param|lt-create|lt-versions ...   publishing (cmdEmuPublish)
func cmdEmu(ts *testscript.TestScript, neg bool, args []string) {
	emu := ts.Value(emuKey{}).(*awsemu.Emulator)
	if len(args) == 0 {
		ts.Fatalf("usage: emu images|count|running|put-image|faults|leftovers ...")
	}
	if neg && args[0] != "count" && args[0] != "running" {
		ts.Fatalf("emu %s does not support negation", args[0])
	}
	check := func(what string, got, want int) {
		if (got == want) == neg {
			ts.Fatalf("%s: got %d, want %s%d", what, got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	}
	switch args[0] {
	case "images":
		region, account := "us-east-1", awsemu.DefaultAccount
		if len(args) > 1 {
			region = args[1]
		}
		if len(args) > 2 {
			account = args[2]
		}
		out := ts.Stdout() // replaces the previous stdout even when there is nothing to list
		for _, im := range emu.Images(account, region) {
			var tags []string
			for k, v := range im.Tags {
				tags = append(tags, k+"="+v)
			}
			sort.Strings(tags)
			fmt.Fprintf(out, "%s %s %s %s\n", im.ID, im.Name, im.State, strings.Join(tags, " "))
		}
	case "calls":
		// emu calls ACTION: one "ACCOUNT REGION" line per call of ACTION.
		out := ts.Stdout()
		for _, c := range emu.Calls() {
			if c.Action == args[1] {
				fmt.Fprintf(out, "%s %s\n", c.Account, c.Region)
			}
		}
	case "count":
		if len(args) != 3 {
			ts.Fatalf("usage: emu count ACTION N")
		}
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		check("calls of "+args[1], emu.CallCount(args[1]), n)
	case "snapshots":
		// emu snapshots [REGION]: the script's account's snapshots, one
		// "id state tag=value..." line each.
		region := "us-east-1"
		if len(args) > 1 {
			region = args[1]
		}
		out := ts.Stdout()
		for _, sn := range emu.Snapshots(awsemu.DefaultAccount, region) {
			var tags []string
			for k, v := range sn.Tags {
				tags = append(tags, k+"="+v)
			}
			sort.Strings(tags)
			fmt.Fprintf(out, "%s %s %s\n", sn.ID, sn.State, strings.Join(tags, " "))
		}
	case "instances":
		region := "us-east-1"
		if len(args) > 1 {
			region = args[1]
		}
		out := ts.Stdout()
		for _, in := range emu.Instances(awsemu.DefaultAccount, region) {
			fmt.Fprintf(out, "%s %s %s\n", in.ID, in.ImageID, in.State)
		}
	case "running":
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		check("instances not terminated", len(emu.NonTerminatedInstances()), n)
	case "put-image":
		account, region, spec := awsemu.DefaultAccount, "us-east-1", awsemu.ImageSpec{Tags: map[string]string{}}
		rest := args[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
			switch rest[0] {
			case "-account":
				account, rest = rest[1], rest[1:]
			case "-public":
				spec.Public = true
			case "-pending":
				spec.State = "pending"
			case "-shared":
				spec.SharedWith = append(spec.SharedWith, rest[1])
				rest = rest[1:]
			case "-region":
				region, rest = rest[1], rest[1:]
			case "-age": // created this long before the emulator's now
				age, err := time.ParseDuration(rest[1])
				ts.Check(err)
				spec.CreationDate, rest = emu.Now().Add(-age), rest[1:]
			case "-deprecated":
				spec.DeprecationTime = emu.Now().Add(-time.Minute)
			default:
				ts.Fatalf("emu put-image: unknown option %s", rest[0])
			}
			rest = rest[1:]
		}
		spec.Name = rest[0]
		if prefix, file, ok := strings.Cut(spec.Name, "@"); ok {
			spec.Name = prefix + strings.TrimSpace(ts.ReadFile(file))
		}
		spec.Tags = tagArgs(ts, rest[1:])
		id, err := emu.PutImage(account, region, spec)
		ts.Check(err)
		ts.Setenv("PUT_IMAGE", id)
	case "ssm-param":
		// emu ssm-param REGION NAME VALUE: a public parameter, as AWS's
		// /aws/service/... ones.
		if len(args) != 4 {
			ts.Fatalf("usage: emu ssm-param REGION NAME VALUE")
		}
		ts.Check(emu.SetPublicParameter(args[1], args[2], args[3]))
	case "tag":
		// emu tag ID key=value...: CreateTags as the script's own account,
		// through the API, as a user would.
		c := emuClientKey(ts, ts.Getenv("AWS_ACCESS_KEY_ID"), "us-east-1")
		var tags []types.Tag
		for k, v := range tagArgs(ts, args[2:]) {
			tags = append(tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err := c.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{args[1]}, Tags: tags})
		ts.Check(err)
	case "disable":
		// emu disable ID: DisableImage as the script's account.
		c := emuClientKey(ts, ts.Getenv("AWS_ACCESS_KEY_ID"), "us-east-1")
		_, err := c.DisableImage(context.Background(), &ec2.DisableImageInput{ImageId: aws.String(args[1])})
		ts.Check(err)
	case "deregister":
		// emu deregister ID [REGION]: DeregisterImage as the script's account.
		region := "us-east-1"
		if len(args) > 2 {
			region = args[2]
		}
		c := emuClientKey(ts, ts.Getenv("AWS_ACCESS_KEY_ID"), region)
		_, err := c.DeregisterImage(context.Background(), &ec2.DeregisterImageInput{ImageId: aws.String(args[1])})
		ts.Check(err)
	case "faults":
		rate, err := strconv.ParseFloat(args[1], 64)
		ts.Check(err)
		emu.SetFaults(awsemu.Faults{Rate: rate, Seed: 1})
	case "latency":
		d, err := time.ParseDuration(args[2])
		ts.Check(err)
		emu.SetFaults(awsemu.Faults{Actions: []string{args[1]}, Latency: d})
	case "faulted-at-least":
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		got := 0
		for _, c := range emu.Calls() {
			if c.ErrorCode == "RequestLimitExceeded" {
				got++
			}
		}
		if got < n {
			ts.Fatalf("%d calls faulted, want at least %d", got, n)
		}
	case "mark":
		// emu mark: later "emu since ACTION N" counts calls after this point.
		ts.Setenv("EMU_MARK", strconv.Itoa(len(emu.Calls())))
	case "since":
		if len(args) != 3 {
			ts.Fatalf("usage: emu since ACTION N")
		}
		mark, _ := strconv.Atoi(ts.Getenv("EMU_MARK"))
		n, err := strconv.Atoi(args[2])
		ts.Check(err)
		got := 0
		for _, c := range emu.Calls()[mark:] {
			if c.Action == args[1] {
				got++
			}
		}
		check("calls of "+args[1]+" since the mark", got, n)
	case "leftovers":
		for _, region := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
			if kp := emu.KeyPairs(awsemu.DefaultAccount, region); len(kp) > 0 {
				ts.Fatalf("key pairs left in %s: %v", region, kp)
			}
			if sg := emu.SecurityGroups(awsemu.DefaultAccount, region); len(sg) > 0 {
				ts.Fatalf("security groups left in %s: %v", region, sg)
			}
		}
	case "wait-call":
		// emu wait-call ACTION [N]: wait up to 30s until ACTION has been
		// called (N times in all).
		n := 1
		if len(args) > 2 {
			var err error
			n, err = strconv.Atoi(args[2])
			ts.Check(err)
		}
		for range 1200 {
			if emu.CallCount(args[1]) >= n {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		ts.Fatalf("%s was not called %d times", args[1], n)
	default:
		if !cmdEmuSharing(ts, emu, args) && !cmdEmuPrune(ts, emu, args) && !cmdEmuPublish(ts, emu, args) {
			ts.Fatalf("emu: unknown subcommand %s", args[0])
		}
	}
}
