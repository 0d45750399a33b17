package packer

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// This file reads one template file from disk, refusing what is no template
// before any parser sees it.

// MaxTemplateSize is the largest template file LoadTemplate reads, per file.
// Packer templates are small text files; a bigger one is a wrong path (an
// image, a log), and reading it would cost memory for nothing.
const MaxTemplateSize = 10 << 20

// utf8BOM is the byte order mark some Windows editors put at a file's start.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// readTemplateFile reads one template file: a regular file (never a fifo,
// which would block, or a device, which may never end), at most
// MaxTemplateSize bytes, holding text (no NUL byte). Memory stays bounded
// by the cap whatever the file is.
func readTemplateFile(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, statError(path, err)
	}
	if err := checkRegular(path, info); err != nil {
		return nil, err
	}
	// O_NONBLOCK: should a fifo replace the file between Stat and Open,
	// opening it still does not wait for a writer.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, readError(path, err)
	}
	defer f.Close()
	if info, err = f.Stat(); err != nil {
		return nil, readError(path, err)
	}
	if err := checkRegular(path, info); err != nil {
		return nil, err
	}
	src, err := io.ReadAll(io.LimitReader(f, MaxTemplateSize+1))
	if err != nil {
		return nil, readError(path, err)
	}
	if len(src) > MaxTemplateSize {
		return nil, tooBig(path)
	}
	if i := bytes.IndexByte(src, 0); i >= 0 {
		return nil, usererr.WithHint(fmt.Errorf("reading template %s: it is a binary file, not text (a NUL byte at offset %d)", path, i),
			"check the template path: a template is a JSON or HCL2 text file")
	}
	return src, nil
}

// checkRegular refuses anything but a regular file, saying what it is.
func checkRegular(path string, info fs.FileInfo) error {
	m := info.Mode()
	if m.IsRegular() {
		if info.Size() > MaxTemplateSize {
			return tooBig(path)
		}
		return nil
	}
	kind := "not a regular file"
	switch {
	case m&fs.ModeNamedPipe != 0:
		kind = "a fifo (named pipe), not a regular file"
	case m&fs.ModeSocket != 0:
		kind = "a socket, not a regular file"
	case m&fs.ModeDevice != 0:
		kind = "a device, not a regular file"
	case m.IsDir():
		kind = "a directory"
	}
	return usererr.WithHint(fmt.Errorf("reading template %s: it is %s", path, kind),
		"a template is a regular file (JSON, .pkr.hcl or .pkr.json) or a directory of .pkr.hcl files")
}

func tooBig(path string) error {
	return usererr.WithHint(fmt.Errorf("reading template %s: it is larger than %d MiB", path, MaxTemplateSize>>20),
		"check the template path: packer templates are small text files")
}

// checkUTF8 refuses text that is not UTF-8, naming the line: HCL2 is
// UTF-8 only. (Legacy JSON templates are not checked: packer 1.6.6 reads
// Latin-1 text in their strings.)
func checkUTF8(path string, src []byte) error {
	if utf8.Valid(src) {
		return nil
	}
	line := 1
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		if r == '\n' {
			line++
		}
		i += n
	}
	return usererr.WithHint(fmt.Errorf("reading template %s:%d: invalid UTF-8", path, line),
		"HCL2 templates must be UTF-8; re-save the file as UTF-8")
}

// bomError names a byte order mark at the start of a JSON template, which
// packer 1.6.6 refuses ("invalid character 'ï' looking for beginning of
// value"); ami-bakery refuses it too, so that it never fingerprints and
// looks up a template that packer cannot build.
func bomError(path string) error {
	return usererr.WithHint(fmt.Errorf("reading template %s: it starts with a UTF-8 byte order mark (BOM), which packer refuses in JSON templates", path),
		"re-save the file as UTF-8 without a BOM")
}

// CheckTemplate applies LoadTemplate's file checks to the template at path
// (each *.pkr.hcl and *.pkr.json file of a directory) without parsing it:
// for commands that read the template's bytes but do not need its meaning
// (checksum), so that they refuse the same files as bake and plan.
func CheckTemplate(path string) error {
	info, err := os.Stat(path)
	if err != nil {
		return statError(path, err)
	}
	if !info.IsDir() {
		_, err := readTemplateFile(path)
		return err
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return readError(path, err)
	}
	for _, e := range entries {
		if isHCLName(e.Name()) && !e.IsDir() {
			if _, err := readTemplateFile(filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func isHCLName(name string) bool {
	return strings.HasSuffix(name, suffixHCL) || strings.HasSuffix(name, suffixHCLJSON)
}
