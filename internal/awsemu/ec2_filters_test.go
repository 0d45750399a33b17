package awsemu

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, value string
		want           bool
	}{
		{"debian-12-*", "debian-12-amd64-20260101", true},
		{"debian-12-*", "debian-11-amd64", false},
		{"*", "", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "abbc", false},
		{`a\*c`, "a*c", true},
		{`a\*c`, "abc", false},
		{`a\?c`, "a?c", true},
		{"a.c", "abc", false}, // regexp metacharacters are literal
		{"(x)+", "(x)+", true},
		{"Name", "name", false}, // case-sensitive
		{"*-gp2", "amzn2-ami-hvm-2.0.20260101-x86_64-gp2", true},
		{"line*", "line1\nline2", true},
	}
	for _, tt := range tests {
		if got := wildcard(tt.pattern).MatchString(tt.value); got != tt.want {
			t.Errorf("wildcard(%q) on %q = %v, want %v", tt.pattern, tt.value, got, tt.want)
		}
	}
}

func TestPaginate(t *testing.T) {
	in := []string{"e", "a", "d", "c", "b"}
	id := func(s string) string { return s }
	var got []string
	token := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		page, next, err := paginate(slices.Clone(in), id, 2, token)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		token = next
	}
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
		t.Fatalf("got %v", got)
	}
	// A token stays valid when the item it names disappears.
	_, next, _ := paginate(slices.Clone(in), id, 2, "")
	page, _, err := paginate([]string{"a", "c", "d"}, id, 2, next)
	if err != nil || !slices.Equal(page, []string{"c", "d"}) {
		t.Fatalf("after removal: %v, %v", page, err)
	}
	if _, _, err := paginate(in, id, 2, "not-a-token"); apiCode(err) != "InvalidPaginationToken" {
		t.Fatalf("bad token: %v", err)
	}
}

func TestParams(t *testing.T) {
	v, _ := url.ParseQuery("ImageId.2=b&ImageId.1=a&ImageId.10=j&Filter.1.Name=name&Filter.1.Value.1=x&Filter.1.Value.2=y" +
		"&Filter.2.Name=state&Filter.2.Value.1=available&TagSpecification.1.ResourceType=image&TagSpecification.1.Tag.1.Key=K" +
		"&TagSpecification.1.Tag.1.Value=V&Owner.1=self")
	p := params{v}
	if got := p.list("ImageId"); !slices.Equal(got, []string{"a", "b", "j"}) {
		t.Errorf("list(ImageId) = %v", got)
	}
	fs, err := p.filters()
	if err != nil || len(fs) != 2 || fs[0].name != "name" || !slices.Equal(fs[0].values, []string{"x", "y"}) {
		t.Errorf("filters = %+v, %v", fs, err)
	}
	specs, err := p.tagSpecs("image")
	if err != nil || specs["image"][0] != (tag{"K", "V"}) {
		t.Errorf("tagSpecs = %v, %v", specs, err)
	}
	if _, err := p.tagSpecs("instance"); apiCode(err) != "InvalidParameterValue" || !strings.Contains(err.Error(), "'image'") {
		t.Errorf("tagSpecs with a resource type the action cannot tag: %v", err)
	}
	bad, _ := url.ParseQuery("Tag.1.Key=aws:reserved&Tag.1.Value=x")
	if _, err := (params{bad}).tagList("Tag"); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("aws: tag key accepted: %v", err)
	}
	long, _ := url.ParseQuery("Tag.1.Key=" + strings.Repeat("k", 129))
	if _, err := (params{long}).tagList("Tag"); apiCode(err) != "InvalidParameterValue" {
		t.Errorf("129-character tag key accepted: %v", err)
	}
}

func TestTagStoreVisibility(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts tagStore
	ts.setAll(accountA, []tag{{"Stage", "v1"}}, t0)
	ts.set(accountA, "Stage", "v2", t0, t0.Add(time.Second))
	ts.set(accountA, "New", "x", t0, t0.Add(time.Second))
	ts.set(accountB, "Mine", "b", t0, t0)
	tests := []struct {
		account string
		at      time.Duration
		want    map[string]string
	}{
		{accountA, 0, map[string]string{"Stage": "v1"}},
		{accountA, time.Second, map[string]string{"Stage": "v2", "New": "x"}},
		{accountB, 0, map[string]string{"Mine": "b"}},
		{accountC, time.Second, map[string]string{}},
	}
	for _, tt := range tests {
		got := ts.visible(tt.account, t0.Add(tt.at))
		if len(got) != len(tt.want) {
			t.Errorf("%s at +%s: %v, want %v", tt.account, tt.at, got, tt.want)
			continue
		}
		for k, v := range tt.want {
			if got[k] != v {
				t.Errorf("%s at +%s: %v, want %v", tt.account, tt.at, got, tt.want)
			}
		}
	}
}

func TestIDs(t *testing.T) {
	e := New(Options{})
	seen := map[string]bool{}
	for _, prefix := range []string{"ami", "i", "snap", "vol", "sg", "key", "r"} {
		id := e.newID(prefix)
		if !idPattern.MatchString(id) || !strings.HasPrefix(id, prefix+"-") || len(id) != len(prefix)+18 || seen[id] {
			t.Errorf("newID(%q) = %q", prefix, id)
		}
		seen[id] = true
	}
	if SeedImageID(region, SeedDebian) == SeedImageID(otherRegion, SeedDebian) {
		t.Error("seed ids must differ per region")
	}
	if SeedImageID(region, "nope") != "" || SeedImageID("mars-1", SeedDebian) != "" {
		t.Error("SeedImageID of an unknown name or region must be empty")
	}
	if DefaultSubnetID(accountA, region) == DefaultSubnetID(accountB, region) {
		t.Error("subnets must differ per account")
	}
}
