package prune

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
)

// Regions are planned at once, at most four at a time, and the plan lists
// them in the order given whichever ends first.
func TestRegionsConcurrentBounded(t *testing.T) {
	s := awsemu.NewTestServer(t)
	regions := []string{"eu-west-1", "us-east-1", "us-west-2", "ap-southeast-2", "eu-central-1", "us-east-2"}
	for _, r := range regions {
		for i := range 2 {
			_, err := s.PutImage(awsemu.DefaultAccount, r, awsemu.ImageSpec{Name: "app-" + fp(i),
				Tags:         map[string]string{TagProject: project, TagImage: "app", TagInputs: inputs, "ami_config_checksum": fp(i)},
				CreationDate: s.Now().Add(-time.Duration(30+i) * 24 * time.Hour)})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	var mu sync.Mutex
	inFlight, most := 0, 0
	c := clients(s)
	c.EC2 = func(r string) EC2 {
		// The first region is the slowest: it ends last.
		delay := 20 * time.Millisecond
		if r == regions[0] {
			delay = 80 * time.Millisecond
		}
		return slowImages{EC2: s.EC2(awsemu.DefaultAccount, r), delay: delay, enter: func(d int) {
			mu.Lock()
			defer mu.Unlock()
			inFlight += d
			most = max(most, inFlight)
		}}
	}
	o := opts(s, "current", ModeDelete)
	o.Regions = regions
	o.Keep = 0
	p, err := PlanPrune(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	if most != 4 {
		t.Errorf("at most %d regions listed images at once, want 4", most)
	}
	var order []string
	for _, a := range p.AMIs {
		if len(order) == 0 || order[len(order)-1] != a.Region {
			order = append(order, a.Region)
		}
	}
	if len(order) != len(regions) {
		t.Fatalf("regions in the plan: %v", order)
	}
	for i := range regions {
		if order[i] != regions[i] {
			t.Fatalf("plan order %v, want %v", order, regions)
		}
	}
}

// slowImages makes DescribeImages take delay, and reports entering and
// leaving it.
type slowImages struct {
	EC2
	delay time.Duration
	enter func(int)
}

func (s slowImages) DescribeImages(ctx context.Context, in *ec2.DescribeImagesInput, o ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	s.enter(1)
	defer s.enter(-1)
	time.Sleep(s.delay)
	return s.EC2.DescribeImages(ctx, in, o...)
}
