package prune

import (
	"net/http"
	"net/http/httptest"
	"sync"

	bautoscaling "github.com/ami-bakery/ami-bakery/internal/awsapi/autoscaling"
	bssm "github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// inProcess serves the SDK's requests with the emulator's handler in the
// test's own process, through an httptest recorder instead of a socket:
// the same requests and responses, signed and parsed by the real SDK, at a
// fraction of the cost (the property test makes thousands).
type inProcess struct{ h http.Handler }

func (p inProcess) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// fastClients are SDK clients for the emulator behind s, in process, one
// per service and region, made once.
type fastClients struct {
	s   *awsemu.TestServer
	mu  sync.Mutex
	ec2 map[string]*ec2.Client
	as  map[string]*autoscaling.Client
	sm  map[string]*ssm.Client
}

func newFastClients(s *awsemu.TestServer) *fastClients {
	return &fastClients{s: s, ec2: map[string]*ec2.Client{}, as: map[string]*autoscaling.Client{}, sm: map[string]*ssm.Client{}}
}

func (c *fastClients) EC2(r string) *ec2.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ec2[r] == nil {
		cfg := c.s.Config(awsemu.DefaultAccount, r)
		cfg.HTTPClient = inProcess{c.s.Emulator}
		c.ec2[r] = ec2.NewFromConfig(cfg)
	}
	return c.ec2[r]
}

func (c *fastClients) AutoScaling(r string) *autoscaling.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.as[r] == nil {
		cfg := c.s.Config(awsemu.DefaultAccount, r)
		cfg.HTTPClient = inProcess{c.s.Emulator}
		c.as[r] = autoscaling.NewFromConfig(cfg)
	}
	return c.as[r]
}

func (c *fastClients) SSM(r string) *ssm.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sm[r] == nil {
		cfg := c.s.Config(awsemu.DefaultAccount, r)
		cfg.HTTPClient = inProcess{c.s.Emulator}
		c.sm[r] = ssm.NewFromConfig(cfg)
	}
	return c.sm[r]
}

// config is the configuration of the clients of region, in process.
func (c *fastClients) config(r string) aws.Config {
	cfg := c.s.Config(awsemu.DefaultAccount, r)
	cfg.HTTPClient = inProcess{c.s.Emulator}
	return cfg
}

// prune is the Clients prune takes: ami-bakery's own SSM and Auto Scaling
// clients (package awsapi); the SDK's above seed the fleet.
func (c *fastClients) prune() Clients {
	return Clients{
		EC2:         func(r string) EC2 { return c.EC2(r) },
		SSM:         func(r string) SSM { return bssm.NewFromConfig(c.config(r)) },
		AutoScaling: func(r string) AutoScaling { return bautoscaling.NewFromConfig(c.config(r)) },
	}
}
