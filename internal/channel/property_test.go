package channel

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	bssm "github.com/ami-bakery/ami-bakery/internal/awsapi/ssm"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/ami-bakery/ami-bakery/internal/awsemu"
	"github.com/ami-bakery/ami-bakery/internal/bake"
)

// The property: in random worlds (images in one to three regions, AMIs in
// every state, owned by us, a trusted account or a stranger, tagged or not,
// tested or not, shared or not; channel histories of promotions, rollbacks
// and other people's versions, written over time through SSM; sometimes a
// fault on one write):
//
//  1. promote writes nothing unless every gate holds for every image and
//     region, and then each parameter's head is the candidate;
//  2. a failed Apply leaves every parameter as it was, and a rerun writes
//     nothing;
//  3. rollback moves a channel to the newest usable AMI below its head,
//     never to a gone, disabled, deprecated or revoked one, nor the one it
//     holds;
//  4. revoke tags every AMI of the fingerprint and every descendant, and no
//     channel holds one afterwards; when some channel has nothing earlier,
//     nothing changes;
//  5. Kept(keep) is the head and the keep promotions before it.
//
// The oracle knows the world from how it was made, and reads the channels'
// raw history itself; it calls none of this package's code. A failing seed
// prints its world; run it alone with -seed N (or AMI_BAKERY_CHANNEL_SEED).

var (
	seedFlag  = flag.String("seed", "", "run TestChannelProperty on this seed only (also AMI_BAKERY_CHANNEL_SEED)")
	seedsFlag = flag.Int("seeds", 0, "run TestChannelProperty on this many seeds (default 200, -short 30), to hunt longer")
)

// propertySeeds is how many fixed seeds TestChannelProperty runs (-short:
// fewer).
const propertySeeds = 200

func TestChannelProperty(t *testing.T) {
	if s := cmp.Or(*seedFlag, os.Getenv("AMI_BAKERY_CHANNEL_SEED")); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("seed %q: %v", s, err)
		}
		t.Run(s, func(t *testing.T) { checkWorld(t, seed) })
		return
	}
	n := propertySeeds
	if testing.Short() {
		n = 30
	}
	if *seedsFlag > 0 {
		n = *seedsFlag
	}
	for seed := range uint64(n) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			checkWorld(t, seed)
		})
	}
}

// FuzzChannels runs the property on seeds the fuzzer picks, starting from
// the fixed ones.
func FuzzChannels(f *testing.F) {
	for seed := range uint64(10) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { checkWorld(t, seed) })
}

const (
	ownAcct      = awsemu.DefaultAccount
	trustedAcct  = "111122223333"
	strangerAcct = "444455556666"
	propTagKey   = "ami_config_checksum"
	propProject  = "shop"
)

var (
	launchAccts = []string{"210987654321", "555566667777"}
	testNames   = []string{"boot", "smoke"}
	worldT0     = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
)

// amiFact is what the oracle knows of an AMI, from how it was made. Tags
// are as our account sees them (on another account's AMI, the ones we
// wrote).
type amiFact struct {
	id, alias, region, owner string
	image                    string // the image it was made for
	imageTag                 string // its ami-bakery:image tag, "" without
	def                      string // the definition it was built from
	fp                       string // its fingerprint tag, "" without
	parent                   string // its parent-ami tag
	state                    string // available, disabled, deprecated, deregistered, pending
	laterDeprecated          bool   // deprecated from a time still to come
	revoked                  bool   // tagged ami-bakery:revoked
	public                   bool
	shared                   []string
	tests                    map[string]testResult
}

type testResult struct{ result, fp string }

// pkey is one channel parameter: an image's channel in a region.
type pkey struct{ image, channel, region string }

func (k pkey) param() string { return "/ami-bakery/" + propProject + "/" + k.image + "/" + k.channel }

// mver is one version of a parameter, as the oracle reads it.
type mver struct {
	num    int64
	ami    string
	kind   string // promote, rollback, or "" (someone else)
	desc   string
	at     time.Time
	labels []string
}

type world struct {
	t       *testing.T
	rng     *rand.Rand
	s       *awsemu.TestServer
	ctx     context.Context
	ec2c    map[string]*ec2.Client
	ssmc    map[string]*ssm.Client
	bad     float64 // how often something is wrong
	regions []string
	imgs    []*Image
	defs    map[string][]string // image -> its definitions, oldest first
	chans   []*Channel          // staging, prod
	facts   map[string]*amiFact
	order   []*amiFact
	n       int
	mirror  map[pkey][]mver // what the generator wrote
	// unrestored are parameters a failed Apply could not put back, as
	// their old AMI is gone.
	unrestored map[pkey]bool
	story      []string // what the test did, for the report
	replacer   *strings.Replacer
}

func checkWorld(t *testing.T, seed uint64) {
	w := newWorld(t, seed)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d (rerun: go test ./internal/channel -run 'TestChannelProperty' -seed %d -v)\n%s", seed, seed, w.dump())
		}
	})
	w.build()
	w.checkHistories("the world as made")
	for range 1 + w.rng.IntN(2) {
		w.promote()
		w.checkHistories("after promote")
	}
	for range 1 + w.rng.IntN(2) {
		w.rollback()
		w.checkHistories("after rollback")
	}
	for range 1 + w.rng.IntN(2) {
		w.revoke()
		w.checkHistories("after revoke")
	}
	w.rollback()
	w.checkHistories("after the last rollback")
}

// ---- the world

// inProcess serves the SDK's requests with the emulator's handler in the
// test's own process: the real SDK, signed and parsed, without sockets.
type inProcess struct{ h http.Handler }

func (p inProcess) Do(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	p.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func newWorld(t *testing.T, seed uint64) *world {
	rng := rand.New(rand.NewPCG(seed, 0xc4a22e15))
	s := awsemu.NewTestServer(t, awsemu.Options{Clock: func() time.Time { return worldT0 }})
	w := &world{t: t, rng: rng, s: s, ctx: context.Background(), ec2c: map[string]*ec2.Client{}, ssmc: map[string]*ssm.Client{},
		defs: map[string][]string{}, facts: map[string]*amiFact{}, mirror: map[pkey][]mver{}, unrestored: map[pkey]bool{}}
	w.bad = []float64{0, 0.04, 0.12, 0.3}[rng.IntN(4)]
	return w
}

func (w *world) ec2(account, region string) *ec2.Client {
	k := account + "/" + region
	if w.ec2c[k] == nil {
		cfg := w.s.Config(account, region)
		cfg.HTTPClient = inProcess{w.s.Emulator}
		w.ec2c[k] = ec2.NewFromConfig(cfg)
	}
	return w.ec2c[k]
}

// own is ami-bakery's own SSM client (package awsapi/ssm) for the code
// under test; the SDK's (ssm) seeds the world and is the oracle.
func (w *world) own(region string) *bssm.Client {
	return bssm.NewFromConfig(w.config(region))
}

// config is the configuration of the SSM clients of region, in process.
func (w *world) config(region string) aws.Config {
	cfg := w.s.Config(ownAcct, region)
	cfg.HTTPClient = inProcess{w.s.Emulator}
	return cfg
}

func (w *world) ssm(region string) *ssm.Client {
	if w.ssmc[region] == nil {
		w.ssmc[region] = ssm.NewFromConfig(w.config(region))
	}
	return w.ssmc[region]
}

func (w *world) chance(p float64) bool { return w.rng.Float64() < p }

func (w *world) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatalf("making the world: %v", err)
	}
}

