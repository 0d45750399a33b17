package options

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
	"github.com/ami-bakery/ami-bakery/internal/images"
	"github.com/ami-bakery/ami-bakery/internal/packer"
	"github.com/ami-bakery/ami-bakery/internal/project"
	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Defaults shared with the original tool.
const (
	DefaultTagKey         = "ami_config_checksum"
	DefaultFingerprintVar = "config_checksum"
	DefaultOutputFile     = ".ami_id.json"
)

// Definition is what the fingerprint covers.
type Definition struct {
	Template   string
	Dirs       []string
	VarFiles   []string
	Vars       []string // name=value
	Algorithm  string
	IgnoreFile string
	// PackerDir is packer's working directory (--packer-dir), against
	// which the template's relative paths and its manifest output
	// resolve; "" is the template's directory (WorkDir).
	PackerDir string
	// Name is the image's name (--name; ImageName).
	Name string
	// Project names the project (--project): the ami-bakery:project tag
	// that tells this definition's AMIs from another's.
	Project string
	// StrictInputs refuses a template reference to a file that cannot be
	// resolved before the build, instead of warning.
	StrictInputs bool

	templateIsDir bool // set by Validate
}

// WorkDir is where packer runs: --packer-dir, or the template's directory.
func (d *Definition) WorkDir() string {
	if d.PackerDir != "" {
		return d.PackerDir
	}
	return d.TemplateDir()
}

// TemplateDir is the template's directory, where packer runs and
// .ami_id.json goes by default: the template itself when it is a directory
// of .pkr.hcl files, so that "-t dir" and "-t dir/" mean the same.
func (d *Definition) TemplateDir() string {
	if d.templateIsDir {
		return d.Template
	}
	return filepath.Dir(d.Template)
}

// AddFlags registers the definition flags.
func (d *Definition) AddFlags(fs *pflag.FlagSet) {
	fs.StringVarP(&d.Template, "template", "t", "", "packer template (JSON or HCL2 .pkr.hcl)")
	fs.StringSliceVarP(&d.Dirs, "dir", "d", nil, "definition directory; repeat or separate with commas (default: the template's directory)")
	fs.StringArrayVar(&d.VarFiles, "var-file", nil, "packer -var-file, part of the fingerprint; repeatable")
	fs.StringArrayVar(&d.Vars, "var", nil, "packer -var name=value, part of the fingerprint; repeatable")
	fs.StringVar(&d.Algorithm, "algorithm", "v2", "fingerprint algorithm: v2, or v1 to find AMIs built by the original tool")
	fs.StringVar(&d.IgnoreFile, "ignore-file", ".bakeryignore", "name of the gitignore-style file, at a directory's root, listing what to leave out")
	fs.StringVar(&d.Name, "name", "", "the image's name, tagged ami-bakery:image (default: the template's file name without extension)")
	fs.StringVar(&d.PackerDir, "packer-dir", "", "packer's working directory, for templates whose paths are relative to it, e.g. the repository root (default: the template's directory)")
	BindEnv(fs, "packer-dir", "AMI_BAKERY_PACKER_DIR")
	fs.StringVar(&d.Project, "project", "", "the project's name, tagged ami-bakery:project on every AMI (default: the git remote and the template's or project file's path in the repository)")
	BindEnv(fs, "project", "AMI_BAKERY_PROJECT")
	fs.BoolVar(&d.StrictInputs, "strict-inputs", false, "refuse a template reference to a file that cannot be resolved before the build (default: a warning)")
	BindEnv(fs, "strict-inputs", "AMI_BAKERY_STRICT_INPUTS")
	BindEnv(fs, "template", "PACKER_JSON_PATH", "AMI_BAKERY_TEMPLATE")
	BindEnv(fs, "dir", "AMI_DEFINITION_DIRS", "AMI_BAKERY_DIRS")
	BindEnv(fs, "algorithm", "AMI_BAKERY_ALGORITHM")
}

// validVarName reports whether s is a packer variable name,
// ^[A-Za-z_][A-Za-z0-9_-]*$ (TestCheckersAgreeWithPatterns). Loops, not
// regexps, check what every run checks: compiling the patterns was 0.15
// ms and 97 kB at init, and still over a tenth of a no-op's CPU when
// compiled on first use (issue 25).
func validVarName(s string) bool {
	for i, c := range []byte(s) {
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return false
		}
	}
	return s != ""
}

