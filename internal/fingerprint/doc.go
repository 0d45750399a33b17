// Package fingerprint computes a deterministic fingerprint of an AMI
// definition: a packer template, the directories it uses, its -var-file
// files and its -var values. Two definitions that would bake the same AMI
// get the same fingerprint on any machine and in any checkout location; a
// change to anything that shapes the AMI changes it.
//
// The package is pure: it reads files and nothing else (no AWS, no
// subprocesses). Files are streamed through a bounded pool of hashing
// workers, so memory stays flat however large the tree is.
//
// Two algorithms exist. V2, the default, is described on Compute; its
// manifest format is documented in manifest.go. V1 reproduces, bit for bit,
// the checksum of the original Python ami-bakery (2019) so that AMIs it
// tagged can still be found; v1.go says what it did and where this differs
// (only on inputs where the original hung, crashed or ignored an error).
package fingerprint