// fatalf and errorf name AMIs by their aliases.
func (w *world) fatalf(format string, args ...any) {
	w.t.Helper()
	w.t.Fatal(w.names(fmt.Sprintf(format, args...)))
}

func (w *world) errorf(format string, args ...any) {
	w.t.Helper()
	w.t.Error(w.names(fmt.Sprintf(format, args...)))
}

func (w *world) names(s string) string {
	if w.replacer == nil {
		var pairs []string
		for _, a := range w.order {
			pairs = append(pairs, a.id, a.alias)
		}
		w.replacer = strings.NewReplacer(pairs...)
	}
	return w.replacer.Replace(s)
}

func (w *world) logf(format string, args ...any) {
	w.story = append(w.story, fmt.Sprintf(format, args...))
}

func (w *world) subset(from []string) []string {
	var out []string
	for _, x := range from {
		if w.rng.IntN(2) == 0 {
			out = append(out, x)
		}
	}
	return out
}

func (w *world) build() {
	all := []string{"us-east-1", "us-west-2", "eu-west-1"}
	w.rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	w.regions = all[:1+w.rng.IntN(3)]
	w.makeImages()
	w.makeAMIs()
	w.makeChannels()
	w.makeHistories()
	w.settle()
}

func (w *world) makeImages() {
	names := []string{"base", "app", "web"}
	for i := range []int{1, 2, 2, 3, 3}[w.rng.IntN(5)] {
		name := names[i]
		img := &Image{Name: name, TagKey: propTagKey, Trusted: []string{ownAcct, trustedAcct}, Current: map[string]string{}, Tests: map[string]string{}}
		switch i {
		case 1:
			img.Parent = "base"
		case 2:
			img.Parent = []string{"base", "app"}[w.rng.IntN(2)]
		}
		for _, tn := range testNames {
			img.Tests[tn] = fmt.Sprintf("%s.%06x", tn, w.rng.Uint32()&0xffffff)
		}
		img.Regions = slices.Clone(w.regions)
		if w.chance(2 * w.bad) { // fewer regions, another primary
			w.rng.Shuffle(len(img.Regions), func(i, j int) { img.Regions[i], img.Regions[j] = img.Regions[j], img.Regions[i] })
			img.Regions = img.Regions[:1+w.rng.IntN(len(img.Regions))]
		}
		img.Param = func(c *Channel) string { return c.Param(propProject, name) }
		img.SSM = func(r string) SSM { return w.own(r) }
		img.EC2 = func(r string) EC2 { return w.ec2(ownAcct, r) }
		w.imgs = append(w.imgs, img)
		for d := range 2 + w.rng.IntN(3) {
			w.defs[name] = append(w.defs[name], fmt.Sprintf("%s.d%d.%06x", name, d, w.rng.Uint32()&0xffffff))
		}
	}
}

// amisOf are the AMIs made for image in region (of def, when not "").
func (w *world) amisOf(image, region, def string) []*amiFact {
	var out []*amiFact
	for _, a := range w.order {
		if a.image == image && a.region == region && (def == "" || a.def == def) {
			out = append(out, a)
		}
	}
	return out
}

func (w *world) pickAMI(as []*amiFact) *amiFact {
	if len(as) == 0 {
		return nil
	}
	return as[w.rng.IntN(len(as))]
}

func (w *world) makeAMIs() {
	for _, img := range w.imgs { // parents first
		for _, r := range img.Regions {
			for _, def := range w.defs[img.Name] {
				n := 1
				if w.chance(w.bad) {
					n = w.rng.IntN(3) // none, one or two
				}
				for range n {
					w.makeAMI(img, r, def)
				}
			}
		}
		for _, r := range img.Regions { // the image's current AMI
			cur := ""
			if a := w.amisOf(img.Name, r, w.defs[img.Name][len(w.defs[img.Name])-1]); len(a) > 0 {
				cur = a[0].id
			}
			if w.chance(w.bad) {
				cur = ""
				if a := w.pickAMI(w.amisOf(img.Name, r, "")); a != nil && w.rng.IntN(3) > 0 {
					cur = a.id
				}
			}
			if cur != "" {
				img.Current[r] = cur
			}
		}
	}
}

