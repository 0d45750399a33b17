package awsemu

import (
	"crypto/ed25519"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"slices"
	"strings"
	"sync"
	"time"
)

// keyPair is an EC2 key pair. Names are unique per account and region.
type keyPair struct {
	id, owner, name, fingerprint, keyType, publicKey string
	created                                          time.Time
	tags                                             tagStore
}

func (rs *regionState) keyPairByName(account, name string) *keyPair {
	for _, k := range rs.keyPairs {
		if k.owner == account && k.name == name {
			return k
		}
	}
	return nil
}

// rsaKey is generated once per process: generating a 2048-bit key per
// CreateKeyPair would make tests slow, and nothing here checks that two key
// pairs differ in their material.
var rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("awsemu: generating the RSA key: " + err.Error())
	}
	return k
})

func colonHex(b []byte) string {
	h := hex.EncodeToString(b)
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

// sshWire encodes strings and byte slices as SSH wire-format fields.
func sshWire(fields ...[]byte) []byte {
	var out []byte
	for _, f := range fields {
		out = binary.BigEndian.AppendUint32(out, uint32(len(f)))
		out = append(out, f...)
	}
	return out
}

// newKeyMaterial returns the private key EC2 hands out once, the public key
// in OpenSSH form and the fingerprint as EC2 computes it for created keys.
func newKeyMaterial(keyType string) (material, public, fingerprint string) {
	switch keyType {
	case "ed25519":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic("awsemu: generating an ed25519 key: " + err.Error())
		}
		der, _ := x509.MarshalPKCS8PrivateKey(priv)
		wire := sshWire([]byte("ssh-ed25519"), pub)
		sum := sha256.Sum256(wire)
		return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
			"ssh-ed25519 " + base64.StdEncoding.EncodeToString(wire),
			base64.RawStdEncoding.EncodeToString(sum[:])
	default:
		k := rsaKey()
		pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
		sum := sha1.Sum(pkcs8)
		wire := sshWire([]byte("ssh-rsa"), bigBytes(int64(k.E)), append([]byte{0}, k.N.Bytes()...))
		return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})),
			"ssh-rsa " + base64.StdEncoding.EncodeToString(wire),
			colonHex(sum[:])
	}
}

func bigBytes(n int64) []byte {
	var b []byte
	for n > 0 {
		b = append([]byte{byte(n)}, b...)
		n >>= 8
	}
	return b
}

// ---- CreateKeyPair, ImportKeyPair

type createKeyPairResponse struct {
	meta
	KeyName        string   `xml:"keyName"`
	KeyFingerprint string   `xml:"keyFingerprint"`
	KeyMaterial    string   `xml:"keyMaterial,omitempty"`
	KeyPairID      string   `xml:"keyPairId"`
	TagSet         []tagXML `xml:"tagSet>item,omitempty"`
}

func (r *request) checkKeyName(name string) error {
	if name == "" {
		return missingParameter("KeyName")
	}
	if len(name) > 255 {
		return invalidParameter("Value (%s) for parameter KeyName is invalid. Length exceeds maximum of 255.", name)
	}
	for _, c := range name {
		if c > 127 {
			return invalidParameter("Value (%s) for parameter KeyName is invalid. Character sets beyond ASCII are not supported.", name)
		}
	}
	if r.rs.keyPairByName(r.account, name) != nil {
		return errorf("InvalidKeyPair.Duplicate", "The keypair '%s' already exists.", name)
	}
	return nil
}

func createKeyPair(r *request) (any, error) {
	name := r.p.str("KeyName")
	if err := r.checkKeyName(name); err != nil {
		return nil, err
	}
	keyType := r.p.str("KeyType")
	if keyType == "" {
		keyType = "rsa"
	}
	if keyType != "rsa" && keyType != "ed25519" {
		return nil, invalidParameter("Value (%s) for parameter KeyType is invalid. Valid values: rsa, ed25519", keyType)
	}
	if f := r.p.str("KeyFormat"); f != "" && f != "pem" {
		return nil, unsupported("key format %s is not modelled; only pem", f)
	}
	specs, err := r.p.tagSpecs("key-pair")
	if err != nil {
		return nil, err
	}
	material, public, fp := newKeyMaterial(keyType)
	k := &keyPair{id: r.e.newID("key"), owner: r.account, name: name, fingerprint: fp, keyType: keyType, publicKey: public, created: r.now}
	k.tags.setAll(r.account, specs["key-pair"], r.now)
	r.rs.keyPairs[k.id] = k
	return &createKeyPairResponse{
		KeyName: name, KeyFingerprint: fp, KeyMaterial: material, KeyPairID: k.id,
		TagSet: tagXMLs(k.tags.visible(r.account, r.now)),
	}, nil
}

type importKeyPairResponse struct {
	meta
	KeyName        string   `xml:"keyName"`
	KeyFingerprint string   `xml:"keyFingerprint"`
	KeyPairID      string   `xml:"keyPairId"`
	TagSet         []tagXML `xml:"tagSet>item,omitempty"`
}

