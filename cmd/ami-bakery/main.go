// Command ami-bakery returns the AMI for the current definition of a Packer
// image, running packer only when no AMI carries the definition's
// fingerprint. See README.md.
package main

import (
	"os"
	"runtime/debug"
)

func main() {
	crashBySignal()
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.LookupEnv))
}

// crashBySignal makes a panic or a fatal runtime error (out of memory)
// abort with SIGABRT instead of exiting with status 2, which CI reads as
// "plan --detailed-exitcode: changes pending".
func crashBySignal() { debug.SetTraceback("crash") }
