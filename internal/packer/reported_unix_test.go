//go:build unix

package packer

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"testing"
)

// ReportedAMIs lists what packer said it made, from its artifacts and from
// the amazon builders' announcements, whether the build succeeded, failed
// or was interrupted; and nothing that only looks like an announcement.
func TestReportedAMIs(t *testing.T) {
	tests := []struct {
		name, script string
		fails        bool
		want         []ReportedAMI
	}{{
		name: "artifact, announced as well",
		script: `echo '1,,ui,say,==> amazon-ebs: Creating AMI t from instance i-0123'
echo '1,,ui,message,    amazon-ebs: AMI: ami-0a'
echo '1,,ui,say,==> amazon-ebs: Waiting for AMI to become ready...'
` + fakeAMI,
		want: []ReportedAMI{{"amazon-ebs", "eu-west-1", "ami-0b"}, {"amazon-ebs", "us-east-1", "ami-0a"}},
	}, {
		name: "announced, then a post-processor failed",
		script: `echo '1,,ui,say,==> amazon-ebs.main: Creating AMI t from instance i-0123'
echo '1,,ui,message,    amazon-ebs.main: AMI: ami-0c'
echo '1,,ui,say,==> amazon-ebs.main: Running post-processor: manifest'
echo '1,,ui,error,Build '"'"'amazon-ebs.main'"'"' errored: boom'
exit 1`,
		fails: true,
		want:  []ReportedAMI{{Build: "amazon-ebs.main", ID: "ami-0c"}},
	}, {
		name: "registered, then the wait failed (amazon-chroot)",
		script: `echo '1,,ui,say,==> amazon-chroot: Registering the AMI...'
echo '1,,ui,say,==> amazon-chroot: AMI: ami-0d'
echo '1,,ui,say,==> amazon-chroot: Waiting for AMI to become ready...'
exit 1`,
		fails: true,
		want:  []ReportedAMI{{Build: "amazon-chroot", ID: "ami-0d"}},
	}, {
		name: "one build's artifact, the other failed",
		script: `echo '1,,ui,say,==> amazon-ebs.b: Creating AMI t from instance i-0123'
echo '1,,ui,message,    amazon-ebs.b: AMI: ami-0f'
echo '1,amazon-ebs.a,artifact-count,1'
echo '1,amazon-ebs.a,artifact,0,builder-id,mitchellh.amazonebs'
echo '1,amazon-ebs.a,artifact,0,id,us-east-1:ami-0e'
echo '1,amazon-ebs.a,artifact,0,end'
exit 1`,
		fails: true,
		want:  []ReportedAMI{{"amazon-ebs.a", "us-east-1", "ami-0e"}, {Build: "amazon-ebs.b", ID: "ami-0f"}},
	}, {
		name: "provisioner output and other steps name AMIs: not announcements",
		script: `echo '1,,ui,say,==> amazon-ebs: Found Image ID: ami-01'
echo '1,,ui,message,    amazon-ebs: AMI: ami-02'
echo '1,,ui,say,==> amazon-ebs: Provisioning with shell script: check.sh'
echo '1,,ui,message,    amazon-ebs: AMI: ami-03'
echo '1,,ui,say,==> amazon-ebs: AMI: ami-04'
echo '1,,ui,say,==> amazon-ebs.x: Creating AMI t from instance i-0123'
echo '1,,ui,message,    amazon-ebs.y: AMI: ami-05'
echo '1,,ui,message,    amazon-ebs.x: AMI: not-an-ami'
exit 1`,
		fails: true,
	}}
	for _, tt := range tests {
		o, _, _ := fakeOptions(t, tt.script)
		res, err := Build(context.Background(), o)
		if (err != nil) != tt.fails {
			t.Fatalf("%s: Build error = %v", tt.name, err)
		}
		if got := ReportedAMIs(res, err); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ReportedAMIs = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if got := ReportedAMIs(nil, errors.New("not started")); got != nil {
		t.Errorf("ReportedAMIs of an error that is no BuildError = %+v", got)
	}
}

// An interrupted packer that announced an AMI and left it reports it.
func TestReportedAMIsInterrupted(t *testing.T) {
	o, dir, _ := fakeOptions(t, `trap 'echo "1,,ui,say,==> amazon-ebs: Build was cancelled"; exit 1' INT
echo '1,,ui,say,==> amazon-ebs: Creating AMI t from instance i-0123'
echo '1,,ui,message,    amazon-ebs: AMI: ami-0a'
touch "$FAKE_DIR/announced"
while :; do sleep 0.05; done`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		waitFile(t, filepath.Join(dir, "announced"))
		cancel()
	}()
	res, err := Build(ctx, o)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("error = %v, want ErrInterrupted", err)
	}
	if got, want := ReportedAMIs(res, err), []ReportedAMI{{Build: "amazon-ebs", ID: "ami-0a"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("ReportedAMIs = %+v, want %+v", got, want)
	}
}
