// Command ami-bakery returns the AMI for the current definition of a Packer
// image, running packer only when no AMI carries the definition's
// fingerprint. See README.md.
package main

import (
	"os"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}
