package awsemu

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

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
	// InstanceQuota is the per-account, per-region quota of
	// non-terminated instances; zero means EC2's default, 20.
	InstanceQuota int
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
	// Clock, if set, is the emulator's time source instead of time.Now;
	// Advance moves the emulator's time forward from either. Every timed
	// behaviour (pending states, tag visibility, deprecation times, SSM
	// validation) reads this one clock.
	Clock func() time.Time
	// SSMValidationDelay is how long SSM takes to validate a parameter
	// version of data type aws:ec2:image: until then GetParameter shows the
	// previous version (ssm.go). Zero makes the next request see it.
	SSMValidationDelay time.Duration
	// SSMNeverValidates models a caller without ec2:DescribeImages: its
	// aws:ec2:image versions stay unvalidated for ever, so PutParameter
	// succeeds and GetParameter never shows the new value.
	SSMNeverValidates bool
	// SSMShortPages makes DescribeParameters answer as AWS may ("on a
	// best-effort basis"): its pages alternate between empty and half of
	// MaxResults, each with a NextToken while more remain
	// (ssm_describe.go).
	SSMShortPages bool
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
	// ClientToken is the call's idempotency token (CopyImage,
	// RunInstances, ...), if it sent one.
	ClientToken string
	// ErrorCode is empty for a successful call.
	ErrorCode string
	Time      time.Time
	Duration  time.Duration
}

// Emulator is the in-memory AWS: every service, one state. It is an
// http.Handler; all methods are safe for concurrent use.
type Emulator struct {
	opts Options

	mu      sync.Mutex
	regions map[string]*regionState
	calls   []Call
	faults  faultState
	seq     uint64 // id sequence; survives Reset so old ids are never reused
	// skew is how far Advance has moved the clock; it survives Reset, as
	// time does not go back.
	skew time.Duration
	// orgs is every account's place in AWS Organizations (ec2_sharing.go);
	// kmsKeys the KMS keys of every account and region (kms.go).
	orgs    map[string]Membership
	kmsKeys []*kmsKey
}

// New returns an emulator in its seeded state.
func New(opts Options) *Emulator {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.TerminatedRetention == 0 {
		opts.TerminatedRetention = time.Hour
	}
	e := &Emulator{opts: opts}
	e.resetLocked()
	return e
}

// Advance moves the emulator's clock forward by d, so that tests can pass
// pending delays, deprecation times and SSM validation without sleeping.
func (e *Emulator) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.skew += d
}

// Now is the emulator's current time.
func (e *Emulator) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.nowLocked()
}

func (e *Emulator) nowLocked() time.Time { return e.opts.Clock().Add(e.skew) }

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
	e.orgs, e.kmsKeys = nil, nil
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

// services routes a request to a service by the service its SigV4
// credential scope names ("sts" in .../us-east-1/sts/aws4_request). A
// request for any other service, or an unsigned one, goes to EC2, which
// refuses it as EC2 would. A new service is a file group (ssm.go, ...)
// with its handler added here.
var services = map[string]func(e *Emulator, w http.ResponseWriter, r *http.Request, call *Call){
	"sts":         (*Emulator).serveSTS,
	"ssm":         (*Emulator).serveSSM,
	"autoscaling": (*Emulator).serveAutoScaling,
}

// ServeHTTP answers one request of any service and records it in the call
// log.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	call := Call{RequestID: newRequestID(), Time: start}
	serve, ok := services[serviceOf(r)]
	if !ok {
		serve = (*Emulator).serveEC2
	}
	serve(e, w, r, &call)
	call.Duration = time.Since(start)
	e.mu.Lock()
	e.calls = append(e.calls, call)
	onCall := e.opts.OnCall
	e.mu.Unlock()
	if onCall != nil {
		onCall(call)
	}
}

// refusal is why a request is refused before its action runs, for each
// service to word in its own error codes.
type refusal int

const (
	admitted refusal = iota
	unsigned
	unknownRegion
	deniedKey
)

// admit reads the caller's account and region from the SigV4 scope into
// call, and says whether the request may go on.
func admit(r *http.Request, call *Call) refusal {
	akid, region := credentialScope(r)
	call.Region = region
	if akid == "" {
		return unsigned
	}
	call.Account = accountForKey(akid)
	switch {
	case !knownRegion(region):
		return unknownRegion
	case strings.HasPrefix(akid, DeniedKeyPrefix):
		return deniedKey
	}
	return admitted
}

// serviceOf is the service a SigV4 Authorization header is scoped to.
func serviceOf(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, rest, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return ""
	}
	cred, _, _ := strings.Cut(rest, ",")
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 {
		return ""
	}
	return parts[3]
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
