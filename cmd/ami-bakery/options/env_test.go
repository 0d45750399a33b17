package options

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

func TestApplyEnv(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		want     string
		wantDirs []string
		wantErr  string
	}{
		{name: "default", want: "us-east-1"},
		{name: "first env wins", env: map[string]string{"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "us-west-2"}, want: "eu-west-1"},
		{name: "second env", env: map[string]string{"AWS_DEFAULT_REGION": "us-west-2"}, want: "us-west-2"},
		{name: "empty env ignored", env: map[string]string{"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-2"}, want: "us-west-2"},
		{name: "flag beats env", args: []string{"--region", "ap-south-1"}, env: map[string]string{"AWS_REGION": "eu-west-1"}, want: "ap-south-1"},
		{name: "comma list from env", env: map[string]string{"AMI_DEFINITION_DIRS": "a,b"}, want: "us-east-1", wantDirs: []string{"a", "b"}},
		{name: "flag list beats env", args: []string{"--dir", "c"}, env: map[string]string{"AMI_DEFINITION_DIRS": "a,b"}, want: "us-east-1", wantDirs: []string{"c"}},
		{name: "bad value names variable", env: map[string]string{"AMI_BAKERY_DEBUG": "maybe"}, wantErr: "AMI_BAKERY_DEBUG"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			region := fs.String("region", "us-east-1", "region")
			dirs := fs.StringSlice("dir", nil, "dirs")
			fs.Bool("debug", false, "debug")
			BindEnv(fs, "region", "AWS_REGION", "AWS_DEFAULT_REGION")
			BindEnv(fs, "dir", "AMI_DEFINITION_DIRS")
			BindEnv(fs, "debug", "AMI_BAKERY_DEBUG")
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := tt.env[k]; return v, ok })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !usererr.IsUsage(err) {
					t.Fatalf("err = %v, want usage error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *region != tt.want {
				t.Errorf("region = %q, want %q", *region, tt.want)
			}
			if strings.Join(*dirs, "|") != strings.Join(tt.wantDirs, "|") {
				t.Errorf("dirs = %q, want %q", *dirs, tt.wantDirs)
			}
			if !strings.Contains(fs.Lookup("region").Usage, "AWS_REGION, AWS_DEFAULT_REGION") {
				t.Errorf("usage does not name the variables: %q", fs.Lookup("region").Usage)
			}
		})
	}
}

// A value that parses but fails validation still names its variable.
func TestNameEnvAfterValidation(t *testing.T) {
	for _, tc := range []struct {
		env, value, want string
	}{
		{"AMI_BAKERY_LOCK_LEASE", "1s", `invalid value "1s" in AMI_BAKERY_LOCK_LEASE (the default of --lock-lease): --lock-lease 1s is out of range`},
		{"AMI_BAKERY_POLL_INTERVAL", "1h", `in AMI_BAKERY_POLL_INTERVAL (the default of --poll-interval)`},
		{"AMI_BAKERY_ON_ERROR", "explode", `in AMI_BAKERY_ON_ERROR (the default of --on-error)`},
		{"AMI_BAKERY_FINGERPRINT_VAR", "1x", `in AMI_BAKERY_FINGERPRINT_VAR`},
		{"AMI_BAKERY_ALGORITHM", "v3", `invalid value "v3" in AMI_BAKERY_ALGORITHM (the default of --algorithm)`},
		{"AWS_DEFAULT_REGION", "mars-1", `invalid value "mars-1" in AWS_DEFAULT_REGION (the default of --region): invalid region "mars-1"`},
		{"AMI_BAKERY_REGIONS", "us-east-1,mars", `in AMI_BAKERY_REGIONS (the default of --regions)`},
		{"AMI_BAKERY_OWNERS", "12", `in AMI_BAKERY_OWNERS (the default of --owner)`},
		{"AMI_BAKERY_TAG_KEY", "aws:x", `in AMI_BAKERY_TAG_KEY`},
		{"AMI_BAKERY_LOOKUP", "id", `in AMI_BAKERY_LOOKUP`},
		{"AMI_BAKERY_ROLE_ARN", "role", `in AMI_BAKERY_ROLE_ARN`},
		{"AWS_ENDPOINT_URL", "localhost:1", `in AWS_ENDPOINT_URL (the default of --endpoint)`},
		{"AMI_BAKERY_LOG_FORMAT", "xml", `in AMI_BAKERY_LOG_FORMAT`},
		{"AMI_DEFINITION_DIRS", "a,,b", `in AMI_DEFINITION_DIRS (the default of --dir)`},
		{"AMI_BAKERY_PACKER_DIR", "/nonexistent", `in AMI_BAKERY_PACKER_DIR (the default of --packer-dir): --packer-dir /nonexistent is not a directory`},
	} {
		t.Run(tc.env, func(t *testing.T) {
			fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
			var d Definition
			var tg Target
			var b Build
			var w Wiring
			var o Output
			d.AddFlags(fs)
			tg.AddFlags(fs)
			w.AddFlags(fs)
			b.AddFlags(fs)
			o.AddFlags(fs, true)
			tmpl := filepath.Join(t.TempDir(), "t.json")
			if err := os.WriteFile(tmpl, []byte("{}"), 0o644); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"AMI_BAKERY_TEMPLATE": tmpl, "AWS_REGION": "us-east-1", tc.env: tc.value}
			if tc.env == "AWS_DEFAULT_REGION" {
				delete(env, "AWS_REGION")
			}
			if err := fs.Parse(nil); err != nil {
				t.Fatal(err)
			}
			if err := ApplyEnv(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
				t.Fatal(err)
			}
			err := d.Validate()
			if err == nil {
				err = tg.Validate()
			}
			if err == nil {
				err = w.Validate(&d)
			}
			if err == nil {
				err = b.Validate()
			}
			if err == nil {
				err = o.Validate()
			}
			err = NameEnv(fs, err)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
			if !usererr.IsUsage(err) || !slices.Contains(usererr.Hints(err), "fix or unset "+tc.env) {
				t.Errorf("not a usage error with the hint to fix %s: %v %q", tc.env, err, usererr.Hints(err))
			}
		})
	}
	// The same value on the command line is reported as the flag's.
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	var b Build
	b.AddFlags(fs)
	fs.Parse([]string{"--lock-lease", "1s"})
	ApplyEnv(fs, func(string) (string, bool) { return "", false })
	if err := NameEnv(fs, b.Validate()); err == nil || strings.Contains(err.Error(), "AMI_BAKERY") {
		t.Errorf("flag error = %v", err)
	}
}
