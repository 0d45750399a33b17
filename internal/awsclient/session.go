package awsclient

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ami-bakery/ami-bakery/internal/awsapi/sts"
)

// Session is one run's AWS access: the configuration, loaded once, and a
// Factory per role (Image.RoleARN in internal/bake; "" is the run's own
// credentials), each made on first use. Every step of a run takes its
// clients from the Session by the image's role, so no step reaches for
// another account behind the image's back.
//
// The caller's account id (what "self" means when an AMI's owner is
// checked) is asked of STS once, in the background from the moment Prefetch
// is called, so that the answer is there when the first lookup needs it: a
// run that finds its AMI waits for one round trip, not two in a row. A
// role's account is the one its ARN names: no call.
type Session struct {
	base *Factory

	mu       sync.Mutex
	roles    map[string]*Factory
	accounts map[string]func() (string, error)
}

// NewSession loads the AWS configuration. o.RoleARN is ignored: roles are
// chosen per image (For).
func NewSession(ctx context.Context, o Options) (*Session, error) {
	o.RoleARN = ""
	f, err := New(ctx, o)
	if err != nil {
		return nil, err
	}
	return &Session{base: f, roles: map[string]*Factory{"": f}, accounts: map[string]func() (string, error){}}, nil
}

// For returns the Factory of role ("" for the run's own credentials).
func (s *Session) For(role string) *Factory {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.roles[role]; ok {
		return f
	}
	f := s.base.withRole(role)
	s.roles[role] = f
	return f
}

// Prefetch starts looking up the account of role in region, so that
// Account need not wait for it later.
func (s *Session) Prefetch(role, region string) {
	s.account(role, region)
}

// Account returns the account id the calls of role act as: for a role the
// account its ARN names, else the caller's (STS GetCallerIdentity, asked
// once per Session; region is where, on the first call).
func (s *Session) Account(ctx context.Context, role, region string) (string, error) {
	get := s.account(role, region)
	done := make(chan struct{})
	var id string
	var err error
	go func() { id, err = get(); close(done) }()
	select {
	case <-done:
		return id, err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// account returns the memoised lookup of role's account, started now if
// it was not.
func (s *Session) account(role, region string) func() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if get, ok := s.accounts[role]; ok {
		return get
	}
	var get func() (string, error)
	if role != "" {
		id, err := RoleAccount(role)
		get = func() (string, error) { return id, err }
	} else {
		f := s.base
		get = sync.OnceValues(func() (string, error) {
			// Not the caller's context: the answer is shared by every
			// step, and a step that gives up must not spoil it for the
			// others.
			return f.CallerAccount(context.Background(), region)
		})
		go get()
	}
	s.accounts[role] = get
	return get
}

// RoleAccount returns the account an IAM role ARN names.
func RoleAccount(role string) (string, error) {
	parts := strings.Split(role, ":")
	if len(parts) < 6 || parts[4] == "" {
		return "", fmt.Errorf("finding the account of role %s: not an IAM role ARN", role)
	}
	return parts[4], nil
}

// withRole returns a Factory whose calls assume role, with f's
// configuration and f's credentials as the source.
func (f *Factory) withRole(role string) *Factory {
	if role == "" {
		return f
	}
	cfg := f.cfg.Copy()
	o := f.opts
	o.RoleARN = role
	cfg.Credentials = aws.NewCredentialsCache(sts.NewAssumeRoleProvider(roleSTS(f.cfg), role,
		sts.AssumeRoleOptions{RoleSessionName: "ami-bakery", Duration: o.RoleDuration}))
	return &Factory{cfg: cfg, opts: o, clients: map[clientKey]any{}}
}
