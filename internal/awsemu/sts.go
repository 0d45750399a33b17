package awsemu

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// STS: just enough of the Security Token Service for "assume a role in
// another account" set-ups (ami-bakery --role-arn): AssumeRole and
// GetCallerIdentity (which ami-bakery also uses to learn its own account). Requests signed for the service "sts" are answered
// here, in STS's own XML namespace and error envelope.
//
// Any role ARN arn:aws:iam::ACCOUNT:role/NAME can be assumed, except a role
// whose name starts with "denied" (AccessDenied, to test refusals). The
// temporary access key maps to ACCOUNT, so the caller then acts as that
// account. Trust policies are not modelled.

const stsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/"

var roleARN = regexp.MustCompile(`^arn:aws:iam::([0-9]{12}):role/(?:[\w+=,.@-]+/)*([\w+=,.@-]+)$`)

// TempAccessKeyFor is the access key id of temporary credentials for
// account, as AssumeRole hands out.
func TempAccessKeyFor(account string) string { return "ASIAEMUL" + account }

// queryError is the error envelope of the Query services with their own
// namespace (STS, Auto Scaling).
type queryError struct {
	XMLName xml.Name `xml:"ErrorResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Type    string   `xml:"Error>Type"`
	Code    string   `xml:"Error>Code"`
	Message string   `xml:"Error>Message"`
	ReqID   string   `xml:"RequestId"`
}

type stsCredentials struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type assumeRoleResponse struct {
	XMLName     xml.Name       `xml:"AssumeRoleResponse"`
	Xmlns       string         `xml:"xmlns,attr"`
	Credentials stsCredentials `xml:"AssumeRoleResult>Credentials"`
	RoleID      string         `xml:"AssumeRoleResult>AssumedRoleUser>AssumedRoleId"`
	Arn         string         `xml:"AssumeRoleResult>AssumedRoleUser>Arn"`
	ReqID       string         `xml:"ResponseMetadata>RequestId"`
}

type callerIdentityResponse struct {
	XMLName xml.Name `xml:"GetCallerIdentityResponse"`
	Xmlns   string   `xml:"xmlns,attr"`
	Account string   `xml:"GetCallerIdentityResult>Account"`
	Arn     string   `xml:"GetCallerIdentityResult>Arn"`
	UserID  string   `xml:"GetCallerIdentityResult>UserId"`
	ReqID   string   `xml:"ResponseMetadata>RequestId"`
}

// serveSTS answers one STS request and records it in the call log.
func (e *Emulator) serveSTS(w http.ResponseWriter, r *http.Request, call *Call) {
	status, body := e.sts(r, call)
	out, _ := xml.Marshal(body)
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}

func (e *Emulator) sts(r *http.Request, call *Call) (int, any) {
	fail := func(status int, code, format string, args ...any) (int, any) {
		call.ErrorCode = code
		return status, queryError{Xmlns: stsNamespace, Type: "Sender", Code: code, Message: fmt.Sprintf(format, args...), ReqID: call.RequestID}
	}
	if err := r.ParseForm(); err != nil {
		return fail(400, "InvalidParameterValue", "the request could not be parsed: %v", err)
	}
	call.Action = r.Form.Get("Action")
	akid, region := credentialScope(r)
	call.Region = region
	if akid == "" {
		return fail(403, "InvalidClientTokenId", "The security token included in the request is invalid.")
	}
	call.Account = accountForKey(akid)
	// As in AWS, GetCallerIdentity needs no permission, and even an
	// explicit deny cannot refuse it.
	if strings.HasPrefix(akid, DeniedKeyPrefix) && call.Action != "GetCallerIdentity" {
		return fail(403, "AccessDenied", "User is not authorized to perform: sts:%s", call.Action)
	}
	switch call.Action {
	case "GetCallerIdentity":
		return 200, callerIdentityResponse{Xmlns: stsNamespace, Account: call.Account,
			Arn: "arn:aws:iam::" + call.Account + ":user/emulated", UserID: akid, ReqID: call.RequestID}
	case "AssumeRole":
		arn, session := r.Form.Get("RoleArn"), r.Form.Get("RoleSessionName")
		m := roleARN.FindStringSubmatch(arn)
		if m == nil {
			return fail(400, "ValidationError", "%q is not a valid role ARN", arn)
		}
		if session == "" {
			return fail(400, "ValidationError", "RoleSessionName is required")
		}
		if strings.HasPrefix(m[2], "denied") {
			return fail(403, "AccessDenied", "User arn:aws:iam::%s:user/emulated is not authorized to perform: sts:AssumeRole on resource: %s", call.Account, arn)
		}
		return 200, assumeRoleResponse{
			Xmlns: stsNamespace,
			Credentials: stsCredentials{
				AccessKeyID:     TempAccessKeyFor(m[1]),
				SecretAccessKey: "emulated-secret",
				SessionToken:    "emulated-session-" + call.RequestID,
				Expiration:      time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
			},
			RoleID: "AROAEMULATED:" + session,
			Arn:    "arn:aws:sts::" + m[1] + ":assumed-role/" + m[2] + "/" + session,
			ReqID:  call.RequestID,
		}
	}
	return fail(400, "InvalidAction", "Could not find operation %s for version 2011-06-15", call.Action)
}
