package sts

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The web identity call is not signed, even with credentials at hand, and
// an InvalidIdentityToken answer is retried (as stscreds does: the token
// may not be valid yet where it was just issued); the token is read from
// the file at each retrieval.
func TestWebIdentityRoleProvider(t *testing.T) {
	calls := 0
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		r.ParseForm()
		seen = append(seen, fmt.Sprintf("auth=%q action=%s role=%s token=%s session=%s", r.Header.Get("Authorization"),
			r.Form.Get("Action"), r.Form.Get("RoleArn"), r.Form.Get("WebIdentityToken"), r.Form.Get("RoleSessionName")))
		if calls == 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>not yet</Message></Error><RequestId>1</RequestId></ErrorResponse>`)
			return
		}
		fmt.Fprintf(w, `<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>`+
			`<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken><Expiration>%s</Expiration></Credentials>`+
			`<AssumedRoleUser><Arn>arn:aws:sts::222222222222:assumed-role/ci/x</Arn></AssumedRoleUser></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>`,
			time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("jwt-1"), 0o600)
	cfg := aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSOURCE", "s", ""),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.MaxBackoff = time.Millisecond })
		}}
	p := NewWebIdentityRoleProvider(NewFromConfig(cfg), "arn:aws:iam::222222222222:role/ci", token, "ci-run")
	v, err := p.Retrieve(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v.AccessKeyID != "ASIA1" || v.AccountID != "222222222222" || !v.CanExpire || v.Source != "WebIdentityCredentials" {
		t.Errorf("credentials %+v", v)
	}
	want := `auth="" action=AssumeRoleWithWebIdentity role=arn:aws:iam::222222222222:role/ci token=jwt-1 session=ci-run`
	if calls != 2 || seen[0] != want || seen[1] != want {
		t.Errorf("%d calls: %q, want two of %s", calls, seen, want)
	}
	os.WriteFile(token, []byte("jwt-2"), 0o600)
	if _, err := p.Retrieve(context.Background()); err != nil || seen[2] != want[:len(want)-len("jwt-1 session=ci-run")]+"jwt-2 session=ci-run" {
		t.Errorf("second retrieval: %v, %q", err, seen[len(seen)-1])
	}
}

// An answer without an account is an error, never the account "".
func TestGetCallerIdentityWithoutAccount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>`)
	}))
	defer srv.Close()
	c := NewFromConfig(aws.Config{Region: "eu-west-1", BaseEndpoint: aws.String(srv.URL), HTTPClient: srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "s", "")})
	if got, err := c.GetCallerIdentity(context.Background()); err == nil {
		t.Fatalf("GetCallerIdentity: %q, want an error", got)
	}
}
