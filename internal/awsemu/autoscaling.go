package awsemu

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
)

// Auto Scaling: the Query protocol of version 2011-01-01, for requests
// signed for the service "autoscaling". Requests are form-encoded like
// EC2's, with lists as Name.member.N; responses are XML in Auto Scaling's
// namespace, <ActionResponse><ActionResult>...</ActionResult>
// <ResponseMetadata>; errors use the <ErrorResponse> envelope (as STS). The
// actions are launch configurations (autoscaling_launchconfigs.go) and
// groups (autoscaling_groups.go). Groups launch no instances: they record
// what would launch them (a launch configuration, a launch template, or a
// mixed instances policy's templates), which is what prune reads. Any
// parameter an action does not model is a ValidationError naming it.

const autoScalingNamespace = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

// autoScalingActions are the supported Auto Scaling actions.
var autoScalingActions = map[string]handler{
	"CreateLaunchConfiguration":    createLaunchConfiguration,
	"DescribeLaunchConfigurations": describeLaunchConfigurations,
	"DeleteLaunchConfiguration":    deleteLaunchConfiguration,
	"CreateAutoScalingGroup":       createAutoScalingGroup,
	"DescribeAutoScalingGroups":    describeAutoScalingGroups,
	"DeleteAutoScalingGroup":       deleteAutoScalingGroup,
}

// serveAutoScaling answers one Auto Scaling request.
func (e *Emulator) serveAutoScaling(w http.ResponseWriter, r *http.Request, call *Call) {
	result, err := e.autoScaling(w, r, call)
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	status := http.StatusOK
	if err != nil {
		ae := recordError(call, err, "InternalFailure")
		kind := "Sender"
		if ae.Status >= 500 {
			kind = "Receiver"
		}
		status = ae.Status
		out, _ := xml.Marshal(queryError{Xmlns: autoScalingNamespace, Type: kind, Code: ae.Code, Message: ae.Message, ReqID: call.RequestID})
		buf.Write(out)
	} else {
		writeQueryResult(&buf, call.Action, result, call.RequestID)
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// writeQueryResult encodes <ActionResponse> with result (if any) as
// <ActionResult> and the request id.
func writeQueryResult(buf *bytes.Buffer, action string, result any, requestID string) {
	enc := xml.NewEncoder(buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: autoScalingNamespace}}}
	_ = enc.EncodeToken(start)
	if result != nil {
		_ = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	_ = enc.EncodeElement(struct {
		RequestID string `xml:"RequestId"`
	}{requestID}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	_ = enc.EncodeToken(start.End())
	_ = enc.Flush()
}

func (e *Emulator) autoScaling(w http.ResponseWriter, r *http.Request, call *Call) (any, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, clientError("MalformedQueryString", "the request could not be parsed: %v", err)
	}
	p := params{v: r.Form}
	call.Action = p.str("Action")
	switch admit(r, call) {
	case unsigned, unknownRegion:
		return nil, clientError("InvalidClientTokenId", "The security token included in the request is invalid (region %q).", call.Region)
	case deniedKey:
		return nil, clientError("AccessDenied", "User is not authorized to perform: autoscaling:%s", call.Action)
	}
	h, ok := autoScalingActions[call.Action]
	if !ok {
		return nil, clientError("InvalidAction", "Could not find operation %s for version 2011-01-01", call.Action)
	}
	if err := e.injectFault(r.Context(), call.Action); err != nil {
		return nil, err
	}
	return e.locked(call.Account, call.Region, p, nil, h)
}

// only refuses any parameter but Action, Version and those named (each
// also as a prefix of its list members and fields).
func (p params) only(allowed ...string) error {
	for k := range p.v {
		if k == "Action" || k == "Version" {
			continue
		}
		if !slices.ContainsFunc(allowed, func(a string) bool { return k == a || strings.HasPrefix(k, a+".") }) {
			return clientError("ValidationError", "The parameter %s is not modelled by this emulator", k)
		}
	}
	return nil
}

// asPage reads MaxRecords (1 to 100, default 50) and pages names.
func (p params) asPage(names []string) (page []string, next string, err error) {
	limit, err := p.integer("MaxRecords", 50)
	if err != nil || limit < 1 || limit > 100 {
		return nil, "", clientError("ValidationError", "1 validation error detected: Value '%s' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and 100", p.str("MaxRecords"))
	}
	start, err := pageStart(names, p.str("NextToken"))
	if err != nil {
		return nil, "", err
	}
	end := min(start+limit, len(names))
	if end < len(names) {
		next = pageToken(names[end-1])
	}
	return names[start:end], next, nil
}

// asNameList reads a Names.member.N list, at most 50 names.
func (p params) asNameList(name string) ([]string, error) {
	names := p.list(name + ".member")
	if len(names) > 50 {
		return nil, clientError("ValidationError", "The number of %s must not exceed 50", name)
	}
	return names, nil
}

// ownNamed is account's map of name to resource in a per-account map of
// maps, made on first use.
func ownNamed[T any](m map[string]map[string]T, account string) map[string]T {
	if m[account] == nil {
		m[account] = map[string]T{}
	}
	return m[account]
}

// describeNamed pages the sorted names of own (or those of wanted among
// them, missing ones left out as Auto Scaling does).
func (p params) describeNamed(own []string, wanted []string) ([]string, string, error) {
	names := own
	if len(wanted) > 0 {
		names = slices.DeleteFunc(slices.Clone(own), func(n string) bool { return !slices.Contains(wanted, n) })
	}
	slices.Sort(names)
	return p.asPage(names)
}
