package packer

import (
	"encoding/json"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Distribution is what an amazon source says about who may use its AMI
// and how it is encrypted, read from the literal values in the template:
// ami_users, ami_org_arns, ami_ou_arns, region_kms_key_ids, encrypt_boot
// and kms_key_id. A value that refers to a variable or a function is left
// out (nothing is evaluated); ami-bakery reads sharing from the AMI itself
// once it exists and uses this only to say what a build will carry.
type Distribution struct {
	Users, OrgARNs, OUARNs []string
	// RegionKMSKeys is region_kms_key_ids: the key per ami_regions copy.
	RegionKMSKeys map[string]string
	EncryptBoot   bool
	KMSKeyID      string
}

// RegionKMSKey returns the key the template's region_kms_key_ids names for
// region, in the first amazon source that names one, or "".
func (t *Template) RegionKMSKey(region string) string {
	for _, s := range t.AmazonSources() {
		if k := s.Distribution.RegionKMSKeys[region]; k != "" {
			return k
		}
	}
	return ""
}

// literal reports whether a JSON template string is used as written: it
// holds no {{ }} template call.
func literal(s string) bool { return s != "" && !strings.Contains(s, "{{") }

func literals(ss []string) []string {
	var out []string
	for _, s := range ss {
		if literal(s) {
			out = append(out, s)
		}
	}
	return out
}

// jsonDistribution reads a JSON builder's distribution settings; values of
// the wrong type are left out, as packer's own validation reports them.
func jsonDistribution(fields map[string]json.RawMessage) Distribution {
	var d Distribution
	var users, orgs, ous []string
	_ = json.Unmarshal(fields["ami_users"], &users)
	_ = json.Unmarshal(fields["ami_org_arns"], &orgs)
	_ = json.Unmarshal(fields["ami_ou_arns"], &ous)
	d.Users, d.OrgARNs, d.OUARNs = literals(users), literals(orgs), literals(ous)
	var keys map[string]string
	_ = json.Unmarshal(fields["region_kms_key_ids"], &keys)
	for r, k := range keys {
		if literal(k) {
			if d.RegionKMSKeys == nil {
				d.RegionKMSKeys = map[string]string{}
			}
			d.RegionKMSKeys[r] = k
		}
	}
	_ = json.Unmarshal(fields["encrypt_boot"], &d.EncryptBoot)
	var key string
	_ = json.Unmarshal(fields["kms_key_id"], &key)
	if literal(key) {
		d.KMSKeyID = key
	}
	return d
}

var distributionSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "ami_users"}, {Name: "ami_org_arns"}, {Name: "ami_ou_arns"},
		{Name: "region_kms_key_ids"}, {Name: "encrypt_boot"}, {Name: "kms_key_id"},
	},
}

// hclDistribution reads a source block's distribution settings whose
// values are literals; an expression that needs variables is left out.
func hclDistribution(body hcl.Body) Distribution {
	var d Distribution
	content, _, _ := body.PartialContent(distributionSchema)
	if content == nil {
		return d
	}
	value := func(name string) (cty.Value, bool) {
		a, ok := content.Attributes[name]
		if !ok {
			return cty.NilVal, false
		}
		v, diags := a.Expr.Value(nil)
		if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
			return cty.NilVal, false
		}
		return v, true
	}
	stringsOf := func(name string) []string {
		if a, ok := content.Attributes[name]; ok {
			return stringList(a.Expr)
		}
		return nil
	}
	d.Users, d.OrgARNs, d.OUARNs = stringsOf("ami_users"), stringsOf("ami_org_arns"), stringsOf("ami_ou_arns")
	if v, ok := value("region_kms_key_ids"); ok && (v.Type().IsObjectType() || v.Type().IsMapType()) {
		d.RegionKMSKeys = map[string]string{}
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if k.Type() == cty.String && e.Type() == cty.String {
				d.RegionKMSKeys[k.AsString()] = e.AsString()
			}
		}
	}
	if v, ok := value("encrypt_boot"); ok && v.Type() == cty.Bool {
		d.EncryptBoot = v.True()
	}
	if v, ok := value("kms_key_id"); ok && v.Type() == cty.String {
		d.KMSKeyID = v.AsString()
	}
	return d
}