// Validate checks the definition flags and fills in defaults.
func (d *Definition) Validate() error {
	if d.Template == "" {
		return usererr.WithHint(usererr.Usagef("no packer template given"),
			"pass --template PATH or set PACKER_JSON_PATH")
	}
	// A directory template is named without its trailing slash, so that
	// "-t dir" and "-t dir/" give one fingerprint and one output location.
	fi, err := os.Stat(d.Template)
	switch {
	case err != nil:
		return flagErr("template", usererr.WithHint(usererr.Usage(fmt.Errorf("reading the packer template: %w", err)),
			"check the --template path; a relative path is taken from the current directory"))
	case fi.IsDir():
		d.Template, d.templateIsDir = filepath.Clean(d.Template), true
	}
	if len(d.Dirs) == 0 {
		d.Dirs = []string{d.TemplateDir()}
	}
	if d.PackerDir != "" {
		if fi, err := os.Stat(d.PackerDir); err != nil || !fi.IsDir() {
			return flagErr("packer-dir", usererr.WithHint(usererr.Usagef("--packer-dir %s is not a directory", d.PackerDir),
				"name the directory packer should run in, e.g. the repository root"))
		}
		d.PackerDir = filepath.Clean(d.PackerDir)
	}
	for i, dir := range d.Dirs {
		// "a, b" in AMI_DEFINITION_DIRS means a and b.
		d.Dirs[i] = strings.TrimSpace(dir)
		if d.Dirs[i] == "" {
			return flagErr("dir", usererr.WithHint(usererr.Usagef("empty definition directory in %q", strings.Join(d.Dirs, ",")),
				"separate directories with single commas, e.g. --dir ami,scripts"))
		}
	}
	// v1 is the original's checksum, bit for bit, overlaps included.
	if d.Algorithm != "v1" {
		if err := checkOverlap(d.Dirs); err != nil {
			return err
		}
	}
	if _, err := fingerprint.ParseAlgorithm(d.Algorithm); err != nil {
		return flagErr("algorithm", usererr.Usage(err))
	}
	return d.ValidateVars()
}

// ValidateVars checks the --var values.
func (d *Definition) ValidateVars() error {
	for _, v := range d.Vars {
		name, _, ok := strings.Cut(v, "=")
		if !ok || !validVarName(name) {
			return usererr.WithHint(usererr.Usagef("invalid --var %q", v),
				"write it as name=value, e.g. --var instance_type=t3.small")
		}
	}
	return nil
}

// checkOverlap refuses a directory given twice or inside another: its
// files would count twice, and moving one of them would change the
// fingerprint for nothing.
func checkOverlap(dirs []string) error {
	abs := make([]string, len(dirs))
	for i, d := range dirs {
		a, err := filepath.Abs(d)
		if err != nil {
			return fmt.Errorf("resolving %s: %w", d, err)
		}
		abs[i] = a
	}
	for i := range abs {
		for j := range abs {
			if i == j {
				continue
			}
			if abs[i] == abs[j] && i < j || strings.HasPrefix(abs[j], strings.TrimSuffix(abs[i], string(filepath.Separator))+string(filepath.Separator)) {
				return flagErr("dir", usererr.WithHint(usererr.Usagef("definition directories %s and %s overlap", dirs[i], dirs[j]),
					"give each directory once; %s already covers everything under it", dirs[i]))
			}
		}
	}
	return nil
}

// VarName returns the name in a name=value var.
func VarName(v string) string { n, _, _ := strings.Cut(v, "="); return n }

// Target is where the AMI must exist and how it is found there: the
// regions, the trusted owners, the tag (or name) that carries the
// fingerprint, the endpoint and the role.
type Target struct {
	Region   string
	Regions  []string
	Owners   []string
	TagKey   string
	Endpoint string
	By       string // tag or name
	RoleARN  string
	// RegionAmbient says the primary region came from the environment
	// (AWS_REGION), not from --region: with --regions given, it is the
	// primary only when it is among them, never an extra region.
	RegionAmbient bool
}

