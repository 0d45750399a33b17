package options

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// Copies is how the copies ami-bakery makes into other regions are
// encrypted, and whether they may be public.
type Copies struct {
	KMSKeys     []string // REGION=KEY
	AllowPublic bool

	keys         map[string]string // set by Validate
	primaryFirst bool              // Validate's regions start with the build region
}

// AddFlags registers the copy flags.
func (c *Copies) AddFlags(fs *pflag.FlagSet) {
	fs.StringSliceVar(&c.KMSKeys, "kms-key", nil, "REGION=KEY: encrypt copies into REGION with this KMS key (id, ARN, alias/NAME or alias ARN); repeatable (default: the template's region_kms_key_ids, else the destination's default EBS key, for an encrypted source)")
	fs.BoolVar(&c.AllowPublic, "allow-public", false, "make copies public when their source AMI is public (otherwise they get the rest of its sharing)")
	BindEnv(fs, "kms-key", "AMI_BAKERY_KMS_KEYS")
	BindEnv(fs, "allow-public", "AMI_BAKERY_ALLOW_PUBLIC")
}

var kmsKeyRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]+|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/[A-Za-z0-9/_-]+)$`)
})

// Validate checks every --kms-key against the regions the AMI must exist
// in: a key for a region not among them would never be used, which is a
// mistake worth saying.
//
// A key for the primary region (regions[0]) is refused too: the AMI is
// built there, encrypted as the template says (encrypt_boot, kms_key_id),
// and --kms-key applies to copies only.
func (c *Copies) Validate(regions []string) error {
	c.primaryFirst = true
	if err := c.validate(regions); err != nil {
		return flagErr("kms-key", err)
	}
	return nil
}

func (c *Copies) validate(regions []string) error {
	c.keys = map[string]string{}
	for _, rk := range c.KMSKeys {
		region, key, ok := strings.Cut(strings.TrimSpace(rk), "=")
		switch {
		case !ok || !validRegion(region) || !kmsKeyRE().MatchString(key):
			return usererr.WithHint(usererr.Usagef("invalid --kms-key %q", rk),
				"write it as REGION=KEY, e.g. --kms-key eu-west-1=alias/amis or --kms-key eu-west-1=arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
		case !slices.Contains(regions, region):
			return usererr.WithHint(usererr.Usagef("--kms-key names %s, which is not among the regions (%s)", region, strings.Join(regions, ", ")),
				"add %s to --regions, or drop the key", region)
		case len(regions) > 0 && region == regions[0] && c.primaryFirst:
			return usererr.WithHint(usererr.Usagef("--kms-key names %s, the build region: packer builds the AMI there, encrypted as the template says", region),
				"set encrypt_boot and kms_key_id in the template's source for the build; --kms-key encrypts the copies into other regions")
		case c.keys[region] != "" && c.keys[region] != key:
			return usererr.WithHint(usererr.Usagef("--kms-key names two keys for %s", region), "give one key per region")
		case strings.HasPrefix(key, "arn:") && !strings.Contains(key, ":kms:"+region+":"):
			return usererr.WithHint(usererr.Usagef("--kms-key %s names a key in another region", rk),
				"a KMS key lives in one region: give a key of %s", region)
		}
		c.keys[region] = key
	}
	return nil
}

// ValidateProject checks every --kms-key for a project's images: a key
// for a region no image has would never be used, and one for an image's
// build region would be ignored there.
func (c *Copies) ValidateProject(primaries, regions []string) error {
	if err := c.validate(regions); err != nil {
		return flagErr("kms-key", err)
	}
	for region := range c.keys {
		if slices.Contains(primaries, region) {
			return flagErr("kms-key", usererr.WithHint(usererr.Usagef("--kms-key names %s, a build region: packer builds an AMI there, encrypted as its template says", region),
				"set encrypt_boot and kms_key_id in the template's source for the build; --kms-key encrypts the copies into other regions"))
		}
	}
	return nil
}

// Keys returns region -> KMS key, after Validate.
func (c *Copies) Keys() map[string]string { return c.keys }
