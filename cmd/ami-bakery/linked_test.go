package main

import (
	"os/exec"
	"regexp"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/testenv"
)

// TestBinaryDropsUnusedMethods: nothing in the binary looks methods up by
// a name known only at run time (reflect's MethodByName with a variable,
// Method(i); text/template does both). The linker, when such a function is
// reachable, keeps every exported method of every type that is put in an
// interface: every operation of the EC2, SSM and Auto Scaling clients with
// its serializers, where ami-bakery calls a few dozen. cobra's
// SetVersionTemplate did that: 55 MB instead of 16 MB, and 4 to 7 MB more
// resident memory on every run (BENCHMARKS.md).
func TestBinaryDropsUnusedMethods(t *testing.T) {
	goBin := testenv.Command(t, "go", "the Go toolchain builds the binary to inspect")
	// -dumpdep prints the linker's reachability graph; a function that
	// turns the method pruning off is marked <ReflectMethod>.
	cmd := exec.Command(goBin, "build", "-o", "/dev/null", "-ldflags=-dumpdep", ".")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%.2000s", err, out)
	}
	seen := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^(\S+) <ReflectMethod>`).FindAllSubmatch(out, -1) {
		if f := string(m[1]); !seen[f] {
			seen[f] = true
			t.Errorf("the binary reaches %s, which looks methods up by name: the linker then keeps every SDK operation", f)
		}
	}
}

// TestBinaryLeavesOutUnusedSDKPackages: the binary links no SDK service
// package but EC2's, and not the SDK's config package (nor so the SSO, SSO
// OIDC and Sign-In clients it brings for its credential providers). Go initialises every linked package at
// every start, used or not: the endpoint tables and serialization schemas
// of the SSM and Auto Scaling packages cost every no-op, and with their
// current versions made it 2.1 times one raw round trip instead of 1.4
// (BENCHMARKS.md, issue 25). internal/awsclient builds the configuration
// itself (loadConfig) and reads SSO and login profiles through the AWS
// CLI; STS (with the role credential providers), SSM and Auto Scaling
// are called through internal/awsapi. STS's package alone, with its
// schemas, was 0.04 of the no-op's ratio to one raw round trip.
func TestBinaryLeavesOutUnusedSDKPackages(t *testing.T) {
	goBin := testenv.Command(t, "go", "the Go toolchain lists the binary's packages")
	out, err := exec.Command(goBin, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%.2000s", err, out)
	}
	if regexp.MustCompile(`(?m)^github.com/aws/aws-sdk-go-v2/config$`).Match(out) {
		t.Error("the binary links github.com/aws/aws-sdk-go-v2/config")
	}
	services := 0
	for _, m := range regexp.MustCompile(`(?m)^github.com/aws/aws-sdk-go-v2/service/([^/\s]+)`).FindAllSubmatch(out, -1) {
		switch svc := string(m[1]); svc {
		case "ec2":
			services++
		case "internal":
		default:
			t.Errorf("the binary links the SDK's %s package (%s); call the service through internal/awsapi", svc, m[0])
		}
	}
	if services == 0 {
		t.Error("go list -deps does not list EC2's package: the check is looking at the wrong output")
	}
}
