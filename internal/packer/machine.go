package packer

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Packer's machine-readable output (-machine-readable) is one record a line:
//
//	timestamp,target,type,data,...
//
// The timestamp is Unix seconds; target is the build name, empty for
// messages about the whole run; type is "ui", "artifact", "artifact-count",
// "error", "error-count" and others. In every data field packer 1.6.6
// replaces "," by "%!(PACKER_COMMA)", a carriage return by the two
// characters `\r` and a newline by `\n`; backslashes are not escaped, so the
// text `\n` written by a provisioner comes back as a newline. A build's
// artifacts look like this (from packer 1.6.6's file builder):
//
//	1795773076,f1,artifact-count,1
//	1795773076,f1,artifact,0,builder-id,packer.file
//	1795773076,f1,artifact,0,id,File
//	1795773076,f1,artifact,0,string,Stored file: out1.txt
//	1795773076,f1,artifact,0,files-count,1
//	1795773076,f1,artifact,0,file,0,out1.txt
//	1795773076,f1,artifact,0,end
//
// amazon-ebs's artifact id is "region:ami-id" for each region, sorted and
// joined by commas, so with ami_regions it reads
// "eu-west-1:ami-2%!(PACKER_COMMA)us-east-1:ami-1".

const (
	escComma = "%!(PACKER_COMMA)"
	// maxLine bounds the memory one line may take. Longer lines are cut; a
	// cut artifact line is an error, a cut ui line is shown cut.
	maxLine = 1 << 20
)

// Kind is the kind of a human-readable line of packer output.
type Kind string

const (
	KindSay     Kind = "say"     // ui,say: a step ("==> build: ...")
	KindMessage Kind = "message" // ui,message: detail, such as provisioner output
	KindError   Kind = "error"   // ui,error: an error packer shows the user
	KindRaw     Kind = "raw"     // a stdout line that is not machine-readable
)

// Line is one line of packer output meant for people, with escapes undone
// and without its newline.
type Line struct {
	Kind Kind
	Text string
}

// Artifact is one artifact that packer reported for a successful build.
type Artifact struct {
	// Build is the target field of the artifact lines: the build name, such
	// as "amazon-ebs" (JSON) or "amazon-ebs.main" (HCL2).
	Build string
	// BuilderID identifies what made the artifact, e.g. mitchellh.amazonebs.
	BuilderID string
	// ID is the artifact's id as packer printed it, escapes undone, e.g.
	// "eu-west-1:ami-2,us-east-1:ami-1".
	ID string
	// AMIs maps region to AMI id when ID is a list of region:ami-id pairs;
	// nil otherwise.
	AMIs map[string]string
}

// amiBuilders are the builder ids whose artifacts must be AMIs: for them an
// id that is not a list of region:ami-id pairs is an error.
var amiBuilders = map[string]bool{
	"mitchellh.amazonebs":           true, // amazon-ebs
	"mitchellh.amazon.ebssurrogate": true,
	"mitchellh.amazon.instance":     true,
	"mitchellh.amazon.chroot":       true,
}

// ParseMachineReadable reads packer's machine-readable output from r to its
// end, calls ui (if not nil) for each human-readable line in order, and
// returns the artifacts in the order their "end" lines came.
//
// It reads all of r even after an error, so that a running packer never
// blocks on a full pipe and every line still reaches ui; the error returned
// is then the first one, naming its line. Errors: an artifact line that
// cannot be read, an artifact without an "end", an id or a builder-id, an
// artifact-count that disagrees with the artifacts, output that ends in the
// middle of a line (a crash), and the error of r itself.
func ParseMachineReadable(r io.Reader, ui func(Line)) ([]Artifact, error) {
	artifacts, err := parseMachineReadable(r, ui)
	if err != nil {
		return nil, err
	}
	return artifacts, nil
}

