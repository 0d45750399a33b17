package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// TestNoGoroutineOutlivesACommand runs commands in-process and checks that
// every goroutine they started (signal handling, lookups in parallel
// regions, lock renewals, the SDK's) has ended when Main returns.
func TestNoGoroutineOutlivesACommand(t *testing.T) {
	emu := awsemu.NewTestServer(t)
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "ami.json")
	os.WriteFile(tmpl, []byte(`{"variables": {"config_checksum": ""}, "builders": [{"type": "amazon-ebs", "ami_name": "a-{{user `+"`config_checksum`"+`}}"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, "setup.sh"), []byte("echo hi\n"), 0o644)
	env := map[string]string{
		"AWS_ENDPOINT_URL_EC2":        emu.URL,
		"AWS_ENDPOINT_URL_STS":        emu.URL,
		"AWS_ACCESS_KEY_ID":           awsemu.AccessKeyFor(awsemu.DefaultAccount),
		"AWS_SECRET_ACCESS_KEY":       "x",
		"AWS_REGION":                  "us-east-1",
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Main(args, strings.NewReader(""), &out, &errb, getenv)
		if code != 0 {
			t.Logf("%v: exit %d\n%s", args, code, errb.String())
		}
		return strings.TrimSpace(out.String()), code
	}
	before := goleak.IgnoreCurrent()

	fp, code := run("checksum", "-t", tmpl, "-d", dir)
	if code != 0 {
		t.Fatal("checksum failed")
	}
	id, err := emu.PutImage(awsemu.DefaultAccount, "us-west-2", awsemu.ImageSpec{Name: "a-" + fp, Tags: map[string]string{"ami_config_checksum": fp}})
	if err != nil {
		t.Fatal(err)
	}
	if out, code := run("plan", "-t", tmpl, "-d", dir, "--regions", "us-west-2,eu-west-1"); code != 0 || !strings.Contains(out, "eu-west-1 copy from us-west-2") {
		t.Fatalf("plan: %d %q", code, out)
	}
	out, code := run("bake", "-t", tmpl, "-d", dir, "--region", "us-west-2", "--regions", "us-west-2,eu-west-1", "--poll-interval", "10ms")
	if code != 0 || !strings.Contains(out, "us-west-2="+id) {
		t.Fatalf("bake: %d %q", code, out)
	}
	if _, code := run("bake", "-t", tmpl, "-d", dir, "--region", "bad"); code != exitUsage {
		t.Fatalf("bad region: exit %d", code)
	}
	emu.Server.CloseClientConnections()
	goleak.VerifyNone(t, before)
}
