package packer

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

var (
	// ErrInterrupted is in the chain of the error of Build, Init and
	// InitSupported when the context was cancelled (or Kill closed) and
	// packer was interrupted or killed, or not started.
	ErrInterrupted = errors.New("packer build interrupted")
	// ErrNoArtifacts is in the chain of Build's error when packer succeeded
	// without building anything, as it does when -only matches no build.
	ErrNoArtifacts = errors.New("packer build produced no artifacts")
	// ErrNoAMI is in the chain of Build's error when packer succeeded but
	// none of its artifacts is an AMI. Build then returns the Result too.
	ErrNoAMI = errors.New("packer build produced no AMI")
)

// Result is what a successful packer build made.
type Result struct {
	Artifacts []Artifact
	// Reported are the AMIs packer reported making (ReportedAMIs).
	Reported []ReportedAMI
}

// ReportedAMI is an AMI that a packer build reported making.
type ReportedAMI struct {
	// Build is the build that made it, as packer names it in its output
	// ("amazon-ebs", "amazon-ebs.main").
	Build string
	// Region is the AMI's region, from the build's artifact; "" when packer
	// only announced the AMI as its builder created it, which is then in
	// the build's region.
	Region string
	ID     string
}

// ReportedAMIs returns every AMI that the packer build which returned res
// and err reported making, whether it succeeded, failed or was
// interrupted: each region's AMI of its artifacts, and the AMIs its amazon
// builders announced as they created them ("AMI: ami-...") but that no
// artifact lists, because the build failed, was interrupted or killed
// afterwards. Packer deletes an AMI it created when it is interrupted or a
// later step of its builder fails, but not when it is killed or a
// post-processor fails; a caller that must not keep an AMI deletes all of
// these, tolerating those already gone.
func ReportedAMIs(res *Result, err error) []ReportedAMI {
	if res != nil {
		return res.Reported
	}
	if be := (*BuildError)(nil); errors.As(err, &be) {
		return be.Reported
	}
	return nil
}

// amiReporter watches a build's output for the AMIs its amazon builders
// announce. Each announces an AMI right after the step line saying that it
// creates or registers one: amazon-ebs "==> B: Creating AMI NAME from
// instance i-..." then "    B: AMI: ami-..."; amazon-chroot,
// amazon-instance and amazon-ebssurrogate "==> B: Registering the AMI..."
// then "==> B: AMI: ami-...". The same text anywhere else, such as in a
// provisioner's output, is not taken for an announcement.
type amiReporter struct {
	mu        sync.Mutex
	creating  map[string]bool // builds whose last step line says they create an AMI
	announced []ReportedAMI
}

var (
	stepLineRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^==> (\S+): (.*)$`) })
	messageLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\s+(\S+): (.*)$`) })
)

func (a *amiReporter) line(l Line) {
	re := stepLineRE()
	switch l.Kind {
	case KindSay:
	case KindMessage:
		re = messageLineRE()
	default:
		return
	}
	m := re.FindStringSubmatch(l.Text)
	if m == nil {
		return
	}
	build, text := m[1], strings.TrimSpace(m[2])
	a.mu.Lock()
	defer a.mu.Unlock()
	if id, ok := strings.CutPrefix(text, "AMI: "); ok && isAMI(id) {
		if a.creating[build] {
			a.announced = append(a.announced, ReportedAMI{Build: build, ID: id})
		}
		return
	}
	if l.Kind == KindSay {
		if a.creating == nil {
			a.creating = map[string]bool{}
		}
		a.creating[build] = strings.HasPrefix(text, "Creating AMI ") || strings.HasPrefix(text, "Creating the AMI") ||
			strings.HasPrefix(text, "Registering the AMI")
	}
}

// reported returns the AMIs of artifacts, each region's, then those
// announced that no artifact lists.
func (a *amiReporter) reported(artifacts []Artifact) []ReportedAMI {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []ReportedAMI
	seen := map[string]bool{}
	for _, art := range artifacts {
		for _, region := range slices.Sorted(maps.Keys(art.AMIs)) {
			id := art.AMIs[region]
			out = append(out, ReportedAMI{Build: art.Build, Region: region, ID: id})
			seen[id] = true
		}
	}
	for _, r := range a.announced {
		if !seen[r.ID] {
			out = append(out, r)
			seen[r.ID] = true
		}
	}
	return out
}

// AMIArtifacts returns the artifacts that are AMIs.
func (r *Result) AMIArtifacts() []Artifact {
	var out []Artifact
	for _, a := range r.Artifacts {
		if a.AMIs != nil {
			out = append(out, a)
		}
	}
	return out
}

const (
	prefixOut = "packer: "
	prefixErr = "packer stderr: "
	// tailLines is how many lines of packer's output an error carries.
	tailLines = 20
	// errorLines is how many of packer's ui error lines an error keeps.
	errorLines = 10
)

