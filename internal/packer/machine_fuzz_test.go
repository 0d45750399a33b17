package packer

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

type parsed struct {
	artifacts []Artifact
	ui        []Line
	err       string
}

func parseAll(r func() *strings.Reader, oneByte bool) parsed {
	var p parsed
	var err error
	in := r()
	if oneByte {
		p.artifacts, err = ParseMachineReadable(iotest.OneByteReader(in), func(l Line) { p.ui = append(p.ui, l) })
	} else {
		p.artifacts, err = ParseMachineReadable(in, func(l Line) { p.ui = append(p.ui, l) })
	}
	if err != nil {
		p.err = err.Error()
	}
	return p
}

// FuzzParseMachineReadable checks that the parser never panics, gives the
// same answer however the input is split into reads, and only returns
// artifacts that are whole.
func FuzzParseMachineReadable(f *testing.F) {
	samples, err := filepath.Glob(filepath.Join("testdata", "machine", "*.txt"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range samples {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(amazonEBS)
	f.Add("1,a,artifact,0,id,x\n1,a,artifact,0,end\n1,a,artifact-count,2\n")
	f.Add("1,,ui,say,a%!(PACKER_COMMA)b\\nc\r\n1,,ui,say,")
	f.Fuzz(func(t *testing.T, in string) {
		r := func() *strings.Reader { return strings.NewReader(in) }
		whole := parseAll(r, false)
		if again := parseAll(r, false); !reflect.DeepEqual(whole, again) {
			t.Fatalf("two runs differ:\n%+v\n%+v", whole, again)
		}
		if bytewise := parseAll(r, true); !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("reading a byte at a time differs:\n%+v\n%+v", whole, bytewise)
		}
		for _, l := range whole.ui {
			if strings.Contains(l.Text, "\n") {
				t.Fatalf("ui line with a newline: %q", l.Text)
			}
		}
		if whole.err != "" {
			if whole.artifacts != nil {
				t.Fatalf("artifacts with an error")
			}
			return
		}
		for _, a := range whole.artifacts {
			if a.ID == "" || a.BuilderID == "" {
				t.Fatalf("artifact without an id or builder-id: %+v", a)
			}
			if amiBuilders[a.BuilderID] && len(a.AMIs) == 0 {
				t.Fatalf("amazon artifact without AMIs: %+v", a)
			}
			for region, ami := range a.AMIs {
				if !isRegion(region) || !isAMI(ami) {
					t.Fatalf("bad AMI %q in region %q", ami, region)
				}
			}
		}
	})
}

// buildLog is a long amazon-ebs build: apt-get output from a shell
// provisioner, then the artifact.
func buildLog() string {
	var b strings.Builder
	ts := 1795773000
	say := func(format string, args ...any) {
		fmt.Fprintf(&b, "%d,,ui,say,%s\n", ts, strings.ReplaceAll(fmt.Sprintf(format, args...), ",", escComma))
	}
	msg := func(format string, args ...any) {
		fmt.Fprintf(&b, "%d,,ui,message,%s\n", ts, strings.ReplaceAll(fmt.Sprintf(format, args...), ",", escComma))
	}
	say("==> amazon-ebs: Prevalidating any provided VPC information")
	say("==> amazon-ebs: Prevalidating AMI Name: bakery-0123456789abcdef")
	msg("    amazon-ebs: Found Image ID: ami-0123456789abcdef0")
	say("==> amazon-ebs: Launching a source AWS instance...")
	say("==> amazon-ebs: Waiting for SSH to become available...")
	say("==> amazon-ebs: Provisioning with shell script: /tmp/packer-shell123")
	for i := 0; i < 5000; i++ {
		ts += i % 2
		switch i % 4 {
		case 0:
			msg("    amazon-ebs: Get:%d http://deb.debian.org/debian bookworm/main amd64 libfoo%d amd64 1.2.%d-1 [%d kB]", i, i, i, 100+i)
		case 1:
			msg("    amazon-ebs: Unpacking libfoo%d (1.2.%d-1) ...", i, i)
		case 2:
			msg("    amazon-ebs: Setting up libfoo%d (1.2.%d-1) ...", i, i)
		case 3:
			fmt.Fprintf(&b, "%d,,ui,error,==> amazon-ebs: debconf: unable to initialize frontend: Dialog\\ndebconf: (TERM is not set%s so the dialog frontend is not usable.)\n", ts, escComma)
		}
	}
	say("==> amazon-ebs: Stopping the source instance...")
	say("==> amazon-ebs: Creating AMI bakery-0123456789abcdef from instance i-0123456789abcdef0")
	say("==> amazon-ebs: Copying/Encrypting AMI (ami-0aaaaaaaaaaaaaaaa) to other regions...")
	b.WriteString(amazonEBS)
	return b.String()
}

func BenchmarkParseMachineReadable(b *testing.B) {
	log := buildLog()
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		lines := 0
		arts, err := ParseMachineReadable(strings.NewReader(log), func(Line) { lines++ })
		if err != nil || len(arts) != 1 || lines < 5000 {
			b.Fatalf("artifacts %v, %d lines, error %v", arts, lines, err)
		}
	}
}
