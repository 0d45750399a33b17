package awsemu

import (
	"strconv"
	"strings"
)

// taggable is a resource the caller may tag, with its tag store.
type taggable struct {
	id, resourceType string
	tags             *tagStore
}

var tagPrefixes = map[string]struct{ resourceType, notFound, noun string }{
	"ami":    {"image", "InvalidAMIID.NotFound", "image id"},
	"i":      {"instance", "InvalidInstanceID.NotFound", "instance ID"},
	"vol":    {"volume", "InvalidVolume.NotFound", "volume"},
	"snap":   {"snapshot", "InvalidSnapshot.NotFound", "snapshot"},
	"sg":     {"security-group", "InvalidGroup.NotFound", "security group"},
	"key":    {"key-pair", "InvalidKeyPair.NotFound", "key pair"},
	"vpc":    {"vpc", "InvalidVpcID.NotFound", "vpc ID"},
	"subnet": {"subnet", "InvalidSubnetID.NotFound", "subnet ID"},
	"lt":     {"launch-template", "InvalidLaunchTemplateId.NotFound", "launch template"},
}

// taggableResource finds a resource by id. Images need only be visible (an
// account may tag a public or shared image it does not own; only it sees
// those tags); everything else must be the caller's.
func (r *request) taggableResource(id string) (taggable, error) {
	prefix, _, _ := strings.Cut(id, "-")
	info, ok := tagPrefixes[prefix]
	if !ok || !idPattern.MatchString(id) {
		return taggable{}, errorf("InvalidID", "The ID '%s' is not valid", id)
	}
	notFound := notFoundList(info.notFound, info.noun, []string{id})
	rs := r.rs
	var ts *tagStore
	switch prefix {
	case "ami":
		if im, ok := rs.images[id]; ok && r.sees(im) {
			ts = &im.tags
		}
	case "i":
		ts = ownedTags(r, rs.instances, id)
	case "vol":
		ts = ownedTags(r, rs.volumes, id)
	case "snap":
		ts = ownedTags(r, rs.snapshots, id)
	case "sg":
		ts = ownedTags(r, rs.groups, id)
	case "key":
		ts = ownedTags(r, rs.keyPairs, id)
	case "lt":
		ts = ownedTags(r, rs.launchTemplates, id)
	case "vpc":
		if n := rs.networkFor(r.account); n.vpc.id == id {
			ts = &n.vpc.tags
		}
	case "subnet":
		if s := rs.subnet(r.account, id); s != nil {
			ts = &s.tags
		}
	}
	if ts != nil {
		return taggable{id, info.resourceType, ts}, nil
	}
	return taggable{}, notFound
}

// ownedTags are the tags of the caller's resource id in m, or nil.
func ownedTags[T tagged](r *request, m map[string]T, id string) *tagStore {
	if x, ok := m[id]; ok && x.ownerID() == r.account {
		return x.tagStore()
	}
	return nil
}