// parseMachineReadable is ParseMachineReadable, but returns the artifacts
// that ended before an error too: packer reported them, whatever came next.
func parseMachineReadable(r io.Reader, ui func(Line)) ([]Artifact, error) {
	p := parser{ui: ui, open: map[artifactKey]*partial{}, counts: map[string]int{}, ended: map[string]int{}}
	br := newLineReader(r)
	for {
		line, complete, cut, err := readLine(br)
		if line != "" || complete {
			p.n++
			p.line(line, cut)
			if !complete && err == io.EOF {
				p.fail(fmt.Errorf("packer output line %d: output ended in the middle of a line (did packer crash?): %q", p.n, clip(line)))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.fail(fmt.Errorf("reading packer output after line %d: %w", p.n, err))
			break
		}
	}
	return p.finish()
}

func newLineReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }

// readLine reads one line without its "\n". complete reports whether the
// newline was there; cut whether the line was longer than maxLine.
func readLine(br *bufio.Reader) (line string, complete, cut bool, err error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(b)+len(chunk) > maxLine {
			if room := maxLine - len(b); room > 0 {
				b = append(b, chunk[:room]...)
			}
			cut = true
		} else if b == nil && err == nil {
			// The common case: the whole line is in the buffer.
			return string(chunk[:len(chunk)-1]), true, false, nil
		} else {
			b = append(b, chunk...)
		}
		switch {
		case err == nil:
			if !cut {
				b = b[:len(b)-1]
			}
			return string(b), true, cut, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return string(b), false, cut, err
		}
	}
}

type artifactKey struct {
	build string
	index int
}

type partial struct {
	Artifact
	haveID, haveBuilderID bool
	firstLine             int
}

type parser struct {
	ui     func(Line)
	n      int // lines read
	err    error
	open   map[artifactKey]*partial
	done   map[artifactKey]bool
	counts map[string]int // artifact-count per build
	ended  map[string]int // artifacts ended per build
	out    []Artifact
}

func (p *parser) fail(err error) {
	if p.err == nil {
		p.err = err
	}
}

func (p *parser) failf(format string, args ...any) {
	p.fail(fmt.Errorf("packer output line %d: "+format, append([]any{p.n}, args...)...))
}

func (p *parser) emit(kind Kind, text string) {
	if p.ui == nil {
		return
	}
	text = strings.TrimRight(text, "\r\n")
	for l := range strings.SplitSeq(text, "\n") {
		p.ui(Line{Kind: kind, Text: strings.TrimSuffix(l, "\r")})
	}
}

// line handles one line of output.
func (p *parser) line(line string, cut bool) {
	// Packer ends lines with "\n" alone and escapes a carriage return in
	// the data, so a final "\r" can only come from a CRLF conversion.
	line = strings.TrimSuffix(line, "\r")
	ts, rest, ok := strings.Cut(line, ",")
	if !ok || !isDigits(ts) {
		p.emit(KindRaw, line)
		return
	}
	target, rest, ok := strings.Cut(rest, ",")
	if !ok {
		p.emit(KindRaw, line)
		return
	}
	typ, data, _ := strings.Cut(rest, ",")
	switch typ {
	case "ui":
		kind, text, _ := strings.Cut(data, ",")
		switch Kind(kind) {
		case KindSay, KindMessage, KindError:
			p.emit(Kind(kind), unescape(text))
		default:
			p.emit(KindRaw, unescape(text))
		}
	case "artifact-count":
		if cut {
			p.failf("artifact-count line is too long")
			return
		}
		n, err := strconv.Atoi(data)
		if err != nil || n < 0 {
			p.failf("malformed artifact-count %q for build %q", data, target)
			return
		}
		p.counts[target] = n
	case "artifact":
		if cut {
			p.failf("artifact line of build %q is longer than %d bytes", target, maxLine)
			return
		}
		p.artifact(target, data)
	}
	// Other types ("error", "error-count", builder-specific ones) carry
	// nothing for people that the ui lines do not already say.
}

