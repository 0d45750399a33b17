package awsemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// SSM: Parameter Store over the JSON 1.1 protocol. A request is a POST of a
// JSON object, its action named by the header X-Amz-Target
// ("AmazonSSM.GetParameter"); a response is a JSON object, an error
// {"__type": CODE, "message": ...} with status 400 (500 for
// InternalServerError). Requests signed for the service "ssm" come here.
// Each action decodes its input strictly: a field the emulator does not
// model is a ValidationException naming it, never ignored.
// ssm_parameters.go holds the parameters and their versions, ssm_paths.go
// GetParametersByPath and the public parameters, ssm_describe.go
// DescribeParameters, ssm_labels.go GetParameterHistory and the labels.

const ssmTargetPrefix = "AmazonSSM."

// serveSSM answers one SSM request.
func (e *Emulator) serveSSM(w http.ResponseWriter, r *http.Request, call *Call) {
	out, err := e.ssm(w, r, call)
	status := http.StatusOK
	if err != nil {
		ae := recordError(call, err, "InternalServerError")
		status, out = ae.Status, map[string]string{"__type": ae.Code, "message": ae.Message}
	}
	body, _ := json.Marshal(out)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-RequestId", call.RequestID)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (e *Emulator) ssm(w http.ResponseWriter, r *http.Request, call *Call) (any, error) {
	target, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), ssmTargetPrefix)
	call.Action = target
	if r.Method != http.MethodPost || !ok {
		return nil, clientError("UnknownOperationException", "the request has no X-Amz-Target %s* header", ssmTargetPrefix)
	}
	switch admit(r, call) {
	case unsigned, unknownRegion:
		return nil, clientError("UnrecognizedClientException", "The security token included in the request is invalid (region %q)", call.Region)
	case deniedKey:
		return nil, clientError("AccessDeniedException", "User is not authorized to perform: ssm:%s", target)
	}
	h, ok := ssmActions[target]
	if !ok {
		return nil, clientError("UnknownOperationException", "Operation %s is not supported by this SSM", target)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		return nil, clientError("SerializationException", "reading the request: %v", err)
	}
	if err := e.injectFault(r.Context(), target); err != nil {
		return nil, err
	}
	return e.locked(call.Account, call.Region, params{}, body, h)
}

// ssmActions are the supported SSM actions.
var ssmActions = map[string]handler{
	"PutParameter":            putParameter,
	"GetParameter":            getParameter,
	"GetParameters":           getParameters,
	"GetParametersByPath":     getParametersByPath,
	"DescribeParameters":      describeParameters,
	"DeleteParameter":         deleteParameter,
	"GetParameterHistory":     getParameterHistory,
	"LabelParameterVersion":   labelParameterVersion,
	"UnlabelParameterVersion": unlabelParameterVersion,
}

// decodeJSON reads a JSON service's input into T, refusing fields T does not
// have (the emulator does not model them) and a body that is not one object.
func decodeJSON[T any](r *request) (T, error) {
	var in T
	if len(bytes.TrimSpace(r.body)) == 0 {
		return in, nil
	}
	d := json.NewDecoder(bytes.NewReader(r.body))
	d.DisallowUnknownFields()
	if err := d.Decode(&in); err != nil {
		return in, clientError("ValidationException", "the request is not valid for this emulator: %v", err)
	}
	return in, nil
}
