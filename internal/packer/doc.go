// Package packer reads Packer templates and packer's machine-readable
// output the way packer 1.6.6, the version ami-bakery targets, writes them.
//
//   - Templates. LoadTemplate reads a legacy JSON template, an HCL2 file
//     (*.pkr.hcl, or HCL-JSON *.pkr.json), or a directory of HCL2 files,
//     deciding between them as packer 1.6.6 does, and reports the declared
//     variables and the builders it saw. It never evaluates the template: it
//     only reads what is written, so that ami-bakery can tell the user early
//     that, for example, the fingerprint variable is not declared.
//
//   - The machine-readable output. ParseMachineReadable turns the
//     `timestamp,target,type,data...` lines that `-machine-readable` prints
//     into human-readable progress lines and artifacts.
package packer