func (w *world) makeAMI(img *Image, r, def string) {
	w.n++
	a := &amiFact{alias: fmt.Sprintf("%c%d", img.Name[0], w.n), region: r, owner: ownAcct, image: img.Name, imageTag: img.Name, def: def, fp: def,
		state: "available", tests: map[string]testResult{}}
	if w.chance(w.bad) {
		a.owner = []string{trustedAcct, strangerAcct}[w.rng.IntN(2)]
	}
	switch {
	case w.chance(w.bad):
		a.fp = ""
	case w.chance(w.bad / 2):
		a.fp = w.defs[img.Name][w.rng.IntN(len(w.defs[img.Name]))] // mislabelled
	}
	if w.chance(w.bad) {
		a.imageTag = "" // made before ami-bakery wrote one
	}
	if img.Parent != "" && !w.chance(w.bad/2) {
		if p := w.pickAMI(w.amisOf(img.Parent, r, "")); p != nil {
			a.parent = p.id
		}
	}
	if w.chance(w.bad) {
		a.state = []string{"disabled", "deprecated", "deregistered", "pending"}[w.rng.IntN(4)]
	} else if w.chance(0.05) {
		a.laterDeprecated = true
	}
	a.revoked = w.chance(w.bad / 2)
	for _, tn := range testNames {
		res := testResult{"pass", img.Tests[tn]}
		if w.chance(w.bad) {
			switch w.rng.IntN(4) {
			case 0:
				res = testResult{} // never ran
			case 1:
				res.result = "fail"
			case 2:
				res.fp = fmt.Sprintf("%s.%06x", tn, w.rng.Uint32()&0xffffff) // the test changed since
			case 3:
				res.result = "skipped"
			}
		}
		a.tests[tn] = res
	}
	a.shared = slices.Clone(launchAccts)
	if w.chance(w.bad) {
		a.shared = [][]string{nil, launchAccts[:1], launchAccts[:1], launchAccts[1:]}[w.rng.IntN(4)]
	}
	if a.public = w.chance(0.1); a.public && w.rng.IntN(2) == 0 {
		a.shared = nil // public is enough
	}

	tags := map[string]string{}
	if a.imageTag != "" {
		tags[bake.TagImage] = a.imageTag
	}
	if a.fp != "" {
		tags[propTagKey] = a.fp
	}
	if a.parent != "" {
		tags[bake.TagParentAMI] = a.parent
	}
	if a.revoked {
		tags[TagRevoked] = worldT0.Add(-time.Hour).Format(time.RFC3339)
	}
	for tn, res := range a.tests {
		if res.result != "" {
			tags[TestTagPrefix+tn] = res.result
			tags[TestTagPrefix+tn+":at"] = worldT0.Format(time.RFC3339)
			if res.fp != "" {
				tags[TestTagPrefix+tn+":fingerprint"] = res.fp
			}
		}
	}
	spec := awsemu.ImageSpec{Name: fmt.Sprintf("%s-%d", img.Name, w.n), Public: a.public, SharedWith: slices.Clone(a.shared)}
	if a.state == "pending" {
		spec.State = "pending"
	}
	if a.owner == ownAcct {
		spec.Tags = tags
	} else {
		spec.SharedWith = append(spec.SharedWith, ownAcct) // else we could not see it
	}
	id, err := w.s.PutImage(a.owner, r, spec)
	w.must(err)
	a.id = id
	if a.owner != ownAcct && len(tags) > 0 { // another account's tags are not ours: we tag it
		var ts []ec2types.Tag
		for k, v := range tags {
			ts = append(ts, ec2types.Tag{Key: aws.String(k), Value: aws.String(v)})
		}
		_, err := w.ec2(ownAcct, r).CreateTags(w.ctx, &ec2.CreateTagsInput{Resources: []string{id}, Tags: ts})
		w.must(err)
	}
	w.facts[id] = a
	w.order = append(w.order, a)
}

func (w *world) makeChannels() {
	staging := &Channel{Name: "staging", Parameter: DefaultParameter, Keep: w.rng.IntN(3)}
	if w.chance(0.3) {
		staging.Requires = w.subset(testNames)
	}
	if w.chance(0.3) {
		staging.Accounts = w.subset(launchAccts)
	}
	prod := &Channel{Name: "prod", From: "staging", Parameter: DefaultParameter, Keep: w.rng.IntN(3),
		Soak:     []time.Duration{0, 30 * time.Minute, 2 * time.Hour, 24 * time.Hour}[w.rng.IntN(4)],
		Requires: w.subset(testNames), Accounts: [][]string{nil, launchAccts[:1], launchAccts, launchAccts}[w.rng.IntN(4)]}
	w.chans = []*Channel{staging, prod}
}

// makeHistories writes the channels' histories through SSM, over time:
// promotions (mostly of one definition in every region), rollbacks,
// versions others wrote, the same AMI again; now and then a parameter at
// SSM's 100 versions with its oldest labelled.
func (w *world) makeHistories() {
	type stream struct {
		img  *Image
		ch   *Channel
		left int
		def  int
	}
	var streams []*stream
	for _, img := range w.imgs {
		for _, ch := range w.chans {
			streams = append(streams, &stream{img: img, ch: ch, left: w.rng.IntN(6) + w.rng.IntN(4)})
		}
	}
	for {
		var live []*stream
		for _, st := range streams {
			if st.left > 0 {
				live = append(live, st)
			}
		}
		if len(live) == 0 {
			break
		}
		st := live[w.rng.IntN(len(live))]
		st.left--
		switch n := w.rng.IntN(11); {
		case n < 6: // a promotion of one definition
			if w.rng.IntN(4) > 0 {
				st.def = (st.def + 1) % len(w.defs[st.img.Name])
			}
			def := w.defs[st.img.Name][st.def]
			note := ""
			if st.ch.From != "" {
				note = " from=" + st.ch.From
			}
			for _, r := range st.img.Regions {
				a := w.pickAMI(w.amisOf(st.img.Name, r, def))
				if w.chance(w.bad) {
					a = w.pickAMI(w.amisOf(st.img.Name, r, ""))
					if w.chance(0.3) { // even another image's
						a = w.pickAMI(w.inRegion(r))
					}
				}
				if a != nil {
					w.write(pkey{st.img.Name, st.ch.Name, r}, a, "ami-bakery promote fp="+a.fp+note, w.rng.IntN(3) > 0)
				}
			}
		case n < 7: // someone else's version
			for _, r := range st.img.Regions {
				if w.rng.IntN(2) == 0 {
					continue
				}
				a := w.pickAMI(w.amisOf(st.img.Name, r, ""))
				if w.chance(0.35) {
					a = w.pickAMI(w.inRegion(r))
				}
				if a != nil {
					w.write(pkey{st.img.Name, st.ch.Name, r}, a, []string{"", "set by terraform", "ami-bakery deploy fp=x", "ami-bakery"}[w.rng.IntN(4)], false)
				}
			}
		case n < 9: // a rollback
			for _, r := range st.img.Regions {
				k := pkey{st.img.Name, st.ch.Name, r}
				stack := modelStack(w.mirror[k])
				var a *amiFact
				if len(stack) >= 2 {
					a = w.facts[stack[w.rng.IntN(len(stack)-1)].ami]
				}
				if w.chance(w.bad) {
					a = w.pickAMI(w.amisOf(st.img.Name, r, ""))
				}
				if a != nil && len(w.mirror[k]) > 0 {
					was := w.mirror[k][len(w.mirror[k])-1].ami
					w.write(k, a, "ami-bakery rollback fp="+a.fp+" was="+was, w.rng.IntN(2) == 0)
				}
			}
		default: // the same AMI again
			for _, r := range st.img.Regions {
				k := pkey{st.img.Name, st.ch.Name, r}
				if vs := w.mirror[k]; len(vs) > 0 {
					a := w.facts[vs[len(vs)-1].ami]
					w.write(k, a, "ami-bakery promote fp="+a.fp, false)
				}
			}
		}
		w.advance([]time.Duration{0, time.Duration(1+w.rng.IntN(59)) * time.Minute, time.Duration(1+w.rng.IntN(10)) * time.Hour}[w.rng.IntN(3)])
	}
	if w.chance(0.15) {
		w.fill()
	}
}

