package awsemu

import (
	"bytes"
	"crypto/rand"
	"encoding/xml"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// Namespace is the XML namespace of every EC2 response.
const Namespace = "http://ec2.amazonaws.com/doc/2016-11-15/"

const (
	// DefaultAccount is the account of an access key that does not end in
	// 12 digits.
	DefaultAccount = "123456789012"
	// AmazonAccount owns the seeded public images; its alias is "amazon".
	AmazonAccount = "137112412989"
	// DeniedKeyPrefix starts the access keys that are refused with
	// UnauthorizedOperation on every call.
	DeniedKeyPrefix = "AKIDDENIED"
)

// AccessKeyFor returns an access key id that the emulator maps to account
// (a 12-digit account id).
func AccessKeyFor(account string) string { return "AKIAEMUL" + account }

// accountForKey maps an access key id to its account.
func accountForKey(akid string) string {
	if len(akid) >= 12 {
		tail := akid[len(akid)-12:]
		if strings.Trim(tail, "0123456789") == "" {
			return tail
		}
	}
	return DefaultAccount
}

// KnownRegions are the regions the emulator answers for.
var KnownRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
	"ca-central-1", "sa-east-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1",
	"ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "ap-northeast-2",
}

func knownRegion(r string) bool { return slices.Contains(KnownRegions, r) }

// Options tune the emulator. The zero value is valid: no delays at all.
type Options struct {
	// PendingDelay is how long images stay pending, snapshots pending,
	// and instances pending, stopping or shutting-down. Zero makes the
	// next request see the settled state (the creating call itself still
	// answers pending, as EC2 does).
	PendingDelay time.Duration
	// TagVisibilityDelay is how long tags written by CreateTags stay
	// invisible to Describe* results and filters (eventual consistency).
	// Tags given at creation (TagSpecification) are visible at once.
	TagVisibilityDelay time.Duration
	// TerminatedRetention is how long terminated instances stay visible;
	// zero means one hour, as in EC2.
	TerminatedRetention time.Duration
	// OnCall, if set, is called after every request, outside the
	// emulator's lock and concurrently for concurrent requests, e.g. to
	// log it.
	OnCall func(Call)
}

// DefaultPendingDelay is a short, realistic PendingDelay for demos and for
// tests that want to see the pending states.
const DefaultPendingDelay = 300 * time.Millisecond

// Call is one request as recorded in the call log.
type Call struct {
	RequestID string
	Account   string
	Region    string
	Action    string
	// ErrorCode is empty for a successful call.
	ErrorCode string
	Time      time.Time
	Duration  time.Duration
}

// Emulator is the in-memory EC2. It is an http.Handler; all methods are safe
// for concurrent use.
type Emulator struct {
	opts Options

	mu      sync.Mutex
	regions map[string]*regionState
	calls   []Call
	faults  faultState
	seq     uint64 // id sequence; survives Reset so old ids are never reused
}

// New returns an emulator in its seeded state.
func New(opts Options) *Emulator {
	if opts.TerminatedRetention == 0 {
		opts.TerminatedRetention = time.Hour
	}
	e := &Emulator{opts: opts}
	e.resetLocked()
	return e
}

// Reset returns the emulator to its seeded state: all resources created
// since are gone, the call log and the faults are cleared.
func (e *Emulator) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.resetLocked()
}

func (e *Emulator) resetLocked() {
	e.regions = map[string]*regionState{}
	e.calls = nil
	e.faults = newFaultState(Faults{})
}

// Calls returns a copy of the call log, oldest first.
func (e *Emulator) Calls() []Call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.calls)
}

// CallCount counts the calls of action (successful or not), in any region
// when regions is empty, else in those regions.
func (e *Emulator) CallCount(action string, regions ...string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.calls {
		if c.Action == action && (len(regions) == 0 || slices.Contains(regions, c.Region)) {
			n++
		}
	}
	return n
}

// request is one call being served, with the lock held.
type request struct {
	e       *Emulator
	account string
	region  string
	p       params
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

		"DescribeSnapshots": snapshotsDescribe.handle,
		"DeleteSnapshot":    deleteSnapshot,
		"DescribeVolumes":   volumesDescribe.handle,
		"DeleteVolume":      deleteVolume,

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

// ServeHTTP answers one EC2 Query request.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	call := Call{RequestID: newRequestID(), Time: start}
	if serviceOf(r) == "sts" {
		e.serveSTS(w, r, &call)
	} else {
		e.serveEC2(w, r, &call)
	}
	call.Duration = time.Since(start)
	e.mu.Lock()
	e.calls = append(e.calls, call)
	onCall := e.opts.OnCall
	e.mu.Unlock()
	if onCall != nil {
		onCall(call)
	}
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
	if err := e.injectFault(call.Action); err != nil {
		return nil, err
	}
	if dry, err := p.boolean("DryRun", false); err != nil {
		return nil, err
	} else if dry {
		return nil, errorf("DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	req := &request{e: e, account: call.Account, region: region, p: p, now: time.Now()}
	req.rs = e.regionLocked(region, req.now)
	return h(req)
}

// credentialScope extracts the access key id and region from a SigV4
// Authorization header or presigned query. Signatures are not checked.
func credentialScope(r *http.Request) (akid, region string) {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); auth != "" {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return "", ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[0] == "" {
		return "", ""
	}
	return parts[0], parts[2]
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
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
