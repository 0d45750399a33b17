package images

import (
	"context"
	"errors"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// pagedEC2 serves a fixed list of images a page at a time and records the
// requests it saw.
type pagedEC2 struct {
	EC2
	images   []types.Image
	pageSize int
	requests []*ec2.DescribeImagesInput
	err      error
}

func (f *pagedEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.requests = append(f.requests, in)
	if f.err != nil {
		return nil, f.err
	}
	start := 0
	if in.NextToken != nil {
		start, _ = strconv.Atoi(*in.NextToken)
	}
	end := min(start+f.pageSize, len(f.images))
	out := &ec2.DescribeImagesOutput{Images: f.images[start:end]}
	if end < len(f.images) {
		out.NextToken = aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func img(id, owner, state, created, fp string) types.Image {
	im := types.Image{
		ImageId:      aws.String(id),
		OwnerId:      aws.String(owner),
		State:        types.ImageState(state),
		CreationDate: aws.String(created),
	}
	if fp != "" {
		im.Tags = []types.Tag{{Key: aws.String("ami_config_checksum"), Value: aws.String(fp)}}
	}
	return im
}

const (
	self    = "111111111111"
	foreign = "999999999999"
	fp      = "abc123"
	t1      = "2026-01-01T00:00:00.000Z"
	t2      = "2026-02-01T00:00:00.000Z"
)

func TestFindSelection(t *testing.T) {
	tests := []struct {
		name        string
		owners      []string
		images      []types.Image
		wantAvail   string
		wantPending string
	}{
		{"none", []string{"self"}, nil, "", ""},
		{"one available", []string{"self"}, []types.Image{img("ami-1", self, "available", t1, fp)}, "ami-1", ""},
		{"newest wins", []string{"self"}, []types.Image{
			img("ami-old", self, "available", t1, fp),
			img("ami-new", self, "available", t2, fp),
		}, "ami-new", ""},
		{"tie broken by smaller id", []string{"self"}, []types.Image{
			img("ami-b", self, "available", t1, fp),
			img("ami-a", self, "available", t1, fp),
			img("ami-c", self, "available", t1, fp),
		}, "ami-a", ""},
		{"pending only", []string{"self"}, []types.Image{img("ami-p", self, "pending", t1, fp)}, "", "ami-p"},
		{"available beats newer pending", []string{"self"}, []types.Image{
			img("ami-p", self, "pending", t2, fp),
			img("ami-a", self, "available", t1, fp),
		}, "ami-a", ""},
		{"failed and deregistered ignored", []string{"self"}, []types.Image{
			img("ami-f", self, "failed", t2, fp),
			img("ami-d", self, "deregistered", t2, fp),
		}, "", ""},
		{"untrusted owner ignored though tagged", []string{self}, []types.Image{
			img("ami-evil", foreign, "available", t2, fp),
			img("ami-ok", self, "available", t1, fp),
		}, "ami-ok", ""},
		{"explicit foreign owner trusted", []string{self, foreign}, []types.Image{
			img("ami-x", foreign, "available", t2, fp),
		}, "ami-x", ""},
		// An endpoint that ignores Owners: "self" must not let a
		// stranger's image through (it used to accept any owner once an
		// alias was named).
		{"self: a foreign owner is refused", []string{"self"}, []types.Image{
			img("ami-evil", foreign, "available", t2, fp),
		}, "", ""},
		{"--owner adds to self, never replaces it", []string{"self", foreign}, []types.Image{
			img("ami-own", self, "available", t1, fp),
		}, "ami-own", ""},
		{"amazon alias judged by the owner alias", []string{"amazon"}, []types.Image{
			aliased(img("ami-evil", foreign, "available", t2, fp), ""),
			aliased(img("ami-amzn", "137112412989", "available", t1, fp), "amazon"),
		}, "ami-amzn", ""},
		{"an alias does not trust another alias", []string{"aws-marketplace"}, []types.Image{
			aliased(img("ami-amzn", "137112412989", "available", t1, fp), "amazon"),
		}, "", ""},
		{"missing owner refused", []string{"self"}, []types.Image{img("ami-n", "", "available", t1, fp)}, "", ""},
		{"wrong tag value ignored", []string{"self"}, []types.Image{img("ami-w", self, "available", t2, "other")}, "", ""},
		{"untagged ignored", []string{"self"}, []types.Image{img("ami-u", self, "available", t2, "")}, "", ""},
		{"unparseable date sorts last", []string{"self"}, []types.Image{
			img("ami-bad", self, "available", "yesterday", fp),
			img("ami-good", self, "available", t1, fp),
		}, "ami-good", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &pagedEC2{images: tt.images, pageSize: 2}
			m, err := Find(context.Background(), f, Query{Owners: tt.owners, Account: self, TagKey: "ami_config_checksum", Fingerprint: fp})
			if err != nil {
				t.Fatal(err)
			}
			if got := id(m.Available); got != tt.wantAvail {
				t.Errorf("available = %q, want %q", got, tt.wantAvail)
			}
			if got := id(m.Pending); got != tt.wantPending {
				t.Errorf("pending = %q, want %q", got, tt.wantPending)
			}
			for _, r := range f.requests {
				if len(r.Owners) == 0 {
					t.Errorf("DescribeImages called without owners")
				}
			}
		})
	}
}

func aliased(im types.Image, alias string) types.Image {
	if alias != "" {
		im.ImageOwnerAlias = aws.String(alias)
	}
	return im
}

func id(im *Image) string {
	if im == nil {
		return ""
	}
	return im.ID
}

func TestFindPaginatesAndFilters(t *testing.T) {
	var ims []types.Image
	for i := range 7 {
		ims = append(ims, img("ami-"+strconv.Itoa(i), self, "available", t1, fp))
	}
	ims = append(ims, img("ami-last", self, "available", t2, fp))
	f := &pagedEC2{images: ims, pageSize: 3}
	m, err := Find(context.Background(), f, Query{Owners: []string{"self"}, Account: self, TagKey: "ami_config_checksum", Fingerprint: fp})
	if err != nil {
		t.Fatal(err)
	}
	if id(m.Available) != "ami-last" {
		t.Errorf("got %q, want the newest image from the last page", id(m.Available))
	}
	if len(f.requests) != 3 {
		t.Errorf("made %d requests, want 3 pages", len(f.requests))
	}
	first := f.requests[0]
	if got := aws.ToString(first.Filters[0].Name); got != "tag:ami_config_checksum" || first.Filters[0].Values[0] != fp {
		t.Errorf("first filter = %s=%v, want the fingerprint tag", got, first.Filters[0].Values)
	}
}

func TestFindByName(t *testing.T) {
	f := &pagedEC2{images: []types.Image{img("ami-n", self, "available", t1, "")}, pageSize: 5}
	m, err := Find(context.Background(), f, Query{Owners: []string{self}, Name: "app-abc123"})
	if err != nil {
		t.Fatal(err)
	}
	if id(m.Available) != "ami-n" {
		t.Errorf("by name: got %q", id(m.Available))
	}
	if got := aws.ToString(f.requests[0].Filters[0].Name); got != "name" {
		t.Errorf("filter %q, want name", got)
	}
}

func TestFindErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Find(ctx, &pagedEC2{}, Query{TagKey: "k", Fingerprint: "v"}); err == nil {
		t.Error("no owners: want error")
	}
	if _, err := Find(ctx, &pagedEC2{}, Query{Owners: []string{"self"}}); err == nil {
		t.Error("nothing to look for: want error")
	}
	if _, err := Find(ctx, &pagedEC2{}, Query{Owners: []string{"self"}, TagKey: "k", Fingerprint: "v"}); err == nil {
		t.Error("self without the caller's account: want error")
	}
	boom := errors.New("boom")
	_, err := Find(ctx, &pagedEC2{err: boom}, Query{Owners: []string{"self"}, Account: self, TagKey: "k", Fingerprint: "v"})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want wrapped boom", err)
	}
}