// taggableResources resolves ResourceId.N, all or nothing.
func (r *request) taggableResources() ([]taggable, error) {
	ids := r.p.list("ResourceId")
	if len(ids) == 0 {
		return nil, missingParameter("ResourceId")
	}
	var out []taggable
	for _, id := range ids {
		t, err := r.taggableResource(id)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// ---- CreateTags

// createTags writes the caller's tags. With Options.TagVisibilityDelay they
// show in Describe* only after that delay, like EC2's eventual consistency.
func createTags(r *request) (any, error) {
	res, err := r.taggableResources()
	if err != nil {
		return nil, err
	}
	tags, err := r.p.tagList("Tag")
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return nil, missingParameter("Tag")
	}
	for _, t := range res {
		keys := map[string]bool{}
		for k := range (*t.tags)[r.account] {
			keys[k] = true
		}
		for _, tg := range tags {
			keys[tg.Key] = true
		}
		if len(keys) > maxTags {
			return nil, errorf("TagLimitExceeded", "Tag limit exceeded for resource %s: at most %d tags", t.id, maxTags)
		}
	}
	since := r.now.Add(r.e.opts.TagVisibilityDelay)
	for _, t := range res {
		for _, tg := range tags {
			t.tags.set(r.account, tg.Key, tg.Value, r.now, since)
		}
	}
	return &returnResponse{Return: true}, nil
}

// ---- DeleteTags

// deleteTags removes the caller's tags: all of them when no Tag.N is given, a
// key whatever its value when Tag.N.Value is absent, else only a matching
// value.
func deleteTags(r *request) (any, error) {
	res, err := r.taggableResources()
	if err != nil {
		return nil, err
	}
	idx := r.p.indices("Tag")
	for _, t := range res {
		if len(idx) == 0 {
			delete(*t.tags, r.account)
			continue
		}
		for _, n := range idx {
			pre := "Tag." + strconv.Itoa(n)
			key := r.p.str(pre + ".Key")
			cur, ok := (*t.tags)[r.account][key]
			if !ok {
				continue
			}
			if r.p.has(pre+".Value") && cur.value != r.p.str(pre+".Value") {
				continue
			}
			t.tags.remove(r.account, key)
		}
	}
	return &returnResponse{Return: true}, nil
}

// ---- DescribeTags

type tagDescriptionXML struct {
	ResourceID   string `xml:"resourceId"`
	ResourceType string `xml:"resourceType"`
	Key          string `xml:"key"`
	Value        string `xml:"value"`
}

type describeTagsResponse struct {
	meta
	TagSet    items[tagDescriptionXML] `xml:"tagSet"`
	NextToken string                   `xml:"nextToken,omitempty"`
}

type tagEntry struct {
	tagDescriptionXML
	all map[string]string
}

var tagEntryFields = fields[tagEntry]{
	"key":           func(t tagEntry) []string { return []string{t.Key} },
	"value":         func(t tagEntry) []string { return []string{t.Value} },
	"resource-id":   func(t tagEntry) []string { return one(t.ResourceID) },
	"resource-type": func(t tagEntry) []string { return one(t.ResourceType) },
}

var tagsDescribe = &describe[tagEntry]{
	render:  tagsResponse,
	minPage: 5, maxPage: 1000,
	fields: tagEntryFields,
	tags:   func(_ *request, t tagEntry) map[string]string { return t.all },
	key:    func(t tagEntry) string { return t.ResourceID + "\x00" + t.Key },
	list:   describableTags,
}

func tagsResponse(_ *request, page []tagEntry, next string) any {
	return &describeTagsResponse{NextToken: next, TagSet: itemsOf(page, func(t tagEntry) tagDescriptionXML { return t.tagDescriptionXML })}
}

// describableTags are the tags the caller sees, one entry per resource and
// key, on every resource the caller may tag.
func describableTags(r *request, _ []string) ([]tagEntry, error) {
	rs := r.rs
	res := appendTaggables(nil, rs.images, "image", r.sees)
	res = appendTaggables(res, rs.instances, "instance", ownedBy[*instance](r.account))
	res = appendTaggables(res, rs.volumes, "volume", ownedBy[*volume](r.account))
	res = appendTaggables(res, rs.snapshots, "snapshot", ownedBy[*snapshot](r.account))
	res = appendTaggables(res, rs.groups, "security-group", ownedBy[*securityGroup](r.account))
	res = appendTaggables(res, rs.keyPairs, "key-pair", ownedBy[*keyPair](r.account))
	res = appendTaggables(res, rs.launchTemplates, "launch-template", ownedBy[*launchTemplate](r.account))
	n := rs.networkFor(r.account)
	res = append(res, taggable{n.vpc.id, "vpc", &n.vpc.tags})
	for _, s := range n.subnets {
		res = append(res, taggable{s.id, "subnet", &s.tags})
	}
	var all []tagEntry
	for _, t := range res {
		vis := r.visibleTags(t.tags)
		for k, v := range vis {
			all = append(all, tagEntry{tagDescriptionXML{t.id, t.resourceType, k, v}, vis})
		}
	}
	return all, nil
}

// appendTaggables appends the resources of m that mine accepts.
func appendTaggables[T tagged](res []taggable, m map[string]T, resourceType string, mine func(T) bool) []taggable {
	for id, x := range m {
		if mine(x) {
			res = append(res, taggable{id, resourceType, x.tagStore()})
		}
	}
	return res
}
