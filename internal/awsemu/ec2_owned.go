package awsemu

// owned is an EC2 resource that belongs to one account; tagged is one the
// caller may also tag. The lookups below are the one place that decides
// that a resource of another account does not exist for the caller.
type (
	owned  interface{ ownerID() string }
	tagged interface {
		owned
		tagStore() *tagStore
	}
)

func (im *image) ownerID() string          { return im.owner }
func (in *instance) ownerID() string       { return in.owner }
func (k *keyPair) ownerID() string         { return k.owner }
func (g *securityGroup) ownerID() string   { return g.owner }
func (s *snapshot) ownerID() string        { return s.owner }
func (v *volume) ownerID() string          { return v.owner }
func (v *vpc) ownerID() string             { return v.owner }
func (s *subnet) ownerID() string          { return s.owner }
func (lt *launchTemplate) ownerID() string { return lt.owner }

func (im *image) tagStore() *tagStore          { return &im.tags }
func (in *instance) tagStore() *tagStore       { return &in.tags }
func (k *keyPair) tagStore() *tagStore         { return &k.tags }
func (g *securityGroup) tagStore() *tagStore   { return &g.tags }
func (s *snapshot) tagStore() *tagStore        { return &s.tags }
func (v *volume) tagStore() *tagStore          { return &v.tags }
func (v *vpc) tagStore() *tagStore             { return &v.tags }
func (s *subnet) tagStore() *tagStore          { return &s.tags }
func (lt *launchTemplate) tagStore() *tagStore { return &lt.tags }

// ownedBy is a filter for valuesWhere: the resources of account.
func ownedBy[T owned](account string) func(T) bool {
	return func(x T) bool { return x.ownerID() == account }
}

// ownByID finds the caller's resource id in m after checking the id's form
// (prefix, malformed); a missing id, or one of another account, is notFound.
func ownByID[T owned](r *request, m map[string]T, id, prefix, malformed string, notFound error) (T, error) {
	var zero T
	if err := checkIDs([]string{id}, prefix, malformed); err != nil {
		return zero, err
	}
	x, ok := m[id]
	if !ok || x.ownerID() != r.account {
		return zero, notFound
	}
	return x, nil
}
