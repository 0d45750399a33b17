package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
)

// KindBase is the Input holding the identity of the vendor image a root
// image is built from (a project's base block, --base-*): its owner and
// name, or its id when it has no name. It has no Root and the Path "image";
// its Hash is the SHA-256 of the identity, its Size the identity's length.
//
// The identity, not the id, enters the sum: a vendor publishes one release
// under one name in every region with a different id in each, so one
// release gives one fingerprint for all regions. Like KindParent it sorts
// before the files, and after KindParent ("fingerprint" < "image").
const KindBase = "base"

// withBase adds the base identity to a V2 result and sums the manifest
// again. An empty identity leaves the result as it is, so a definition
// without a base keeps its fingerprint.
func withBase(res Result, base string) Result {
	if base == "" {
		return res
	}
	h := sha256.Sum256([]byte(base))
	res.Inputs = append(res.Inputs, Input{Kind: KindBase, Path: "image", Size: int64(len(base)), Hash: hex.EncodeToString(h[:])})
	sortInputs(res.Inputs)
	res.Sum = manifestSum(res.Inputs)
	return res
}