// fill takes one parameter to (nearly) SSM's 100 versions, its oldest
// labelled: a write must first unlabel it, and SSM drops it.
func (w *world) fill() {
	var keys []pkey
	for k, vs := range w.mirror {
		if len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return
	}
	slices.SortFunc(keys, func(a, b pkey) int { return strings.Compare(a.param()+a.region, b.param()+b.region) })
	k := keys[w.rng.IntN(len(keys))]
	for n := 100 - w.rng.IntN(2); len(w.mirror[k]) < n; {
		head := w.facts[w.mirror[k][len(w.mirror[k])-1].ami]
		a := head
		if w.chance(0.3) {
			a = w.pickAMI(w.amisOf(head.image, k.region, ""))
		}
		w.write(k, a, "", false)
	}
	for i := range 1 + w.rng.IntN(3) {
		_, err := w.ssm(k.region).LabelParameterVersion(w.ctx, &ssm.LabelParameterVersionInput{Name: aws.String(k.param()),
			ParameterVersion: aws.Int64(w.mirror[k][i].num), Labels: []string{fmt.Sprintf("old-%d", i)}})
		w.must(err)
		w.mirror[k][i].labels = append(w.mirror[k][i].labels, fmt.Sprintf("old-%d", i))
	}
	w.logf("filled %s in %s to %d versions", k.param(), k.region, len(w.mirror[k]))
}

func (w *world) inRegion(r string) []*amiFact {
	var out []*amiFact
	for _, a := range w.order {
		if a.region == r {
			out = append(out, a)
		}
	}
	return out
}

// write writes a version as the generator (not the code under test) does.
func (w *world) write(k pkey, a *amiFact, desc string, label bool) {
	in := &ssm.PutParameterInput{Name: aws.String(k.param()), Value: aws.String(a.id), Type: ssmtypes.ParameterTypeString,
		DataType: aws.String("aws:ec2:image"), Overwrite: aws.Bool(true)}
	if desc != "" {
		in.Description = aws.String(desc)
	}
	out, err := w.ssm(k.region).PutParameter(w.ctx, in)
	w.must(err)
	v := mver{num: out.Version, ami: a.id, desc: desc, kind: descKind(desc), at: w.s.Now()}
	if label && a.fp != "" {
		_, err := w.ssm(k.region).LabelParameterVersion(w.ctx, &ssm.LabelParameterVersionInput{Name: aws.String(k.param()),
			ParameterVersion: aws.Int64(out.Version), Labels: []string{"fp-" + a.fp}})
		w.must(err)
		v.labels = []string{"fp-" + a.fp}
	}
	w.mirror[k] = append(w.mirror[k], v)
}

func (w *world) advance(d time.Duration) {
	if d > 0 {
		w.s.Advance(d)
	}
}

// settle gives the AMIs their final states, now that the histories that
// name them are written (SSM would not take a gone AMI), and lets time
// pass.
func (w *world) settle() {
	for _, a := range w.order {
		c := w.ec2(a.owner, a.region)
		var err error
		switch a.state {
		case "deregistered":
			_, err = c.DeregisterImage(w.ctx, &ec2.DeregisterImageInput{ImageId: aws.String(a.id)})
		case "disabled": // EC2 takes its launch permissions away: another account's is gone for us
			_, err = c.DisableImage(w.ctx, &ec2.DisableImageInput{ImageId: aws.String(a.id)})
			a.shared, a.public = nil, false
		case "deprecated":
			_, err = c.EnableImageDeprecation(w.ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(a.id), DeprecateAt: aws.Time(w.s.Now().Add(time.Minute))})
		}
		w.must(err)
		if a.laterDeprecated {
			_, err = c.EnableImageDeprecation(w.ctx, &ec2.EnableImageDeprecationInput{ImageId: aws.String(a.id), DeprecateAt: aws.Time(w.s.Now().Add(30 * 24 * time.Hour))})
			w.must(err)
		}
	}
	w.advance(2*time.Minute + time.Duration(w.rng.IntN(48*60))*time.Minute)
}

// ---- the oracle's reading of channels

// descKind is the kind a version's description says, by the documented
// format "ami-bakery KIND fp=...".
func descKind(d string) string {
	f := strings.Fields(d)
	if len(f) >= 2 && f[0] == "ami-bakery" && (f[1] == "promote" || f[1] == "rollback") {
		return f[1]
	}
	return ""
}

// modelStack is the documented rule of the promotions in effect: each
// version pushes its AMI, except a rollback, which pops back to the newest
// entry of its AMI and takes its place (or starts afresh from it when no
// entry holds it).
func modelStack(vs []mver) []mver {
	var stack []mver
	for _, v := range vs {
		if v.kind != "rollback" {
			stack = append(stack, v)
			continue
		}
		at := -1
		for i, s := range stack {
			if s.ami == v.ami {
				at = i
			}
		}
		if at < 0 {
			stack = []mver{v}
		} else {
			stack = append(stack[:at], v)
		}
	}
	return stack
}

// heldSince is when the head's AMI came to the head.
func heldSince(vs []mver) time.Time {
	at := vs[len(vs)-1].at
	for i := len(vs) - 1; i >= 0 && vs[i].ami == vs[len(vs)-1].ami; i-- {
		at = vs[i].at
	}
	return at
}

