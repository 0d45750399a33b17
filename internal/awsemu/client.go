package awsemu

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsclient"
)

// HTTPClient returns an HTTP client for aws-sdk-go-v2 clients that talk to an
// emulator in tests (ec2.Options.HTTPClient, config.WithHTTPClient). It is
// a fresh transport wrapped in awsclient.HideWriterTo: see there for the
// client-side race it avoids, which loopback makes frequent.
func HTTPClient() aws.HTTPClient {
	return awsclient.HideWriterTo(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})
}
