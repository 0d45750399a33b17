package awsemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// KMS, as far as EBS encryption of copied images needs it: keys per account
// and region, named by key id, key ARN, alias (alias/NAME) or alias ARN; a
// key state (Enabled, Disabled, PendingDeletion); a key policy reduced to
// the accounts it allows besides the owner and the accounts it denies
// (even the owner). Every account has its default EBS key, alias/aws/ebs,
// in every region, made on first use. There is no KMS API: tests and
// scripts make keys with PutKMSKey.
//
// CopyImage checks KmsKeyId's form at once (InvalidParameterValue) and
// needs Encrypted with it (InvalidParameterDependency); whether the key can
// be used is found out asynchronously, as EC2 documents for CopyImage
// ("the action may appear to complete even though you provided an invalid
// identifier. This action will eventually report failure"): the copy is
// made pending and turns failed. Its state reason is EC2's
// "Client.InvalidKMSKey.InvalidState" for a disabled key or one pending
// deletion, and "Client.InternalError" ("Copy image failed with an internal
// error", as EC2 reports a key that is missing or refused) otherwise.

// DefaultKeyAlias is the alias of every account's default EBS key.
const DefaultKeyAlias = "alias/aws/ebs"

type kmsKey struct {
	id, account, region, state string
	aliases                    []string
	allow, deny                []string
}

func (k *kmsKey) arn() string { return "arn:aws:kms:" + k.region + ":" + k.account + ":key/" + k.id }

// KMSKeySpec describes a key for PutKMSKey.
type KMSKeySpec struct {
	// Alias, if set, is alias/NAME.
	Alias string
	// State is Enabled (the default), Disabled or PendingDeletion.
	State string
	// Allow are other accounts the key policy lets use the key; Deny are
	// accounts it refuses, the owner included.
	Allow, Deny []string
}

// KMSKey is a copy of a key's state.
type KMSKey struct {
	ID, ARN, Account, Region, State string
	Aliases                         []string
}

func (k *kmsKey) export() KMSKey {
	return KMSKey{ID: k.id, ARN: k.arn(), Account: k.account, Region: k.region, State: k.state, Aliases: slices.Clone(k.aliases)}
}