// AddFlags registers the target flags.
func (l *Target) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&l.Region, "region", "", "primary AWS region, where a build happens")
	fs.StringSliceVar(&l.Regions, "regions", nil, "every region the AMI must exist in, comma-separated; the primary (build) region is --region when given, which must be among them, else the first")
	fs.StringSliceVar(&l.Owners, "owner", nil, "account id trusted to own the AMI, besides your own; repeatable")
	fs.StringVar(&l.TagKey, "tag-key", DefaultTagKey, "AMI tag that carries the fingerprint")
	fs.StringVar(&l.By, "lookup", "tag", "find AMIs by their fingerprint tag, or by a name containing the fingerprint (for AMIs shared from another account)")
	BindEnv(fs, "lookup", "AMI_BAKERY_LOOKUP")
	fs.StringVar(&l.RoleARN, "role-arn", "", "assume this IAM role (e.g. in a central build account) for the lookup and the build")
	BindEnv(fs, "role-arn", "AMI_BAKERY_ROLE_ARN")
	fs.StringVar(&l.Endpoint, "endpoint", "", "EC2 endpoint URL, e.g. an emulator (passed to templates declaring aws_ec2_endpoint)")
	BindEnv(fs, "region", "AWS_REGION", "AWS_DEFAULT_REGION")
	BindEnv(fs, "regions", "AMI_BAKERY_REGIONS")
	BindEnv(fs, "owner", "AMI_BAKERY_OWNERS")
	BindEnv(fs, "tag-key", "AMI_BAKERY_TAG_KEY")
	BindEnv(fs, "endpoint", "AWS_ENDPOINT_URL_EC2", "AWS_ENDPOINT_URL")
}

// validRegion reports whether s is shaped like an AWS region,
// ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]{1,2}$ (TestCheckersAgreeWithPatterns).
func validRegion(s string) bool {
	parts := strings.Split(s, "-")
	lower := func(p string) bool {
		return p != "" && strings.Trim(p, "abcdefghijklmnopqrstuvwxyz") == ""
	}
	n := len(parts)
	switch {
	case n != 3 && n != 4:
		return false
	case len(parts[0]) != 2 || !lower(parts[0]) || !lower(parts[n-2]):
		return false
	case len(parts[n-1]) < 1 || len(parts[n-1]) > 2 || strings.Trim(parts[n-1], "0123456789") != "":
		return false
	case n == 4:
		p := parts[1]
		return p == "gov" || p == "iso" || len(p) == 4 && strings.HasPrefix(p, "iso") && lower(p[3:])
	}
	return true
}

var roleRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
})

// tagKeyChars reports whether s is one or more of EC2's tag key characters,
// the regexp ^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$ (TestTagKeyChars checks every
// rune against it); the length is checked apart. A loop, not that regexp:
// compiling its Unicode classes took 0.6 ms and 70 kB on every bake, over
// a tenth of the no-op's own work (issue 25).
func tagKeyChars(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == ' ', strings.ContainsRune("_.:/=+-@", r):
		case r >= utf8.RuneSelf && unicode.In(r, unicode.L, unicode.Z, unicode.N):
		default:
			return false
		}
	}
	return true
}

// Validate checks the target flags. Afterwards AllRegions is the primary
// region followed by the others, without repeats.
func (l *Target) Validate() error {
	if len(l.AllRegions()) == 0 {
		return usererr.WithHint(usererr.Usagef("no AWS region given"),
			"pass --region or set AWS_REGION (or AWS_DEFAULT_REGION)")
	}
	return l.ValidateGiven()
}

