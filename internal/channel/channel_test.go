package channel

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// hist builds a history from "AMI" (a promotion) and "<AMI" (a rollback
// to AMI) entries, a minute apart.
func hist(entries ...string) History {
	h := History{Param: "/p"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, e := range entries {
		v := Version{Number: int64(i + 1), At: t0.Add(time.Duration(i) * time.Minute), Kind: KindPromote}
		if ami, ok := strings.CutPrefix(e, "<"); ok {
			v.Kind, e = KindRollback, ami
		}
		if ami, ok := strings.CutPrefix(e, "?"); ok { // written by someone else
			v.Kind, e = "", ami
		}
		v.AMI = e
		h.Versions = append(h.Versions, v)
	}
	return h
}

func amis(vs []Version) string {
	var out []string
	for _, v := range vs {
		out = append(out, v.AMI)
	}
	return strings.Join(out, " ")
}

func TestPromoted(t *testing.T) {
	for _, tt := range []struct {
		history []string
		want    string
	}{
		{nil, ""},
		{[]string{"a"}, "a"},
		{[]string{"a", "b", "c"}, "a b c"},
		{[]string{"a", "b", "<a"}, "a"},                   // rollback pops b
		{[]string{"a", "b", "<a", "c"}, "a c"},            // then a promotion pushes
		{[]string{"a", "b", "c", "<a"}, "a"},              // a rollback past an unusable c... pops to a
		{[]string{"a", "b", "<a", "<x"}, "x"},             // a rollback to what no promotion held starts again
		{[]string{"a", "?m", "b"}, "a m b"},               // someone else's version counts as a promotion
		{[]string{"a", "b", "c", "<b", "<a"}, "a"},        // two rollbacks
		{[]string{"a", "b", "a", "<b"}, "a b"},            // the newest b
		{[]string{"a", "b", "<a", "b", "<a", "c"}, "a c"}, // promote, undo, promote, undo
	} {
		if got := amis(hist(tt.history...).Promoted()); got != tt.want {
			t.Errorf("%v: Promoted = %q, want %q", tt.history, got, tt.want)
		}
	}
}

func TestKept(t *testing.T) {
	for _, tt := range []struct {
		history []string
		keep    int
		want    string
	}{
		{nil, 2, ""},
		{[]string{"a", "b", "c", "d"}, 2, "d c b"},
		{[]string{"a", "b", "c", "d"}, 0, "d"},
		{[]string{"a", "b", "<a"}, 2, "a"},             // b was rolled back: not a rollback target
		{[]string{"a", "b", "<a", "c", "d"}, 1, "d c"}, // a is two back
		{[]string{"a"}, 5, "a"},
	} {
		if got := amis(hist(tt.history...).Kept(tt.keep)); got != tt.want {
			t.Errorf("%v keep %d: Kept = %q, want %q", tt.history, tt.keep, got, tt.want)
		}
	}
}

func TestHeldSince(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		history []string
		want    time.Time
	}{
		{nil, time.Time{}},
		{[]string{"a"}, t0},
		{[]string{"a", "b"}, t0.Add(time.Minute)},
		{[]string{"a", "b", "b"}, t0.Add(time.Minute)}, // written again: held since the first
		{[]string{"b", "a", "b"}, t0.Add(2 * time.Minute)},
	} {
		if got := hist(tt.history...).HeldSince(); !got.Equal(tt.want) {
			t.Errorf("%v: HeldSince = %s, want %s", tt.history, got, tt.want)
		}
	}
}

func TestDescription(t *testing.T) {
	for _, tt := range []struct{ in, kind, fp string }{
		{description(KindPromote, "abc", "from=staging"), KindPromote, "abc"},
		{description(KindRollback, "def", ""), KindRollback, "def"},
		{"AMI published by ami-bakery", "", ""},
		{"ami-bakery deploy fp=x", "", ""},
		{"", "", ""},
	} {
		if k, fp := parseDescription(tt.in); k != tt.kind || fp != tt.fp {
			t.Errorf("parseDescription(%q) = %q, %q; want %q, %q", tt.in, k, fp, tt.kind, tt.fp)
		}
	}
}

func TestParam(t *testing.T) {
	c := &Channel{Name: "prod", Parameter: DefaultParameter}
	for _, tt := range []struct{ project, want string }{
		{"shop", "/ami-bakery/shop/app/prod"},
		{"github.com/acme/infra//ami/bakery.hcl", "/ami-bakery/github.com/acme/infra/ami/bakery.hcl/app/prod"},
		{"a b:c", "/ami-bakery/a_b_c/app/prod"},
	} {
		if got := c.Param(tt.project, "app"); got != tt.want {
			t.Errorf("Param(%q) = %q, want %q", tt.project, got, tt.want)
		}
	}
	if l := Label(strings.Repeat("0", 64)); !strings.HasPrefix(l, "fp-") || len(l) > 100 || slices.Contains([]byte("0123456789"), l[0]) {
		t.Errorf("Label = %q: a label may not start with a digit and has at most 100 characters", l)
	}
}