// artifact handles the data of an artifact line: index,key[,value...].
func (p *parser) artifact(build, data string) {
	idx, rest, _ := strings.Cut(data, ",")
	index, err := strconv.Atoi(idx)
	if err != nil || !isDigits(idx) {
		p.failf("malformed artifact line for build %q: no artifact index in %q", build, data)
		return
	}
	key, value, hasValue := strings.Cut(rest, ",")
	if key == "" {
		p.failf("malformed artifact line for build %q: no field name in %q", build, data)
		return
	}
	k := artifactKey{build, index}
	if p.done[k] {
		p.failf("artifact %d of build %q has a %q line after its end", index, build, key)
		return
	}
	a := p.open[k]
	if a == nil {
		a = &partial{Artifact: Artifact{Build: build}, firstLine: p.n}
		p.open[k] = a
	}
	needValue := func() bool {
		if !hasValue {
			p.failf("malformed artifact line for build %q: %s without a value", build, key)
		}
		return hasValue
	}
	switch key {
	case "builder-id":
		if needValue() {
			a.BuilderID, a.haveBuilderID = unescape(value), true
		}
	case "id":
		if needValue() {
			a.ID, a.haveID = unescape(value), true
		}
	case "end":
		delete(p.open, k)
		if p.done == nil {
			p.done = map[artifactKey]bool{}
		}
		p.done[k] = true
		p.end(a)
	}
	// Other fields (string, file, files-count, builder-specific ones) are
	// not needed.
}

func (p *parser) end(a *partial) {
	switch {
	case !a.haveBuilderID || a.BuilderID == "":
		p.failf("artifact of build %q ended without a builder-id", a.Build)
		return
	case !a.haveID || a.ID == "":
		p.failf("artifact of build %q (%s) ended without an id", a.Build, a.BuilderID)
		return
	}
	amis, err := parseAMIs(a.ID)
	if err != nil && amiBuilders[a.BuilderID] {
		p.failf("artifact of build %q (%s): %v", a.Build, a.BuilderID, err)
		return
	}
	a.AMIs = amis
	p.ended[a.Build]++
	p.out = append(p.out, a.Artifact)
}

func (p *parser) finish() ([]Artifact, error) {
	// Report what is left open in a deterministic order: by first line.
	var first *partial
	for _, a := range p.open {
		if first == nil || a.firstLine < first.firstLine {
			first = a
		}
	}
	if first != nil {
		p.fail(fmt.Errorf("packer output line %d: artifact of build %q has no end line (did packer stop mid-output?)", first.firstLine, first.Build))
	}
	if p.err == nil {
		builds := make([]string, 0, len(p.counts))
		for b := range p.counts {
			builds = append(builds, b)
		}
		slices.Sort(builds)
		for _, b := range builds {
			if got, want := p.ended[b], p.counts[b]; got != want {
				p.fail(fmt.Errorf("packer announced %d artifacts for build %q but reported %d", want, b, got))
				break
			}
		}
	}
	return p.out, p.err
}

// parseAMIs reads "region:ami-id[,region:ami-id...]".
func parseAMIs(id string) (map[string]string, error) {
	amis := map[string]string{}
	for part := range strings.SplitSeq(id, ",") {
		region, ami, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok || !isRegion(region) || !isAMI(ami) {
			return nil, fmt.Errorf("artifact id %q is not a list of region:ami-id pairs", id)
		}
		if prev, dup := amis[region]; dup && prev != ami {
			return nil, fmt.Errorf("artifact id %q names two AMIs for region %s", id, region)
		}
		amis[region] = ami
	}
	return amis, nil
}

func isRegion(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func isAMI(s string) bool {
	rest, ok := strings.CutPrefix(s, "ami-")
	if !ok || rest == "" {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		if !('a' <= c && c <= 'f' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}

// unescape undoes packer's escaping of a data field.
func unescape(s string) string {
	if !strings.Contains(s, `\`) && !strings.Contains(s, "%!") {
		return s
	}
	s = strings.ReplaceAll(s, escComma, ",")
	s = strings.ReplaceAll(s, `\r`, "\r")
	return strings.ReplaceAll(s, `\n`, "\n")
}
