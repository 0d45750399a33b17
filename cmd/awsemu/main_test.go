package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for awsemu itself, so the signal
// handling of the real main is tested without building a second binary.
func TestMain(m *testing.M) {
	if os.Getenv("AWSEMU_TEST_RUN_MAIN") == "1" {
		os.Args = append([]string{"awsemu"}, strings.Fields(os.Getenv("AWSEMU_TEST_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// waitForFile polls for path to hold a URL, as a script would.
func waitForFile(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
	return ""
}

func describeRegions(t *testing.T, url string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader("Action=DescribeRegions&Version=2016-11-15"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestRunServesUntilCancelled(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, options{addr: "127.0.0.1:0", addrFile: addrFile}, &stdout, &stderr)
	}()
	url := waitForFile(t, addrFile)
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("address file holds %q", url)
	}
	if resp := describeRegions(t, url); resp.StatusCode != http.StatusOK {
		t.Fatalf("DescribeRegions: %s", resp.Status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if got := strings.TrimSpace(stdout.String()); got != url {
		t.Errorf("stdout %q, want just the URL %q", got, url)
	}
	if !strings.Contains(stderr.String(), "us-east-1 123456789012 DescribeRegions ok") {
		t.Errorf("call not logged on stderr:\n%s", stderr.String())
	}
}

func TestRunQuietAndBadAddress(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stderr bytes.Buffer
	if err := run(ctx, options{addr: "127.0.0.1:0", quiet: true}, io.Discard, &stderr); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), options{addr: "not an address"}, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "failed to listen") {
		t.Fatalf("bad address: %v", err)
	}
}

func TestSignalsShutDownCleanly(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			addrFile := filepath.Join(t.TempDir(), "addr")
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "AWSEMU_TEST_RUN_MAIN=1",
				"AWSEMU_TEST_ARGS=--addr 127.0.0.1:0 --quiet --pending-delay 0s --addr-file "+addrFile)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			url := waitForFile(t, addrFile)
			describeRegions(t, url)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("awsemu exited with %v after %s; stderr:\n%s", err, sig, stderr.String())
			}
			if !strings.Contains(stderr.String(), "awsemu: stopped") {
				t.Errorf("no graceful shutdown logged:\n%s", stderr.String())
			}
		})
	}
}

func TestBadUsage(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "AWSEMU_TEST_RUN_MAIN=1", "AWSEMU_TEST_ARGS=--no-such-flag")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("unknown flag: %v, want exit status 2", err)
	}
}