// ValidateGiven checks the target flags that are given, without asking
// for a region: a project file may name its own.
func (l *Target) ValidateGiven() error {
	all := l.AllRegions()
	if r := strings.TrimSpace(l.Region); r != "" && !l.RegionAmbient && len(l.Regions) > 0 && !slices.Contains(trimmed(l.Regions), r) {
		return flagErr("region", usererr.WithHint(usererr.Usagef("the build region %s (--region) is not among --regions %s", r, strings.Join(trimmed(l.Regions), ",")),
			"the AMI is built in the primary region: add %s to --regions, or drop --region to build in the first of --regions", r))
	}
	for _, r := range all {
		if !validRegion(r) {
			return flagErr(regionFlag(l, r), usererr.WithHint(usererr.Usagef("invalid region %q", r),
				"regions look like us-east-1 or eu-west-2"))
		}
	}
	for _, o := range l.Owners {
		if !images.ValidOwner(o) {
			return flagErr("owner", usererr.WithHint(usererr.Usagef("invalid --owner %q", o),
				"an owner is a 12-digit AWS account id, e.g. --owner 123456789012"))
		}
	}
	if !tagKeyChars(l.TagKey) || utf8.RuneCountInString(l.TagKey) > 128 || strings.HasPrefix(strings.ToLower(l.TagKey), "aws:") {
		return flagErr("tag-key", usererr.WithHint(usererr.Usagef("invalid --tag-key %q", l.TagKey),
			"a tag key is 1 to 128 letters, digits, spaces or _.:/=+-@, not starting with aws:"))
	}
	if l.RoleARN != "" && !roleRE().MatchString(l.RoleARN) {
		return flagErr("role-arn", usererr.WithHint(usererr.Usagef("invalid --role-arn %q", l.RoleARN),
			"a role ARN looks like arn:aws:iam::123456789012:role/ami-builder"))
	}
	if l.By != "tag" && l.By != "name" {
		return flagErr("lookup", usererr.WithHint(usererr.Usagef("invalid --lookup %q", l.By), "use tag (the default) or name"))
	}
	if l.Endpoint != "" && !strings.HasPrefix(l.Endpoint, "http://") && !strings.HasPrefix(l.Endpoint, "https://") {
		return flagErr("endpoint", usererr.WithHint(usererr.Usagef("invalid endpoint %q", l.Endpoint),
			"an endpoint is a URL such as http://127.0.0.1:4599"))
	}
	return nil
}

// regionFlag names the flag that gave region r.
func regionFlag(l *Target, r string) string {
	if strings.TrimSpace(l.Region) == r {
		return "region"
	}
	return "regions"
}

