package options

import (
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