// BuildError is the error of a packer command that ran (build, and init or
// version too): it carries what packer said, so that the user sees why it failed without a second run.
type BuildError struct {
	// Err says what went wrong; its chain holds ErrInterrupted,
	// ErrNoArtifacts, ErrNoAMI or *exec.ExitError where they apply.
	Err error
	// Errors are the last error lines packer showed (its ui errors), at most
	// 10, as shown in Progress.
	Errors []string
	// Tail is the last 20 lines of packer's output, standard output and
	// standard error, as shown in Progress.
	Tail []string
	// Reported are the AMIs a build reported making before it failed
	// (ReportedAMIs).
	Reported []ReportedAMI
}

func (e *BuildError) Unwrap() error { return e.Err }

// Error is Err's message, then packer's earlier error lines that are not in
// the tail, then the tail.
func (e *BuildError) Error() string {
	var b strings.Builder
	b.WriteString(e.Err.Error())
	inTail := map[string]bool{}
	for _, l := range e.Tail {
		inTail[l] = true
	}
	var earlier []string
	for _, l := range e.Errors {
		if !inTail[l] {
			earlier = append(earlier, l)
		}
	}
	if len(earlier) > 0 {
		b.WriteString("\npacker reported these errors earlier:")
		for _, l := range earlier {
			b.WriteString("\n  " + l)
		}
	}
	if len(e.Tail) > 0 {
		fmt.Fprintf(&b, "\nlast %d lines of packer output:", len(e.Tail))
		for _, l := range e.Tail {
			b.WriteString("\n  " + l)
		}
	}
	return b.String()
}

// output forwards packer's lines to Progress, prefixed, and remembers the
// tail and the error lines for the error. Safe for concurrent use.
type output struct {
	mu   sync.Mutex
	w    io.Writer
	tail []string
	errs []string
}

func (o *output) add(prefix string, kind Kind, text string) {
	line := strings.TrimRight(prefix+text, " \t")
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.w != nil {
		// Progress is best effort: a failing writer must not fail the build.
		_, _ = io.WriteString(o.w, line+"\n")
	}
	o.tail = appendLast(o.tail, line, tailLines)
	if kind == KindError {
		o.errs = appendLast(o.errs, line, errorLines)
	}
}

func (o *output) ui(l Line) { o.add(prefixOut, l.Kind, l.Text) }

// stderr forwards packer's standard error, line by line, until EOF.
func (o *output) stderr(r io.Reader) { _ = o.lines(r, prefixErr, nil) }

// plain returns a reader of standard output that is not machine-readable
// (init, version): it forwards each line as stderr does, and gives it to
// onLine too if that is not nil.
func (o *output) plain(onLine func(string)) func(io.Reader) error {
	return func(r io.Reader) error { return o.lines(r, prefixOut, onLine) }
}

// lines forwards r's lines with prefix until EOF, calling onLine (if not
// nil) for each, and returns r's error other than EOF.
func (o *output) lines(r io.Reader, prefix string, onLine func(string)) error {
	br := newLineReader(r)
	for {
		line, complete, _, err := readLine(br)
		if line != "" || complete {
			line = strings.TrimSuffix(line, "\r")
			o.add(prefix, KindRaw, line)
			if onLine != nil {
				onLine(line)
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func (o *output) buildError(err error) *BuildError {
	o.mu.Lock()
	defer o.mu.Unlock()
	return &BuildError{
		Err:    err,
		Errors: append([]string(nil), o.errs...),
		Tail:   append([]string(nil), o.tail...),
	}
}

func appendLast(list []string, s string, n int) []string {
	if len(list) == n {
		copy(list, list[1:])
		list = list[:n-1]
	}
	return append(list, s)
}

// finish judges a build whose packer has exited and whose output was read.
func finish(o BuildOptions, out *output, artifacts []Artifact) (*Result, error) {
	if len(artifacts) == 0 {
		err := error(ErrNoArtifacts)
		var flags []string
		if len(o.Only) > 0 {
			flags = append(flags, "-only")
		}
		if len(o.Except) > 0 {
			flags = append(flags, "-except")
		}
		if len(flags) > 0 {
			err = usererr.WithHint(err, "check that the %s build names match the template's builds (JSON: the builder's name or type; HCL2: type.name, prefixed by a named build's name)", strings.Join(flags, " and "))
		}
		return nil, out.buildError(err)
	}
	res := &Result{Artifacts: artifacts}
	if len(res.AMIArtifacts()) == 0 {
		var made []string
		for _, a := range artifacts {
			made = append(made, fmt.Sprintf("%s: %s %q", a.Build, a.BuilderID, a.ID))
		}
		err := fmt.Errorf("%w (artifacts: %s)", ErrNoAMI, strings.Join(made, "; "))
		return res, out.buildError(usererr.WithHint(err, "ami-bakery needs a template whose build makes an AMI, with an amazon-ebs (or other amazon-*) builder"))
	}
	return res, nil
}