// AllRegions returns the primary region then the others, without repeats.
// An ambient region (RegionAmbient) outside a --regions list is left out:
// the first of the list is then the primary.
func (l *Target) AllRegions() []string {
	primary := strings.TrimSpace(l.Region)
	if l.RegionAmbient && len(l.Regions) > 0 && !slices.Contains(trimmed(l.Regions), primary) {
		primary = ""
	}
	var out []string
	for _, r := range append([]string{primary}, l.Regions...) {
		r = strings.TrimSpace(r)
		if r != "" && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// trimmed returns the regions without surrounding spaces.
func trimmed(regions []string) []string {
	out := make([]string, len(regions))
	for i, r := range regions {
		out[i] = strings.TrimSpace(r)
	}
	return out
}

// TrustedOwners returns the owners to look in: the caller's own account,
// then the --owner accounts.
func (l *Target) TrustedOwners() []string {
	out := []string{"self"}
	for _, o := range l.Owners {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// Build is how packer runs.
type Build struct {
	Packer       string
	OnError      string
	Debug        bool
	Grace        time.Duration
	WaitTimeout  time.Duration
	PollInterval time.Duration
	Lock         bool
	LockLease    time.Duration
	// RebuildRevoked builds a definition whose AMI was revoked again.
	RebuildRevoked bool
}

// AddFlags registers the build flags.
func (b *Build) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&b.Packer, "packer", "packer", "packer binary (a path, or a name looked up on PATH)")
	fs.StringVar(&b.OnError, "on-error", "", "packer -on-error: cleanup, abort, ask or run-cleanup-provisioner")
	fs.BoolVar(&b.Debug, "debug", false, "run packer with -debug (verbose steps; with machine-readable output it does not pause)")
	fs.DurationVar(&b.Grace, "grace", 2*time.Minute, "after an interrupt, how long packer may take to clean up before it is killed")
	fs.DurationVar(&b.WaitTimeout, "wait-timeout", 60*time.Minute, "how long to wait for a pending or copied AMI")
	AddPollInterval(fs, &b.PollInterval, 5*time.Second)
	fs.BoolVar(&b.Lock, "lock", true, "take a build lock in EC2 so that concurrent jobs build once (--lock=false to skip)")
	fs.DurationVar(&b.LockLease, "lock-lease", 5*time.Minute, "how long a build lock outlives a job that stopped renewing it (was killed)")
	BindEnv(fs, "lock", "AMI_BAKERY_LOCK")
	BindEnv(fs, "lock-lease", "AMI_BAKERY_LOCK_LEASE")
	BindEnv(fs, "packer", "AMI_BAKERY_PACKER")
	BindEnv(fs, "on-error", "AMI_BAKERY_ON_ERROR")
	fs.BoolVar(&b.RebuildRevoked, "rebuild-revoked", false, "build a definition whose AMI was revoked (ami-bakery revoke) again, instead of stopping with exit 3")
	BindEnv(fs, "rebuild-revoked", "AMI_BAKERY_REBUILD_REVOKED")
}

// AddPollInterval registers --poll-interval (AMI_BAKERY_POLL_INTERVAL),
// with its default: how often to ask AWS while waiting.
func AddPollInterval(fs *pflag.FlagSet, d *time.Duration, def time.Duration) {
	fs.DurationVar(d, "poll-interval", def, "how often to ask AWS while waiting")
	BindEnv(fs, "poll-interval", "AMI_BAKERY_POLL_INTERVAL")
}

// Validate checks the build flags.
func (b *Build) Validate() error {
	if err := packer.CheckOnError(b.OnError); err != nil {
		return flagErr("on-error", usererr.Usage(fmt.Errorf("--on-error: %w", err)))
	}
	for _, d := range []struct {
		flag     string
		v        time.Duration
		min, max time.Duration
	}{
		// The minimums keep EC2 from being polled in a tight loop and
		// leave the lock time to renew (every third of the lease); the
		// maximums catch a unit mistake (10000h) before it hangs a job.
		{"grace", b.Grace, 100 * time.Millisecond, time.Hour},
		{"wait-timeout", b.WaitTimeout, 100 * time.Millisecond, 24 * time.Hour},
		{"poll-interval", b.PollInterval, 10 * time.Millisecond, 10 * time.Minute},
		{"lock-lease", b.LockLease, 2 * time.Second, 24 * time.Hour},
	} {
		if d.v < d.min || d.v > d.max {
			return flagErr(d.flag, usererr.WithHint(usererr.Usagef("--%s %s is out of range", d.flag, d.v),
				"--%s must be between %s and %s", d.flag, d.min, d.max))
		}
	}
	if b.Packer == "" {
		return flagErr("packer", usererr.WithHint(usererr.Usagef("empty --packer"), "name the packer binary, e.g. --packer /usr/bin/packer"))
	}
	return nil
}

// Output is where the answer goes.
type Output struct {
	JSON       bool
	OutputFile string
	TFVarsFile string
	LogFormat  string
}

// AddFlags registers the output flags. withFile adds the result files.
func (o *Output) AddFlags(fs *pflag.FlagSet, withFiles bool) {
	fs.BoolVar(&o.JSON, "json", false, "print one JSON object on stdout instead of the AMI id")
	fs.StringVar(&o.LogFormat, "log-format", "text", "stderr log format: text or json")
	BindEnv(fs, "log-format", "AMI_BAKERY_LOG_FORMAT")
	if withFiles {
		fs.StringVar(&o.OutputFile, "output-file", "", `where to write {"ami_id": ...} (default: .ami_id.json beside the template; "none" to skip)`)
		fs.StringVar(&o.TFVarsFile, "tfvars-file", "", "also write Terraform variables (ami_id, ami_ids) to this .auto.tfvars.json file")
		BindEnv(fs, "output-file", "AMI_BAKERY_OUTPUT_FILE")
		BindEnv(fs, "tfvars-file", "AMI_BAKERY_TFVARS_FILE")
	}
}

// Validate checks the output flags. --output-file "none" and "" (the
// default place) are resolved by the command, which knows the project.
func (o *Output) Validate() error {
	if o.LogFormat != "text" && o.LogFormat != "json" {
		return flagErr("log-format", usererr.WithHint(usererr.Usagef("invalid --log-format %q", o.LogFormat), "use text or json"))
	}
	return nil
}

// ImageName is the single template's image name: --name, else the
// template's file name without its extension (.pkr.hcl, .json, ...), or a
// directory template's own name. It is the ami-bakery:image tag and the key
// of its pins in the lock file.
func (d *Definition) ImageName() (string, error) {
	if d.Name != "" {
		if !project.ValidName(d.Name) {
			return "", flagErr("name", usererr.WithHint(usererr.Usagef("invalid --name %q", d.Name),
				"a name is letters, digits, '.', '_' and '-', starting with a letter or digit"))
		}
		return d.Name, nil
	}
	base := filepath.Base(filepath.Clean(d.Template))
	for _, ext := range []string{".pkr.hcl", ".pkr.json", ".json", ".hcl"} {
		if n := len(base) - len(ext); n > 0 && base[n:] == ext {
			return base[:n], nil
		}
	}
	return base, nil
}