// history reads a parameter's versions with the raw SSM API; none when it
// does not exist.
func (w *world) history(k pkey) []mver {
	w.t.Helper()
	var out []mver
	in := &ssm.GetParameterHistoryInput{Name: aws.String(k.param())}
	for {
		page, err := w.ssm(k.region).GetParameterHistory(w.ctx, in)
		var nf *ssmtypes.ParameterNotFound
		if errors.As(err, &nf) {
			return nil
		}
		if err != nil {
			w.t.Fatalf("oracle reading %s in %s: %v", k.param(), k.region, err)
		}
		for _, p := range page.Parameters {
			d := aws.ToString(p.Description)
			out = append(out, mver{num: p.Version, ami: aws.ToString(p.Value), desc: d, kind: descKind(d), at: aws.ToTime(p.LastModifiedDate), labels: p.Labels})
		}
		if aws.ToString(page.NextToken) == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	slices.SortFunc(out, func(a, b mver) int { return cmp.Compare(a.num, b.num) })
	return out
}

// value is a parameter's value (GetParameter), "" when it does not exist.
func (w *world) value(k pkey) string {
	w.t.Helper()
	out, err := w.ssm(k.region).GetParameter(w.ctx, &ssm.GetParameterInput{Name: aws.String(k.param())})
	var nf *ssmtypes.ParameterNotFound
	if errors.As(err, &nf) {
		return ""
	}
	if err != nil {
		w.t.Fatalf("oracle reading %s in %s: %v", k.param(), k.region, err)
	}
	return aws.ToString(out.Parameter.Value)
}

func (w *world) keys() []pkey {
	var out []pkey
	for _, img := range w.imgs {
		for _, ch := range w.chans {
			for _, r := range img.Regions {
				out = append(out, pkey{img.Name, ch.Name, r})
			}
		}
	}
	return out
}

func (w *world) values() map[pkey]string {
	out := map[pkey]string{}
	for _, k := range w.keys() {
		out[k] = w.value(k)
	}
	return out
}

// writes counts the calls that change something.
func (w *world) writes() int {
	n := 0
	for _, a := range []string{"PutParameter", "DeleteParameter", "LabelParameterVersion", "UnlabelParameterVersion", "CreateTags", "EnableImageDeprecation"} {
		n += w.s.CallCount(a)
	}
	return n
}

func nums(vs []mver) []int64 {
	var out []int64
	for _, v := range vs {
		out = append(out, v.num)
	}
	return out
}

func versionNums(vs []Version) []int64 {
	var out []int64
	for _, v := range vs {
		out = append(out, v.Number)
	}
	return out
}

// checkHistories checks, for every channel parameter, that Read sees what
// SSM holds, Promoted is the documented stack and Kept its newest keep+1
// entries, the head among them (invariant 5).
func (w *world) checkHistories(when string) {
	w.t.Helper()
	for _, k := range w.keys() {
		raw := w.history(k)
		h, err := Read(w.ctx, w.own(k.region), k.param())
		if err != nil {
			w.fatalf("%s: Read %s in %s: %v", when, k.param(), k.region, err)
		}
		if len(h.Versions) != len(raw) {
			w.fatalf("%s: Read %s in %s: %d versions, SSM has %d", when, k.param(), k.region, len(h.Versions), len(raw))
		}
		for i, v := range h.Versions {
			if v.Number != raw[i].num || v.AMI != raw[i].ami || v.Kind != raw[i].kind || !v.At.Equal(raw[i].at) {
				w.fatalf("%s: Read %s in %s: version %+v, SSM has %+v", when, k.param(), k.region, v, raw[i])
			}
		}
		stack := modelStack(raw)
		if got := versionNums(h.Promoted()); !slices.Equal(got, nums(stack)) {
			w.errorf("%s: %s in %s: Promoted = versions %v, want %v", when, k.param(), k.region, got, nums(stack))
		}
		for keep := range 4 {
			want := slices.Clone(stack[len(stack)-min(keep+1, len(stack)):])
			slices.Reverse(want)
			got := h.Kept(keep)
			if !slices.Equal(versionNums(got), nums(want)) {
				w.errorf("%s: %s in %s: Kept(%d) = versions %v, want %v (Promoted newest first)", when, k.param(), k.region, keep, versionNums(got), nums(want))
			}
			if len(raw) > 0 && !slices.ContainsFunc(got, func(v Version) bool { return v.Number == raw[len(raw)-1].num }) {
				w.errorf("%s: %s in %s: Kept(%d) = versions %v lacks the head %d", when, k.param(), k.region, keep, versionNums(got), raw[len(raw)-1].num)
			}
		}
	}
}

// ---- the oracle's reading of AMIs

func (w *world) trusted(img *Image, owner string) bool {
	return slices.Contains(img.Trusted, owner)
}

// gone is whether we no longer see the AMI: deregistered, or another
// account's, disabled (which takes its launch permissions away).
func (a *amiFact) gone() bool {
	return a.state == "deregistered" || a.state == "disabled" && a.owner != ownAcct
}

// usable is whether a channel may go back to the AMI now: it exists, is
// available, not deprecated, not revoked.
func (w *world) usable(id string) bool {
	a := w.facts[id]
	return a != nil && a.state == "available" && !a.revoked
}

// ---- 1. promote

func (w *world) promote() {
	to := w.chans[w.rng.IntN(2)]
	var from *Channel
	if to.From != "" {
		from = w.chans[0]
	}
	imgs := w.imgs
	if len(imgs) > 1 && w.rng.IntN(3) == 0 {
		imgs = nil
		for _, img := range w.imgs {
			if w.rng.IntN(2) == 0 {
				imgs = append(imgs, img)
			}
		}
		if len(imgs) == 0 {
			imgs = w.imgs[:1]
		}
	}
	var names []string
	for _, img := range imgs {
		names = append(names, img.Name)
	}
	now := w.s.Now()
	w.logf("promote %v --to %s at +%s", names, to.Name, now.Sub(worldT0))
	cands, gates, wantErr := w.expectPromote(imgs, to, from, now)

	writes := w.writes()
	p, err := PlanPromote(w.ctx, imgs, to, from, now)
	if w.writes() != writes {
		w.errorf("PlanPromote changed something")
	}
	if wantErr {
		// Another account's AMI with the channel's accounts: only its owner
		// may read its launch permissions.
		if err == nil {
			w.errorf("PlanPromote: no error, want one: a candidate of another account, and the channel lists accounts")
		}
		return
	}
	if err != nil {
		w.fatalf("PlanPromote: %v", err)
	}
	ok := true
	for _, img := range imgs {
		got := map[string]bool{}
		for _, f := range p.Failures {
			if f.Image == img.Name {
				got[f.Gate] = true
			}
		}
		if want := gates[img.Name]; !mapsEqual(got, want) {
			w.errorf("promote to %s: image %s: gates that do not hold %v, want %v; failures: %v", to.Name, img.Name, sortedKeys(got), sortedKeys(want), p.Failures)
		}
		ok = ok && len(gates[img.Name]) == 0
	}
	if !ok {
		if len(p.Failures) == 0 {
			w.fatalf("promote to %s would write though gates do not hold: %v", to.Name, gates)
		}
		return // the command stops here, having written nothing
	}
	if len(p.Failures) > 0 {
		w.fatalf("promote to %s: failures %v, though every gate holds", to.Name, p.Failures)
	}
	got := map[pkey]string{}
	for _, m := range p.Moves {
		got[pkey{m.Image, m.Channel, m.Region}] = m.AMI
		if a := w.facts[m.AMI]; a == nil || m.Fingerprint != a.fp || m.Kind != KindPromote {
			w.errorf("promote to %s: move %s %s: %s fingerprint %q kind %q, want a promotion of the AMI's fingerprint", to.Name, m.Image, m.Region, m.AMI, m.Fingerprint, m.Kind)
		}
	}
	if !mapsEqual(got, cands) {
		w.fatalf("promote to %s: moves %v, want %v", to.Name, got, cands)
	}
	before := map[pkey][]mver{}
	for k := range cands {
		before[k] = w.history(k)
	}
	if !w.apply(p.Moves, "promote") {
		// After a failure, the command run again without a fault.
		p, err = PlanPromote(w.ctx, imgs, to, from, now)
		if err != nil || len(p.Failures) > 0 {
			w.fatalf("promote again after a failed write: %v %v", err, p.Failures)
		}
		w.mustApply(p.Moves, "promote, again")
	}
	for k, ami := range cands {
		h := w.history(k)
		head := h[len(h)-1]
		if head.ami != ami {
			w.errorf("after promote: %s in %s holds %s, want %s", k.param(), k.region, head.ami, ami)
			continue
		}
		if b := before[k]; len(b) > 0 && b[len(b)-1].ami == ami {
			if head.num != b[len(b)-1].num {
				w.errorf("after promote: %s in %s held %s already, yet was written (version %d)", k.param(), k.region, ami, head.num)
			}
			continue
		}
		a := w.facts[ami]
		if w.unrestored[k] {
			continue // the failed run's version stays; the rerun leaves it
		}
		if head.kind != "promote" || !strings.Contains(head.desc, "fp="+a.fp) || a.fp != "" && !slices.Contains(head.labels, "fp-"+a.fp) {
			w.errorf("after promote: %s in %s: head %+v, want a promotion of fp %s labelled fp-%s", k.param(), k.region, head, a.fp, a.fp)
		}
	}
	// A rerun writes nothing.
	p, err = PlanPromote(w.ctx, imgs, to, from, now)
	if err != nil || len(p.Failures) > 0 {
		w.fatalf("promote rerun: %v %v", err, p.Failures)
	}
	puts := w.s.CallCount("PutParameter")
	if err := (&Writer{Timeout: 100 * time.Millisecond, Poll: time.Millisecond}).Apply(w.ctx, p.Moves); err != nil {
		w.fatalf("promote rerun: %v", err)
	}
	if n := w.s.CallCount("PutParameter") - puts; n != 0 {
		w.errorf("promote rerun wrote %d versions, want none", n)
	}
}

// expectPromote is the oracle's promotion: the candidate of each
// parameter, the gates that do not hold per image, and whether PlanPromote
// cannot read what it needs (never, since another trusted account's AMI
// fails the shared gate instead of reading its launch permissions).
func (w *world) expectPromote(imgs []*Image, to, from *Channel, now time.Time) (map[pkey]string, map[string]map[string]bool, bool) {
	cands := map[pkey]string{}
	gates := map[string]map[string]bool{}
	wantErr := false
	for _, img := range imgs {
		g := map[string]bool{}
		gates[img.Name] = g
		fps := map[string]bool{}
		for _, r := range img.Regions {
			var cand string
			var fromHist []mver
			if from == nil {
				if cand = img.Current[r]; cand == "" {
					g["baked"] = true
					continue
				}
			} else {
				if fromHist = w.history(pkey{img.Name, from.Name, r}); len(fromHist) == 0 {
					g["from"] = true
					continue
				}
				cand = fromHist[len(fromHist)-1].ami
			}
			cands[pkey{img.Name, to.Name, r}] = cand
			a := w.facts[cand]
			if a == nil || a.gone() {
				g["available"] = true
				continue
			}
			if a.state != "available" {
				g["available"] = true
			}
			if a.revoked {
				g["revoked"] = true
			}
			if !w.trusted(img, a.owner) {
				g["owner"] = true
			}
			if a.fp == "" {
				g["fingerprint"] = true
			} else {
				fps[a.fp] = true
			}
			if from != nil && to.Soak > 0 && now.Sub(heldSince(fromHist)) < to.Soak {
				g["soak"] = true
			}
			if len(to.Accounts) > 0 {
				switch {
				case !w.trusted(img, a.owner):
					// The owner gate holds it back; its sharing is not read.
				case a.owner != ownAcct:
					g["shared"] = true // only its owner could read its launch permissions
				case !a.public && slices.ContainsFunc(to.Accounts, func(acct string) bool { return !slices.Contains(a.shared, acct) }):
					g["shared"] = true
				}
			}
		}
		if len(fps) > 1 {
			g["fingerprint"] = true
		}
		if c, ok := cands[pkey{img.Name, to.Name, img.Regions[0]}]; ok {
			if a := w.facts[c]; a != nil && !a.gone() {
				for _, tn := range to.Requires {
					if res := a.tests[tn]; res.result != "pass" || res.fp != img.Tests[tn] {
						g["test "+tn] = true
					}
				}
			}
		}
	}
	return cands, gates, wantErr
}

// ---- 2. all or nothing

// apply applies moves, with a fault on one write now and then, and checks
// all or nothing: after a failure every parameter is as it was. It
// reports whether the moves were applied.
func (w *world) apply(moves []*Move, what string) bool {
	w.t.Helper()
	writes := 0
	for _, m := range moves {
		if h := w.history(pkey{m.Image, m.Channel, m.Region}); len(h) == 0 || h[len(h)-1].ami != m.AMI {
			writes++
		}
	}
	if writes == 0 || w.rng.IntN(2) > 0 {
		w.mustApply(moves, what)
		return true
	}
	action := []string{"PutParameter", "LabelParameterVersion", "GetParameter"}[w.rng.IntN(3)]
	skip := w.rng.IntN(writes)
	before := w.values()
	w.s.SetFaults(awsemu.Faults{Rate: 1, Codes: []string{"AccessDeniedException"}, Actions: []string{action}, Skip: skip, Times: 1})
	err := (&Writer{Timeout: 100 * time.Millisecond, Poll: time.Millisecond}).Apply(w.ctx, moves)
	w.s.SetFaults(awsemu.Faults{})
	w.logf("%s: %d writes, a fault on %s after %d: %v", what, writes, action, skip, err)
	if err == nil {
		w.checkHeads(moves, what)
		return true
	}
	after := w.values()
	for k, was := range before {
		if after[k] == was {
			continue
		}
		// SSM cannot take back an AMI that is gone: the error must say so.
		if a := w.facts[was]; a != nil && a.gone() &&
			strings.Contains(err.Error(), "putting back SSM parameter "+k.param()+" in "+k.region) {
			w.unrestored[k] = true
			continue
		}
		w.errorf("%s failed (%v), and %s in %s holds %q, not %q as before", what, err, k.param(), k.region, after[k], was)
	}
	return false
}

func (w *world) mustApply(moves []*Move, what string) {
	w.t.Helper()
	if err := (&Writer{Timeout: 100 * time.Millisecond, Poll: time.Millisecond}).Apply(w.ctx, moves); err != nil {
		w.fatalf("%s: %v", what, err)
	}
	w.checkHeads(moves, what)
}

func (w *world) checkHeads(moves []*Move, what string) {
	w.t.Helper()
	for _, m := range moves {
		k := pkey{m.Image, m.Channel, m.Region}
		if got := w.value(k); got != m.AMI {
			w.errorf("after %s: %s in %s holds %q, want %s", what, k.param(), k.region, got, m.AMI)
		}
	}
}

// ---- 3. rollback

func (w *world) rollback() {
	img := w.imgs[w.rng.IntN(len(w.imgs))]
	ch := w.chans[w.rng.IntN(len(w.chans))]
	now := w.s.Now()
	w.logf("rollback %s --channel %s at +%s", img.Name, ch.Name, now.Sub(worldT0))
	want := map[string]string{}
	nothing := false
	for _, r := range img.Regions {
		k := pkey{img.Name, ch.Name, r}
		t, ok := w.expectRollback(k, nil)
		if !ok {
			nothing = true
		}
		want[r] = t
	}
	writes := w.writes()
	moves, err := PlanRollback(w.ctx, img, ch, nil, now)
	if w.writes() != writes {
		w.errorf("PlanRollback changed something")
	}
	if nothing {
		if !errors.Is(err, ErrNothingEarlier) || len(moves) > 0 {
			w.errorf("rollback %s %s: %d moves, error %v; want ErrNothingEarlier (want %v)", img.Name, ch.Name, len(moves), err, want)
		}
		return
	}
	if err != nil {
		w.fatalf("rollback %s %s: %v (want %v)", img.Name, ch.Name, err, want)
	}
	got := map[string]string{}
	for _, m := range moves {
		got[m.Region] = m.AMI
		if m.Kind != KindRollback {
			w.errorf("rollback %s %s: move of kind %q", img.Name, ch.Name, m.Kind)
		}
	}
	if !mapsEqual(got, want) {
		w.fatalf("rollback %s %s: moves to %v, want %v", img.Name, ch.Name, got, want)
	}
	w.apply(moves, "rollback")
}

// expectRollback is where the channel goes back to: the newest entry of
// the promotions in effect below the head that is usable, not the head's
// AMI and not avoided; false when there is none.
func (w *world) expectRollback(k pkey, avoid map[string]bool) (string, bool) {
	h := w.history(k)
	if len(h) == 0 {
		return "", false
	}
	head := h[len(h)-1].ami
	stack := modelStack(h)
	for i := len(stack) - 2; i >= 0; i-- {
		if a := stack[i].ami; a != head && !avoid[a] && w.usable(a) {
			return a, true
		}
	}
	return "", false
}

// ---- 4. revoke

func (w *world) revoke() {
	target := "unknown.d0.000000"
	switch n := w.rng.IntN(10); {
	case len(w.order) == 0:
	case n < 4: // what a channel holds
		k := w.keys()[w.rng.IntN(len(w.keys()))]
		if target = w.value(k); target == "" {
			target = w.order[w.rng.IntN(len(w.order))].id
		}
	case n < 5:
		target = w.order[w.rng.IntN(len(w.order))].id
	case n < 7: // a parent
		var parents []string
		for _, a := range w.order {
			if a.parent != "" {
				parents = append(parents, a.parent)
			}
		}
		if len(parents) > 0 {
			target = parents[w.rng.IntN(len(parents))]
		}
	case n < 9:
		img := w.imgs[w.rng.IntN(len(w.imgs))]
		target = w.defs[img.Name][w.rng.IntN(len(w.defs[img.Name]))]
	}
	now := w.s.Now()
	w.logf("revoke %s at +%s", target, now.Sub(worldT0))
	revoked := w.expectRevoke(target)
	writes := w.writes()
	rv, err := PlanRevoke(w.ctx, w.imgs, w.chans, []string{target}, now)
	if w.writes() != writes {
		w.errorf("PlanRevoke changed something")
	}
	if len(revoked) == 0 {
		if err == nil {
			w.errorf("revoke %s: no error, yet no AMI of the project has it; plan %+v", target, rv.AMIs)
		}
		return
	}
	if err != nil {
		w.fatalf("revoke %s: %v (want %v)", target, err, sortedKeys(revoked))
	}
	got := map[string]bool{}
	for _, r := range rv.AMIs {
		got[r.AMI] = true
	}
	if !mapsEqual(got, revoked) {
		w.errorf("revoke %s takes back %v, want %v", target, sortedKeys(got), sortedKeys(revoked))
	}
	wantMoves, wantFails := map[pkey]string{}, map[pkey]bool{}
	for _, k := range w.keys() {
		h := w.history(k)
		if len(h) == 0 || !revoked[h[len(h)-1].ami] {
			continue
		}
		if t, ok := w.expectRollback(k, revoked); ok {
			wantMoves[k] = t
		} else {
			wantFails[k] = true
		}
	}
	gotMoves, gotFails := map[pkey]string{}, map[pkey]bool{}
	for _, m := range rv.Moves {
		gotMoves[pkey{m.Image, m.Channel, m.Region}] = m.AMI
	}
	for _, f := range rv.Failures {
		gotFails[pkey{f.Image, strings.TrimPrefix(f.Gate, "channel "), f.Region}] = true
	}
	if !mapsEqual(gotFails, wantFails) {
		w.errorf("revoke %s: channels with nothing earlier %v, want %v", target, gotFails, wantFails)
	}
	if len(wantFails) > 0 {
		if len(rv.Failures) == 0 {
			w.fatalf("revoke %s would go ahead though channels %v have nothing earlier", target, wantFails)
		}
		return // the command stops here: nothing changed (PlanRevoke wrote nothing)
	}
	if !mapsEqual(gotMoves, wantMoves) {
		w.fatalf("revoke %s: moves %v, want %v", target, gotMoves, wantMoves)
	}
	tagged := w.revokedTags()
	if !w.apply(rv.Moves, "revoke") {
		if after := w.revokedTags(); !mapsEqual(after, tagged) {
			w.errorf("revoke %s: the channel moves failed, yet AMIs were tagged revoked", target)
		}
		return // the command stops here
	}
	err = Revoke(w.ctx, w.imgs, rv.AMIs, now)
	w.checkRevokeErr(err)
	after := w.revokedTags()
	for id := range revoked {
		if !after[id] {
			w.errorf("revoke %s: %s is not tagged %s", target, id, TagRevoked)
		}
		w.facts[id].revoked = true
	}
	for id := range after {
		if !revoked[id] && !tagged[id] {
			w.errorf("revoke %s: %s was tagged revoked, yet it is neither of the fingerprint nor a descendant", target, id)
		}
	}
	for _, k := range w.keys() {
		if v := w.value(k); revoked[v] {
			w.errorf("revoke %s: %s in %s still holds %s", target, k.param(), k.region, v)
		}
	}
	w.checkDeprecated(revoked, now)
	// Again: nothing to do.
	rv, err = PlanRevoke(w.ctx, w.imgs, w.chans, []string{target}, now)
	if err != nil || len(rv.Moves)+len(rv.Failures) > 0 {
		w.fatalf("revoke %s again: %v, %d moves, failures %v", target, err, len(rv.Moves), rv.Failures)
	}
	tags := w.s.CallCount("CreateTags")
	w.checkRevokeErr(Revoke(w.ctx, w.imgs, rv.AMIs, now))
	if n := w.s.CallCount("CreateTags") - tags; n != 0 {
		w.errorf("revoke %s again tagged %d AMIs", target, n)
	}
}

// expectRevoke is what revoking target takes back: every AMI of its
// fingerprint (an AMI stands for its own) in its image's regions, and
// every AMI of a child image built from one taken back (its parent-ami
// names it), and so on. Only AMIs that exist, of a trusted owner, of the
// image (its image tag names it, or it has none).
func (w *world) expectRevoke(target string) map[string]bool {
	of := func(a *amiFact, img *Image) bool {
		return !a.gone() && w.trusted(img, a.owner) && (a.imageTag == "" || a.imageTag == img.Name) &&
			slices.Contains(img.Regions, a.region)
	}
	type tgt struct {
		img *Image
		fp  string
	}
	var tgts []tgt
	if !strings.HasPrefix(target, "ami-") {
		for _, img := range w.imgs {
			tgts = append(tgts, tgt{img, target})
		}
	} else if a := w.facts[target]; a != nil && a.fp != "" {
		for _, img := range w.imgs {
			if of(a, img) {
				tgts = append(tgts, tgt{img, a.fp})
			}
		}
	}
	out := map[string]bool{}
	for _, t := range tgts {
		for _, a := range w.order {
			if a.fp == t.fp && of(a, t.img) {
				out[a.id] = true
			}
		}
	}
	for grew := true; grew; {
		grew = false
		for _, img := range w.imgs {
			if img.Parent == "" {
				continue
			}
			for _, a := range w.order {
				if p := w.facts[a.parent]; !out[a.id] && p != nil && out[p.id] && p.region == a.region && of(a, img) {
					out[a.id], grew = true, true
				}
			}
		}
	}
	return out
}

// revokedTags are the AMIs we see tagged revoked.
func (w *world) revokedTags() map[string]bool {
	out := map[string]bool{}
	for _, r := range w.regions {
		page, err := w.ec2(ownAcct, r).DescribeImages(w.ctx, &ec2.DescribeImagesInput{Owners: []string{ownAcct, trustedAcct, strangerAcct},
			IncludeDeprecated: aws.Bool(true), IncludeDisabled: aws.Bool(true)})
		if err != nil {
			w.fatalf("oracle describing images: %v", err)
		}
		for _, im := range page.Images {
			for _, t := range im.Tags {
				if aws.ToString(t.Key) == TagRevoked {
					out[aws.ToString(im.ImageId)] = true
				}
			}
		}
	}
	return out
}

// checkDeprecated checks that our own revoked AMIs are deprecated from a
// minute on at the latest.
func (w *world) checkDeprecated(revoked map[string]bool, now time.Time) {
	for id := range revoked {
		a := w.facts[id]
		if a.owner != ownAcct {
			continue
		}
		im, ok := w.s.Image(id)
		if !ok || im.DeprecationTime.IsZero() || im.DeprecationTime.After(now.Add(time.Minute)) {
			w.errorf("revoked %s is not deprecated (deprecation time %v)", id, im.DeprecationTime)
		}
	}
}

// checkRevokeErr accepts only what EC2 refuses: deprecating another
// account's AMI.
func (w *world) checkRevokeErr(err error) {
	w.t.Helper()
	if err == nil {
		return
	}
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		ok := false
		for _, a := range w.order {
			if a.owner != ownAcct && strings.HasPrefix(e.Error(), "deprecating "+a.id+" ") {
				ok = true
			}
		}
		if !ok {
			w.errorf("Revoke: %v", e)
		}
	}
}

