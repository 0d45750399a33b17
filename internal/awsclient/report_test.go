package awsclient_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsclient"
	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/logging"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// syncBuffer is a bytes.Buffer safe for the reporter's timer goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// An endpoint that never answers: every attempt times out, each is
// reported, and the call fails with a hint instead of hanging.
func TestEndpointThatNeverAnswers(t *testing.T) {
	stop := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stop:
		}
	}))
	defer srv.Close()
	defer close(stop)
	setEnv(t, srv.URL)
	var log syncBuffer
	f, err := awsclient.New(context.Background(), awsclient.Options{
		MaxAttempts: 3, MaxBackoff: time.Millisecond, AttemptTimeout: 200 * time.Millisecond,
		ReportAfter: 50 * time.Millisecond, Log: logging.New(&log, "text"),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.EC2("us-east-1").DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"}})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute): // generous: it must only end
		t.Fatal("the call never ended")
	}
	if err == nil || !strings.Contains(err.Error(), "DescribeImages") {
		t.Fatalf("err = %v", err)
	}
	if h := usererr.Hints(awsclient.Explain(err)); len(h) == 0 || !strings.Contains(h[0], "did not answer in time") {
		t.Errorf("hints = %q", h)
	}
	for _, want := range []string{
		"ami-bakery: warning: DescribeImages in us-east-1: no answer yet after 50ms (attempt 1/3)",
		"ami-bakery: warning: DescribeImages in us-east-1: retrying (2/3) after a timeout",
		"ami-bakery: warning: DescribeImages in us-east-1: retrying (3/3) after a timeout",
	} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log.String())
		}
	}
}

// Retries of a throttled call are reported with the error code; a call
// that answers quickly reports nothing.
func TestRetriesReported(t *testing.T) {
	emu := awsemu.New(awsemu.Options{})
	srv := httptest.NewServer(emu)
	defer srv.Close()
	setEnv(t, srv.URL)
	var log syncBuffer
	f, err := awsclient.New(context.Background(), awsclient.Options{
		MaxBackoff: time.Millisecond, ReportAfter: time.Nanosecond, Log: logging.New(&log, "text"),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := f.EC2("us-east-1")
	emu.SetFaults(awsemu.Faults{Rate: 1, Actions: []string{"DescribeImages"}})
	if _, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"}}); err == nil {
		t.Fatal("no error with every call failing")
	}
	if want := "DescribeImages in us-east-1: retrying (10/10) after RequestLimitExceeded"; !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log.String())
	}

	emu.SetFaults(awsemu.Faults{})
	quiet, err := awsclient.New(context.Background(), awsclient.Options{Log: logging.New(&log, "text")})
	if err != nil {
		t.Fatal(err)
	}
	before := log.String()
	if _, err := quiet.EC2("us-east-1").DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"}}); err != nil {
		t.Fatal(err)
	}
	if log.String() != before {
		t.Errorf("a quick call was reported: %s", strings.TrimPrefix(log.String(), before))
	}
}
