package awsemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// regionState holds one region's resources for all accounts. Every resource
// records its owner; handlers decide visibility. All access is under
// Emulator.mu.
type regionState struct {
	name      string
	images    map[string]*image
	snapshots map[string]*snapshot
	volumes   map[string]*volume
	instances map[string]*instance
	keyPairs  map[string]*keyPair
	groups    map[string]*securityGroup
	networks  map[string]*network // by account, created on first use
	// params are the SSM parameters by account and name; public the public
	// ones (/aws/service/...) by name (ssm_parameters.go).
	params map[string]map[string]*ssmParameter
	public map[string]*ssmParameter
	// launchTemplates by id (ec2_launchtemplates.go); Auto Scaling's
	// launch configurations and groups by account and name (autoscaling*.go).
	launchTemplates map[string]*launchTemplate
	launchConfigs   map[string]map[string]*launchConfig
	asGroups        map[string]map[string]*asGroup
	// tokens remembers ClientTokens: key is account, action and token.
	tokens map[string]clientToken
}

// clientToken is what an idempotent request created, and a digest of the
// parameters it was made with (to detect IdempotentParameterMismatch).
type clientToken struct {
	digest string
	ids    []string
}

// regionLocked returns the region's state, seeding it on first use, with
// every timed transition up to now applied.
func (e *Emulator) regionLocked(name string, now time.Time) *regionState {
	rs, ok := e.regions[name]
	if !ok {
		rs = &regionState{
			name:      name,
			images:    map[string]*image{},
			snapshots: map[string]*snapshot{},
			volumes:   map[string]*volume{},
			instances: map[string]*instance{},
			keyPairs:  map[string]*keyPair{},
			groups:    map[string]*securityGroup{},
			networks:  map[string]*network{},
			tokens:    map[string]clientToken{},
			params:    map[string]map[string]*ssmParameter{},
			public:    map[string]*ssmParameter{},

			launchTemplates: map[string]*launchTemplate{},
			launchConfigs:   map[string]map[string]*launchConfig{},
			asGroups:        map[string]map[string]*asGroup{},
		}
		seedRegion(rs)
		e.regions[name] = rs
	}
	e.advance(rs, now)
	return rs
}

// advance applies every timed state transition due by now.
func (e *Emulator) advance(rs *regionState, now time.Time) {
	e.validateParams(rs, now)
	for _, im := range rs.images {
		if im.state == "pending" && due(im.readyAt, now) {
			im.state = "available"
			if im.failReason != nil {
				im.state = "failed"
			}
		}
	}
	for _, s := range rs.snapshots {
		if s.state == "pending" && due(s.readyAt, now) {
			s.state = "completed"
		}
	}
	for id, in := range rs.instances {
		if in.state != "terminated" && due(in.readyAt, now) {
			switch in.state {
			case "pending":
				in.setState("running", "", in.readyAt)
			case "stopping":
				in.setState("stopped", "User initiated", in.readyAt)
			case "shutting-down":
				in.setState("terminated", "User initiated", in.readyAt)
				in.terminatedAt = in.readyAt
				rs.releaseVolumes(in)
			}
			in.readyAt = time.Time{}
		}
		if in.state == "terminated" && now.Sub(in.terminatedAt) > e.opts.TerminatedRetention {
			delete(rs.instances, id)
		}
	}
}

func due(at, now time.Time) bool { return !at.IsZero() && !now.Before(at) }

// readyAt is when a transition started now completes.
func (e *Emulator) readyAt(now time.Time) time.Time { return now.Add(e.opts.PendingDelay) }

// newID returns a fresh AWS-looking id: prefix, a dash and 17 hex digits.
func (e *Emulator) newID(prefix string) string {
	e.seq++
	return hashID(prefix, "new", fmt.Sprint(e.seq))
}

// hashID derives a stable id from its parts; seeded resources use it so
// their ids are known without asking the emulator.
func hashID(prefix string, parts ...string) string {
	sum := sha256.Sum256([]byte(prefix + "/" + strings.Join(parts, "/")))
	return prefix + "-" + hex.EncodeToString(sum[:])[:17]
}

// awsTime formats t as EC2 does: UTC, milliseconds, Z.
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// tagValue is one tag as one account wrote it. A value written by CreateTags
// becomes visible at since; until then the previous value (if any) shows.
type tagValue struct {
	value string
	since time.Time
	prev  *string
}

// tagStore holds a resource's tags per writing account: in EC2 tags are
// visible only to the account that wrote them.
type tagStore map[string]map[string]tagValue

func (t *tagStore) set(account, key, value string, now, since time.Time) {
	if *t == nil {
		*t = tagStore{}
	}
	m := (*t)[account]
	if m == nil {
		m = map[string]tagValue{}
		(*t)[account] = m
	}
	nv := tagValue{value: value, since: since}
	if old, ok := m[key]; ok {
		if v, vis := old.at(now); vis {
			nv.prev = &v
		}
	}
	m[key] = nv
}

func (v tagValue) at(now time.Time) (string, bool) {
	if !now.Before(v.since) {
		return v.value, true
	}
	if v.prev != nil {
		return *v.prev, true
	}
	return "", false
}

// setAll writes tags visible at once (creation-time tags).
func (t *tagStore) setAll(account string, tags []tag, now time.Time) {
	for _, tg := range tags {
		t.set(account, tg.Key, tg.Value, now, now)
	}
}

// visible returns account's tags as Describe* shows them at now.
func (t tagStore) visible(account string, now time.Time) map[string]string {
	out := map[string]string{}
	for k, v := range t[account] {
		if s, ok := v.at(now); ok {
			out[k] = s
		}
	}
	return out
}

// latest returns account's tags including those not yet visible.
func (t tagStore) latest(account string) map[string]string {
	out := map[string]string{}
	for k, v := range t[account] {
		out[k] = v.value
	}
	return out
}

func (t tagStore) remove(account, key string) { delete(t[account], key) }

// tagXMLs renders a tag map sorted by key.
func tagXMLs(m map[string]string) []tagXML {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]tagXML, 0, len(keys))
	for _, k := range keys {
		out = append(out, tagXML{Key: k, Value: m[k]})
	}
	return out
}

type tagXML struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

// items is an always-present list wrapper: EC2 answers an empty result set
// as an empty element, not by leaving it out.
type items[T any] struct {
	Items []T `xml:"item"`
}

func (rs *regionState) claimToken(account, action, token, digest string) (clientToken, bool, error) {
	if token == "" {
		return clientToken{}, false, nil
	}
	if len(token) > 64 {
		return clientToken{}, false, invalidParameter("ClientToken must be at most 64 characters")
	}
	ct, ok := rs.tokens[account+"\x00"+action+"\x00"+token]
	if !ok {
		return clientToken{}, false, nil
	}
	if ct.digest != digest {
		return clientToken{}, false, errorf("IdempotentParameterMismatch", "The client token '%s' was already used with different parameters", token)
	}
	return ct, true, nil
}

func (rs *regionState) saveToken(account, action, token, digest string, ids []string) {
	if token != "" {
		rs.tokens[account+"\x00"+action+"\x00"+token] = clientToken{digest: digest, ids: ids}
	}
}