// ---- helpers and the report

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	var out []K
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// dump is the world, compactly: AMIs by alias, channel histories as made,
// and what the test did.
func (w *world) dump() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bad %.2f, regions %v\n", w.bad, w.regions)
	for _, img := range w.imgs {
		fmt.Fprintf(&b, "image %s parent %q regions %v defs %v tests %v current %s\n", img.Name, img.Parent, img.Regions, w.defs[img.Name], img.Tests, w.names(fmt.Sprint(img.Current)))
	}
	for _, c := range w.chans {
		fmt.Fprintf(&b, "channel %s from %q soak %s requires %v accounts %v keep %d\n", c.Name, c.From, c.Soak, c.Requires, c.Accounts, c.Keep)
	}
	for _, a := range w.order {
		owner := map[string]string{ownAcct: "own", trustedAcct: "trusted", strangerAcct: "stranger"}[a.owner]
		fmt.Fprintf(&b, "  %s %s %s %s def=%s fp=%q imagetag=%q parent=%s %s", a.alias, a.id, a.region, owner, a.def, a.fp, a.imageTag, w.names(a.parent), a.state)
		if a.laterDeprecated {
			b.WriteString(" deprecated-later")
		}
		if a.revoked {
			b.WriteString(" revoked")
		}
		fmt.Fprintf(&b, " tests=%v shared=%v public=%t\n", a.tests, a.shared, a.public)
	}
	for _, k := range sortedPkeys(w.mirror) {
		fmt.Fprintf(&b, "  %s %s %s:", k.image, k.channel, k.region)
		vs := w.mirror[k]
		if len(vs) > 12 {
			fmt.Fprintf(&b, " (%d more)", len(vs)-12)
			vs = vs[len(vs)-12:]
		}
		for _, v := range vs {
			kind := map[string]string{"promote": "p", "rollback": "r", "": "o"}[v.kind]
			fmt.Fprintf(&b, " %d:%s%s@%s", v.num, w.names(v.ami), kind, v.at.Sub(worldT0))
		}
		b.WriteString("\n")
	}
	for _, s := range w.story {
		b.WriteString(w.names(s) + "\n")
	}
	return b.String()
}

func sortedPkeys(m map[pkey][]mver) []pkey {
	var out []pkey
	for k := range m {
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b pkey) int {
		return cmp.Or(strings.Compare(a.image, b.image), strings.Compare(a.channel, b.channel), strings.Compare(a.region, b.region))
	})
	return out
}
