package awsemu

import (
	"fmt"
	"net/http"
	"strings"
)

// apiError is an EC2 error as it goes on the wire: a code, a message and the
// HTTP status EC2 uses for that code.
type apiError struct {
	Code    string
	Message string
	Status  int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// statusFor is the HTTP status EC2 answers with for an error code. Client
// errors are 400 unless EC2 says otherwise; the SDKs decide what to retry by
// code and status together, so both must match EC2.
func statusFor(code string) int {
	switch code {
	case "AuthFailure":
		return http.StatusUnauthorized
	case "UnauthorizedOperation", "Blocked", "OptInRequired":
		return http.StatusForbidden
	case "DryRunOperation":
		return http.StatusPreconditionFailed
	case "InternalError", "InternalFailure":
		return http.StatusInternalServerError
	case "RequestLimitExceeded", "Unavailable", "ServiceUnavailable", "InsufficientInstanceCapacity":
		return http.StatusServiceUnavailable
	}
	return http.StatusBadRequest
}

// errorf builds an apiError with EC2's status for code.
func errorf(code, format string, args ...any) *apiError {
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: statusFor(code)}
}

func invalidParameter(format string, args ...any) *apiError {
	return errorf("InvalidParameterValue", format, args...)
}

func missingParameter(name string) *apiError {
	return errorf("MissingParameter", "The request must contain the parameter %s", name)
}

func invalidFilter(name string) *apiError {
	return invalidParameter("The filter '%s' is invalid", name)
}

func unsupported(format string, args ...any) *apiError {
	return errorf("UnsupportedOperation", format, args...)
}

// notFoundList formats "The X 'a, b' does not exist" the way EC2 does for one
// or several ids.
func notFoundList(code, noun string, ids []string) *apiError {
	if len(ids) == 1 {
		return errorf(code, "The %s '%s' does not exist", noun, ids[0])
	}
	return errorf(code, "The %ss '%s' do not exist", noun, strings.Join(ids, ", "))
}

// clientError is an error of the services other than EC2 (SSM, Auto
// Scaling): status 400, or 500 for their internal-failure codes.
func clientError(code, format string, args ...any) *apiError {
	status := http.StatusBadRequest
	if code == "InternalServerError" || code == "InternalFailure" {
		status = http.StatusInternalServerError
	}
	return &apiError{Code: code, Message: fmt.Sprintf(format, args...), Status: status}
}

// recordError is the apiError a service answers for err (an unexpected
// error becomes internalCode, status 500), its code recorded in call.
func recordError(call *Call, err error, internalCode string) *apiError {
	ae, ok := err.(*apiError)
	if !ok {
		ae = clientError(internalCode, "%v", err)
	}
	call.ErrorCode = ae.Code
	return ae
}
