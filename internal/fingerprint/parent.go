package fingerprint

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
)

// KindParent is the Input holding the parent image's fingerprint (a
// project's parent = "..."). It has no Root and the Path "fingerprint",
// and its Hash is the parent's sum.
//
// Where it sorts: kindRank puts it with the files and symlinks, and its
// empty Root sorts it before them, since every root label is at least ".".
// The manifest line names its kind, so no file can be mistaken for it.
const KindParent = "parent"

var errParentV1 = errors.New("a parent fingerprint or a base image needs the v2 algorithm; v1 has no place for them")

// sumV2 is compiled on first use, as every regexp of the binary: {64}
// compiles to 64 states, 18 kB that every run would pay at start.
var sumV2 = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9a-f]{64}$`) })

// withParent adds the parent's fingerprint to a V2 result and sums the
// manifest again. An empty parent leaves the result as it is, so a
// definition without a parent keeps its fingerprint.
func withParent(res Result, parent string) (Result, error) {
	if parent == "" {
		return res, nil
	}
	if !sumV2().MatchString(parent) {
		return Result{}, fmt.Errorf("adding the parent fingerprint %q: not a v2 fingerprint (64 lowercase hex digits)", parent)
	}
	res.Inputs = append(res.Inputs, Input{Kind: KindParent, Path: "fingerprint", Size: int64(len(parent)), Hash: parent})
	sortInputs(res.Inputs)
	res.Sum = manifestSum(res.Inputs)
	return res, nil
}
