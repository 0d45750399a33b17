package awsemu

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// EC2 refuses more than 200 filter values in one call, and a value longer
// than 255 characters, with FilterLimitExceeded; the emulator must too, or a
// client that forgets to batch would pass every test and fail in AWS.
func TestFilterLimits(t *testing.T) {
	_, url := serve(t, Options{})
	c := client(url, accountA, region)
	values := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("fp-%03d", i)
		}
		return out
	}
	state := types.Filter{Name: aws.String("state"), Values: []string{"available", "pending"}}
	tests := []struct {
		name    string
		filters []types.Filter
		wantMsg string // "" when the call succeeds
	}{
		{"200 values", []types.Filter{{Name: aws.String("tag:k"), Values: values(200)}}, ""},
		{"198 values and 2 for state", []types.Filter{{Name: aws.String("tag:k"), Values: values(198)}, state}, ""},
		{"201 values", []types.Filter{{Name: aws.String("tag:k"), Values: values(201)}},
			"The maximum number of filter values specified on a single call is 200"},
		{"200 values and 2 for state", []types.Filter{{Name: aws.String("tag:k"), Values: values(200)}, state},
			"The maximum number of filter values specified on a single call is 200"},
		{"255 characters", []types.Filter{{Name: aws.String("name"), Values: []string{strings.Repeat("é", 255)}}}, ""},
		{"256 characters", []types.Filter{{Name: aws.String("name"), Values: []string{strings.Repeat("a", 256)}}},
			"The maximum length for a filter value is 255 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.DescribeImages(context.Background(), &ec2.DescribeImagesInput{Owners: []string{"self"}, Filters: tt.filters})
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("DescribeImages: %v", err)
				}
				return
			}
			if apiCode(err) != "FilterLimitExceeded" || httpStatus(err) != 400 {
				t.Fatalf("err = %v (status %d), want FilterLimitExceeded, 400", err, httpStatus(err))
			}
			if !strings.HasSuffix(err.Error(), "api error FilterLimitExceeded: "+tt.wantMsg) {
				t.Errorf("error = %q, want EC2's message %q", err, tt.wantMsg)
			}
		})
	}
}
