package awsemu

import (
	"io"
	"net/http"
)

// HTTPClient returns an HTTP client for aws-sdk-go-v2 clients that talk to an
// emulator in tests (ec2.Options.HTTPClient).
//
// It works around a client-side race between net/http and smithy-go, which
// under the race detector fails about one call in a hundred with "failed to
// decode response body, ... use of closed network connection": net/http
// sends a small request body straight to the socket (bufio ReadFrom), the
// server answers, the SDK gets the response and closes the request body, and
// only then does net/http's write loop check the body for excess bytes;
// smithy-go's closed body answers WriteTo with io.EOF, which net/http takes
// as a write failure and closes the connection under the response still
// being read. Hiding WriteTo makes that last check a Read, which reports a
// clean end of body. Real EC2's latency hides the window; loopback does not.
func HTTPClient() *http.Client {
	return &http.Client{Transport: hideWriterTo{http.DefaultTransport.(*http.Transport).Clone()}}
}

type hideWriterTo struct{ next http.RoundTripper }

func (h hideWriterTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil && r.Body != http.NoBody {
		if _, ok := r.Body.(io.WriterTo); ok {
			r2 := r.Clone(r.Context())
			r2.Body = struct{ io.ReadCloser }{r.Body}
			r = r2
		}
	}
	return h.next.RoundTrip(r)
}