func importKeyPair(r *request) (any, error) {
	name := r.p.str("KeyName")
	if err := r.checkKeyName(name); err != nil {
		return nil, err
	}
	b64, err := r.p.required("PublicKeyMaterial")
	if err != nil {
		return nil, err
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, invalidParameter("Value for parameter PublicKeyMaterial is invalid: not base64")
	}
	fieldsOf := strings.Fields(string(raw))
	if len(fieldsOf) < 2 {
		return nil, errorf("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	wire, err := base64.StdEncoding.DecodeString(fieldsOf[1])
	if err != nil {
		return nil, errorf("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
	}
	var keyType, fp string
	switch fieldsOf[0] {
	case "ssh-rsa":
		keyType = "rsa"
		sum := md5.Sum(wire)
		fp = colonHex(sum[:])
	case "ssh-ed25519":
		keyType = "ed25519"
		sum := sha256.Sum256(wire)
		fp = base64.RawStdEncoding.EncodeToString(sum[:])
	default:
		return nil, errorf("InvalidKey.Format", "Key type %s is not supported; use ssh-rsa or ssh-ed25519", fieldsOf[0])
	}
	specs, err := r.p.tagSpecs("key-pair")
	if err != nil {
		return nil, err
	}
	k := &keyPair{id: r.e.newID("key"), owner: r.account, name: name, fingerprint: fp, keyType: keyType,
		publicKey: fieldsOf[0] + " " + fieldsOf[1], created: r.now}
	k.tags.setAll(r.account, specs["key-pair"], r.now)
	r.rs.keyPairs[k.id] = k
	return &importKeyPairResponse{KeyName: name, KeyFingerprint: fp, KeyPairID: k.id, TagSet: tagXMLs(k.tags.visible(r.account, r.now))}, nil
}

// ---- DeleteKeyPair

type deleteKeyPairResponse struct {
	meta
	Return    bool   `xml:"return"`
	KeyPairID string `xml:"keyPairId,omitempty"`
}

// deleteKeyPair deletes by KeyPairId or KeyName. As in EC2, deleting a name
// that does not exist succeeds; an unknown KeyPairId is NotFound.
func deleteKeyPair(r *request) (any, error) {
	if id := r.p.str("KeyPairId"); id != "" {
		if err := checkIDs([]string{id}, "key", "InvalidKeyPair.Malformed"); err != nil {
			return nil, err
		}
		k, ok := r.rs.keyPairs[id]
		if !ok || k.owner != r.account {
			return nil, errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
		}
		delete(r.rs.keyPairs, id)
		return &deleteKeyPairResponse{Return: true, KeyPairID: id}, nil
	}
	name := r.p.str("KeyName")
	if name == "" {
		return nil, missingParameter("KeyName")
	}
	resp := &deleteKeyPairResponse{Return: true}
	if k := r.rs.keyPairByName(r.account, name); k != nil {
		delete(r.rs.keyPairs, k.id)
		resp.KeyPairID = k.id
	}
	return resp, nil
}

// ---- DescribeKeyPairs

type keyPairXML struct {
	KeyPairID      string   `xml:"keyPairId"`
	KeyFingerprint string   `xml:"keyFingerprint"`
	KeyName        string   `xml:"keyName"`
	KeyType        string   `xml:"keyType"`
	TagSet         []tagXML `xml:"tagSet>item,omitempty"`
	PublicKey      string   `xml:"publicKey,omitempty"`
	CreateTime     string   `xml:"createTime"`
}

type describeKeyPairsResponse struct {
	meta
	KeySet items[keyPairXML] `xml:"keySet"`
}

var keyPairFields = fields[*keyPair]{
	"key-name":    func(k *keyPair) []string { return one(k.name) },
	"key-pair-id": func(k *keyPair) []string { return one(k.id) },
	"fingerprint": func(k *keyPair) []string { return one(k.fingerprint) },
	"key-type":    func(k *keyPair) []string { return one(k.keyType) },
}

var keyPairsDescribe = &describe[*keyPair]{
	render: keyPairsResponse,
	fields: keyPairFields,
	tags:   visibleTagsOf[*keyPair],
	key:    func(k *keyPair) string { return k.name },
	list: func(r *request, _ []string) ([]*keyPair, error) {
		names, ids := r.p.list("KeyName"), r.p.list("KeyPairId")
		if _, err := r.p.boolean("IncludePublicKey", false); err != nil {
			return nil, err
		}
		all := valuesWhere(r.rs.keyPairs, ownedBy[*keyPair](r.account))
		for _, n := range names {
			if r.rs.keyPairByName(r.account, n) == nil {
				return nil, errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", n)
			}
		}
		for _, id := range ids {
			if k, ok := r.rs.keyPairs[id]; !ok || k.owner != r.account {
				return nil, errorf("InvalidKeyPair.NotFound", "The key pair '%s' does not exist", id)
			}
		}
		if len(names) > 0 || len(ids) > 0 {
			all = slices.DeleteFunc(all, func(k *keyPair) bool { return !slices.Contains(names, k.name) && !slices.Contains(ids, k.id) })
		}
		return all, nil
	},
}

func keyPairsResponse(r *request, got []*keyPair, _ string) any {
	withPublic, _ := r.p.boolean("IncludePublicKey", false) // checked by list
	return &describeKeyPairsResponse{KeySet: itemsOf(got, func(k *keyPair) keyPairXML {
		x := keyPairXML{KeyPairID: k.id, KeyFingerprint: k.fingerprint, KeyName: k.name, KeyType: k.keyType,
			TagSet: tagXMLs(r.visibleTags(&k.tags)), CreateTime: awsTime(k.created)}
		if withPublic {
			x.PublicKey = k.publicKey
		}
		return x
	})}
}