var (
	keyIDPattern  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	aliasPattern  = regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]{1,256}$`)
	keyARNPattern = regexp.MustCompile(`^arn:aws:kms:([a-z0-9-]+):([0-9]{12}):(key/.+|alias/.+)$`)
)

// PutKMSKey makes a key owned by account in region.
func (e *Emulator) PutKMSKey(account, region string, spec KMSKeySpec) (KMSKey, error) {
	if !knownRegion(region) || !isAccountID(account) {
		return KMSKey{}, fmt.Errorf("putting a KMS key: unknown region %q or bad account %q", region, account)
	}
	state := spec.State
	if state == "" {
		state = "Enabled"
	}
	if !slices.Contains([]string{"Enabled", "Disabled", "PendingDeletion"}, state) {
		return KMSKey{}, fmt.Errorf("putting a KMS key: state %q is not Enabled, Disabled or PendingDeletion", state)
	}
	if spec.Alias != "" && (!aliasPattern.MatchString(spec.Alias) || strings.HasPrefix(spec.Alias, "alias/aws/")) {
		return KMSKey{}, fmt.Errorf("putting a KMS key: %q is not an alias of the form alias/NAME outside alias/aws/", spec.Alias)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if spec.Alias != "" && e.findKey(account, region, func(k *kmsKey) bool { return slices.Contains(k.aliases, spec.Alias) }) != nil {
		return KMSKey{}, fmt.Errorf("putting a KMS key: alias %s exists in %s %s", spec.Alias, account, region)
	}
	k := &kmsKey{id: keyUUID(e.newID("key")), account: account, region: region, state: state,
		allow: slices.Clone(spec.Allow), deny: slices.Clone(spec.Deny)}
	if spec.Alias != "" {
		k.aliases = []string{spec.Alias}
	}
	e.kmsKeys = append(e.kmsKeys, k)
	return k.export(), nil
}

// DefaultKMSKey returns account's default EBS key in region.
func (e *Emulator) DefaultKMSKey(account, region string) KMSKey {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.defaultKey(account, region).export()
}

// keyUUID turns an emulator id into a key id of KMS's form.
func keyUUID(id string) string {
	sum := sha256.Sum256([]byte("kms key/" + id))
	h := hex.EncodeToString(sum[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func (e *Emulator) findKey(account, region string, match func(*kmsKey) bool) *kmsKey {
	for _, k := range e.kmsKeys {
		if k.account == account && k.region == region && match(k) {
			return k
		}
	}
	return nil
}

func (e *Emulator) defaultKey(account, region string) *kmsKey {
	isDefault := func(k *kmsKey) bool { return slices.Contains(k.aliases, DefaultKeyAlias) }
	if k := e.findKey(account, region, isDefault); k != nil {
		return k
	}
	k := &kmsKey{id: keyUUID(hashID("default", account, region)), account: account, region: region,
		state: "Enabled", aliases: []string{DefaultKeyAlias}}
	e.kmsKeys = append(e.kmsKeys, k)
	return k
}

func (e *Emulator) isDefaultKey(arn string) bool {
	for _, k := range e.kmsKeys {
		if k.arn() == arn {
			return slices.Contains(k.aliases, DefaultKeyAlias)
		}
	}
	return false
}

// resolveKey finds the key ref names for caller in region; malformed is
// set when ref has none of KMS's forms.
func (e *Emulator) resolveKey(caller, region, ref string) (k *kmsKey, malformed bool) {
	account, name := caller, ref
	if m := keyARNPattern.FindStringSubmatch(ref); m != nil {
		if m[1] != region {
			return nil, false // a key lives in one region only
		}
		account, name = m[2], m[3]
	}
	switch {
	case strings.HasPrefix(name, "key/") && keyIDPattern.MatchString(name[4:]):
		id := name[4:]
		return e.findKey(account, region, func(k *kmsKey) bool { return k.id == id }), false
	case keyIDPattern.MatchString(name) && name == ref:
		return e.findKey(account, region, func(k *kmsKey) bool { return k.id == name }), false
	case aliasPattern.MatchString(name):
		if name == DefaultKeyAlias && account == caller {
			return e.defaultKey(account, region), false
		}
		return e.findKey(account, region, func(k *kmsKey) bool { return slices.Contains(k.aliases, name) }), false
	}
	return nil, true
}

var (
	copyFailedInternal = &stateReasonXML{Code: "Client.InternalError", Message: "Client.InternalError: Copy image failed with an internal error"}
	copyFailedKeyState = &stateReasonXML{Code: "Client.InvalidKMSKey.InvalidState", Message: "Client.InvalidKMSKey.InvalidState: The KMS key provided is in an incorrect state"}
)

// usable says why caller cannot encrypt with k, or nil.
func (k *kmsKey) usable(caller string) *stateReasonXML {
	switch {
	case k == nil, slices.Contains(k.deny, caller), k.account != caller && !slices.Contains(k.allow, caller):
		return copyFailedInternal
	case k.state != "Enabled":
		return copyFailedKeyState
	}
	return nil
}

// copyEncryption decides how a copy of src is encrypted: the key ARN its
// snapshots get ("" for none) and, when the key cannot be used, why the
// copy will fail.
func (r *request) copyEncryption(src *image) (keyARN string, fail *stateReasonXML, err error) {
	ref := r.p.str("KmsKeyId")
	encrypted, err := r.p.boolean("Encrypted", false)
	if err != nil {
		return "", nil, err
	}
	if ref != "" && !encrypted {
		return "", nil, errorf("InvalidParameterDependency", "The parameter KmsKeyId requires the parameter Encrypted to be set.")
	}
	srcEncrypted := slices.ContainsFunc(src.bdms, func(b bdm) bool { return b.ebs != nil && b.ebs.encrypted })
	if !encrypted && !srcEncrypted {
		return "", nil, nil
	}
	if ref == "" {
		return r.e.defaultKey(r.account, r.region).arn(), nil, nil
	}
	k, malformed := r.e.resolveKey(r.account, r.region, ref)
	if malformed {
		return "", nil, invalidParameter("Value (%s) for parameter kmsKeyId is invalid.", ref)
	}
	if k == nil {
		return ref, copyFailedInternal, nil
	}
	return k.arn(), k.usable(r.account), nil
}
