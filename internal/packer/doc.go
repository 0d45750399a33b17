// Package packer reads Packer templates, runs `packer build` and reads its
// machine-readable output.
//
// It knows three things about Packer 1.6.6, the version ami-bakery targets:
//
//   - Templates. LoadTemplate reads a legacy JSON template, an HCL2 file
//     (*.pkr.hcl, or HCL-JSON *.pkr.json), or a directory of HCL2 files, the
//     way packer 1.6.6 decides between them, and reports the declared
//     variables and the builders it saw. It never evaluates the template: it
//     only reads what is written, so that ami-bakery can tell the user early
//     that, for example, the fingerprint variable is not declared.
//     CopyWithoutSkipCreateAMI writes the copy of a test template that a
//     packer before 1.7.0 can run (KnowsSkipCreateAMI).
//
//   - Running packer. Build, Init and InitSupported run the real binary
//     through one supervisor: without a shell, in its own process group,
//     with an explicit directory and environment. On cancellation it
//     interrupts the whole group (packer re-executes itself and runs every
//     plugin as a further process, so an interrupt sent to the first process
//     alone is ignored), allows a grace period for packer to clean up what it
//     created in the cloud, then kills the group.
//
//   - The machine-readable output. ParseMachineReadable turns the
//     `timestamp,target,type,data...` lines that `-machine-readable` prints
//     into human-readable progress lines and artifacts; ReportedAMIs lists
//     every AMI a build reported making, even one that failed.
//
// Packer's machine-readable UI cannot ask questions: in 1.6.6 the pauses of
// -debug return at once and -on-error=ask answers its own question with
// "abort". Build passes the options through regardless, since that is what
// the user asked packer for, but gives packer no terminal to read.
package packer
