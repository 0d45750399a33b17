package packer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Templates that are no templates are refused quickly, with an error that
// says what the file is, by every way of loading a template.
func TestLoadTemplateRefusesNonText(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	hclFifoDir := filepath.Join(dir, "hcldir")
	os.Mkdir(hclFifoDir, 0o755)
	os.WriteFile(filepath.Join(hclFifoDir, "a.pkr.hcl"), []byte(hclAmazon), 0o644)
	if err := syscall.Mkfifo(filepath.Join(hclFifoDir, "b.pkr.hcl"), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	f, _ := os.Create(huge)
	f.Truncate(MaxTemplateSize + 1) // sparse: no disk used
	f.Close()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	binary := write("bin.json", append([]byte(`{"builders": [`), 0, 1, 2))
	latin1HCL := write("l.pkr.hcl", []byte("# caf\xe9\n"+hclAmazon))
	bomJSON := write("bom.json", append(bytes.Clone(utf8BOM), jsonAmazon...))
	bomHCLJSON := write("bom.pkr.json", append(bytes.Clone(utf8BOM), `{"source": {"amazon-ebs": {"x": {}}}}`...))

	for _, tc := range []struct{ path, want string }{
		{fifo, "is a fifo (named pipe), not a regular file"},
		{hclFifoDir, "b.pkr.hcl: it is a fifo"},
		{"/dev/zero", "is a device, not a regular file"},
		{huge, "is larger than 10 MiB"},
		{binary, "is a binary file, not text (a NUL byte at offset 14)"},
		{latin1HCL, "l.pkr.hcl:1: invalid UTF-8"},
		{bomJSON, "starts with a UTF-8 byte order mark (BOM)"},
		{bomHCLJSON, "starts with a UTF-8 byte order mark (BOM)"},
	} {
		done := make(chan error, 1)
		go func() { _, err := LoadTemplate(tc.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadTemplate(%s) = %v, want an error containing %q", tc.path, err, tc.want)
			}
		case <-time.After(30 * time.Second): // generous: it must only not block
			t.Fatalf("LoadTemplate(%s) blocked", tc.path)
		}
	}
}

// packer 1.6.6 reads a .pkr.hcl file that starts with a BOM, and a legacy
// JSON template with Latin-1 text in a string; so does LoadTemplate.
func TestLoadTemplateAcceptsWhatPackerAccepts(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string][]byte{
		"bom.pkr.hcl": append(bytes.Clone(utf8BOM), hclAmazon...),
		"latin1.json": []byte(strings.Replace(jsonAmazon, `"type": "null"`, "\"description\": \"caf\xe9\", \"type\": \"null\"", 1)),
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, src, 0o644)
		if _, err := LoadTemplate(p); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
