package awsemu

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"time"
)

// EC2: the Query protocol (ec2_*.go hold the actions, one file per kind of
// resource). Every action is a handler in actions; it runs with the
// emulator's lock held, on the caller's regionState.

// Namespace is the XML namespace of every EC2 response.
const Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

// request is one call being served, with the lock held.
type request struct {
	e       *Emulator
	account string
	region  string
	p       params
	body    []byte // a JSON service's request (ssm.go)
	now     time.Time
	rs      *regionState
}

type handler func(r *request) (any, error)

// actions maps every supported Action to its handler.
var actions map[string]handler

func init() {
	actions = map[string]handler{
		"DescribeRegions":           regionsDescribe.handle,
		"DescribeAvailabilityZones": zonesDescribe.handle,
		"DescribeAccountAttributes": describeAccountAttributes,
		"DescribeVpcs":              vpcsDescribe.handle,
		"DescribeSubnets":           subnetsDescribe.handle,

		"DescribeImages":         imagesDescribe.handle,
		"DescribeImageAttribute": describeImageAttribute,
		"CreateImage":            createImage,
		"RegisterImage":          registerImage,
		"CopyImage":              copyImage,
		"DeregisterImage":        deregisterImage,
		"ModifyImageAttribute":   modifyImageAttribute,
		"ResetImageAttribute":    resetImageAttribute,

		"EnableImageDeprecation":               enableImageDeprecation,
		"DisableImageDeprecation":              disableImageDeprecation,
		"DisableImage":                         disableImage,
		"EnableImage":                          enableImage,
		"EnableImageDeregistrationProtection":  enableImageDeregistrationProtection,
		"DisableImageDeregistrationProtection": disableImageDeregistrationProtection,

		"DescribeSnapshots":         snapshotsDescribe.handle,
		"DescribeSnapshotAttribute": describeSnapshotAttribute,
		"ModifySnapshotAttribute":   modifySnapshotAttribute,
		"DeleteSnapshot":            deleteSnapshot,
		"DescribeVolumes":           volumesDescribe.handle,
		"DeleteVolume":              deleteVolume,

		"RunInstances":            runInstances,
		"DescribeInstances":       instancesDescribe.handle,
		"DescribeInstanceStatus":  instanceStatusDescribe.handle,
		"StopInstances":           stopInstances,
		"StartInstances":          startInstances,
		"TerminateInstances":      terminateInstances,
		"ModifyInstanceAttribute": modifyInstanceAttribute,

		"CreateKeyPair":    createKeyPair,
		"ImportKeyPair":    importKeyPair,
		"DeleteKeyPair":    deleteKeyPair,
		"DescribeKeyPairs": keyPairsDescribe.handle,

		"CreateSecurityGroup":           createSecurityGroup,
		"DescribeSecurityGroups":        securityGroupsDescribe.handle,
		"AuthorizeSecurityGroupIngress": authorizeSecurityGroupIngress,
		"DeleteSecurityGroup":           deleteSecurityGroup,

		"CreateLaunchTemplate":           createLaunchTemplate,
		"CreateLaunchTemplateVersion":    createLaunchTemplateVersion,
		"DescribeLaunchTemplates":        launchTemplatesDescribe.handle,
		"DescribeLaunchTemplateVersions": launchTemplateVersionsDescribe.handle,
		"ModifyLaunchTemplate":           modifyLaunchTemplate,
		"DeleteLaunchTemplate":           deleteLaunchTemplate,

		"CreateTags":   createTags,
		"DeleteTags":   deleteTags,
		"DescribeTags": tagsDescribe.handle,
	}
}

// Actions lists the supported actions, sorted.
func Actions() []string {
	out := make([]string, 0, len(actions))
	for a := range actions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// serveEC2 answers one EC2 request.
func (e *Emulator) serveEC2(w http.ResponseWriter, r *http.Request, call *Call) {
	body, err := e.serve(w, r, call)
	if err == nil {
		writeResponse(w, call.Action, body, call.RequestID)
		return
	}
	ae, ok := err.(*apiError)
	if !ok {
		ae = errorf("InternalError", "An internal error has occurred")
	}
	call.ErrorCode = ae.Code
	writeError(w, ae, call.RequestID)
}

func (e *Emulator) serve(w http.ResponseWriter, r *http.Request, call *Call) (any, error) {
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		return nil, errorf("InvalidHttpRequest", "The HTTP method %s is not supported", r.Method)
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return nil, errorf("InvalidQueryParameter", "The request could not be parsed: %v", err)
	}
	p := params{v: r.Form}
	call.Action = p.str("Action")
	call.ClientToken = p.str("ClientToken")
	akid, region := credentialScope(r)
	call.Region = region
	if akid == "" {
		return nil, errorf("AuthFailure", "AWS was not able to validate the provided access credentials")
	}
	call.Account = accountForKey(akid)
	if !knownRegion(region) {
		return nil, errorf("AuthFailure", "The credential scope names region '%s', which this EC2 does not serve; known regions: %s", region, strings.Join(KnownRegions, ", "))
	}
	if strings.HasPrefix(akid, DeniedKeyPrefix) {
		return nil, errorf("UnauthorizedOperation", "You are not authorized to perform this operation.")
	}
	if call.Action == "" {
		return nil, errorf("MissingAction", "The request must contain the parameter Action")
	}
	h, ok := actions[call.Action]
	if !ok {
		return nil, errorf("InvalidAction", "The action %s is not valid for this web service.", call.Action)
	}
	if err := e.injectFault(r.Context(), call.Action); err != nil {
		return nil, err
	}
	if dry, err := p.boolean("DryRun", false); err != nil {
		return nil, err
	} else if dry {
		return nil, errorf("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}

	return e.locked(call.Account, region, p, nil, h)
}

// locked runs h for account in region with the lock held, the region's state
// settled to now; any service's handler runs this way. body is the request
// body of a JSON service (SSM), p the form of a Query service.
func (e *Emulator) locked(account, region string, p params, body []byte, h handler) (any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	req := &request{e: e, account: account, region: region, p: p, body: body, now: e.nowLocked()}
	req.rs = e.regionLocked(region, req.now)
	return h(req)
}

// responder lets writeResponse fill in the request id of any response type.
type responder interface{ setRequestID(string) }

// meta is embedded first in every response body.
type meta struct {
	RequestID string `xml:"requestId"`
}

func (m *meta) setRequestID(id string) { m.RequestID = id }

func writeResponse(w http.ResponseWriter, action string, body any, requestID string) {
	if r, ok := body.(responder); ok {
		r.setRequestID(requestID)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	start := xml.StartElement{
		Name: xml.Name{Local: action + "Response"},
		Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: Namespace}},
	}
	if err := xml.NewEncoder(&buf).EncodeElement(body, start); err != nil {
		writeError(w, errorf("InternalError", "encoding the response: %v", err), requestID)
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

type errorEnvelope struct {
	XMLName   xml.Name     `xml:"Response"`
	Errors    []errorEntry `xml:"Errors>Error"`
	RequestID string       `xml:"RequestID"`
}

type errorEntry struct {
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func writeError(w http.ResponseWriter, e *apiError, requestID string) {
	out, _ := xml.Marshal(errorEnvelope{Errors: []errorEntry{{e.Code, e.Message}}, RequestID: requestID})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.Status)
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(out)
}