func TestValidOwner(t *testing.T) {
	for s, want := range map[string]bool{
		"self": true, "amazon": true, "aws-marketplace": true, "123456789012": true,
		"": false, "12345": false, "1234567890123": false, "12345678901a": false, "Self": false,
	} {
		if ValidOwner(s) != want {
			t.Errorf("ValidOwner(%q) = %v, want %v", s, !want, want)
		}
	}
}

// stateSeq answers DescribeImages by id with one state after another.
type stateSeq struct {
	EC2
	states []string
	calls  int
}

func (s *stateSeq) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	st := s.states[min(s.calls, len(s.states)-1)]
	s.calls++
	return &ec2.DescribeImagesOutput{Images: []types.Image{img(in.ImageIds[0], self, st, t1, fp)}}, nil
}

func TestWaitAvailable(t *testing.T) {
	tests := []struct {
		name    string
		states  []string
		timeout time.Duration
		wantErr bool
	}{
		{"already available", []string{"available"}, time.Second, false},
		{"pending then available", []string{"pending", "pending", "available"}, time.Second, false},
		{"fails", []string{"pending", "failed"}, time.Second, true},
		{"times out", []string{"pending"}, 20 * time.Millisecond, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reports int
			w := Waiter{Poll: time.Millisecond, Timeout: tt.timeout, ReportEvery: time.Nanosecond,
				Progress: func(string, ...any) { reports++ }}
			im, err := w.WaitAvailable(context.Background(), &stateSeq{states: tt.states}, "ami-w")
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if err == nil && im.State != "available" {
				t.Errorf("state %q", im.State)
			}
			if len(tt.states) > 1 && tt.states[1] == "pending" && reports == 0 {
				t.Errorf("no progress reported while pending")
			}
		})
	}
}

type tagRecorder struct {
	EC2
	got []*ec2.CreateTagsInput
}

func (r *tagRecorder) CreateTags(_ context.Context, in *ec2.CreateTagsInput, _ ...func(*ec2.Options)) (*ec2.CreateTagsOutput, error) {
	r.got = append(r.got, in)
	return &ec2.CreateTagsOutput{}, nil
}

func TestEnsureTags(t *testing.T) {
	r := &tagRecorder{}
	im := Image{ID: "ami-1", Tags: map[string]string{"a": "1", "b": "old"}}
	keys, err := EnsureTags(context.Background(), r, im, map[string]string{"a": "1", "b": "new", "c": "3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0] != "b" || keys[1] != "c" {
		t.Errorf("wrote %v, want [b c]", keys)
	}
	if len(r.got) != 1 || len(r.got[0].Tags) != 2 {
		t.Fatalf("CreateTags calls %d", len(r.got))
	}
	r.got = nil
	keys, _ = EnsureTags(context.Background(), r, im, map[string]string{"a": "1"})
	if keys != nil || r.got != nil {
		t.Errorf("nothing to write, but wrote %v", keys)
	}
}

// TestIsAccountID: the loop accepts what ^[0-9]{12}$ does.
func TestIsAccountID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9]{12}$`)
	for _, s := range []string{"", "123456789012", "12345678901", "1234567890123", "12345678901a", " 23456789012", "１23456789012", "000000000000"} {
		if got, want := isAccountID(s), re.MatchString(s); got != want {
			t.Errorf("isAccountID(%q) = %v, want %v", s, got, want)
		}
	}
}
