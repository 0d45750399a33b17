package packer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// This file writes the temporary copy of a template that a packer without
// skip_create_ami can run: the same template with the setting taken out of
// its amazon sources.

// skipCreateAMI is the amazon builders' setting that packer 1.6 lacks.
const skipCreateAMI = "skip_create_ami"

// CopyWithoutSkipCreateAMI writes a temporary copy of the template at path
// with skip_create_ami removed from every amazon source, for a packer whose
// amazon builders refuse the setting (KnowsSkipCreateAMI). Packer then
// makes the AMI that the template asked it not to make: the caller must
// delete what it reports (ReportedAMIs).
//
// The copy resolves every path as the original does, since packer resolves
// a template's paths from its working directory (which the caller keeps),
// {{template_dir}} and path.root from where the template is:
//
//   - a file is copied into its own directory, as a hidden file
//     (".NAME.ami-bakery-*" with the original's suffix, which tells packer
//     how to read it);
//   - a directory (HCL2) is copied as a hidden sibling directory, in which
//     each file that sets skip_create_ami is rewritten and every other
//     entry is a symbolic link to the original, so that path.root/x and
//     path.root/../x name the same files as before.
//
// It returns the path to give packer instead of path, and remove, which
// deletes the copy (and only the copy: never what a link points to); the
// caller must call it on every path once packer has exited. Everything but
// the removed settings is kept byte for byte: comments, order, formatting.
func CopyWithoutSkipCreateAMI(path string) (copyPath string, remove func() error, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return "", nil, statError(path, err)
	}
	if info.IsDir() {
		return copyDir(path)
	}
	src, err := readTemplateFile(path)
	if err != nil {
		return "", nil, err
	}
	out, err := withoutSkipCreateAMI(path, src)
	if err != nil {
		return "", nil, err
	}
	dir, base := filepath.Split(path)
	suffix := filepath.Ext(base)
	for _, s := range []string{suffixHCL, suffixHCLJSON} {
		if strings.HasSuffix(base, s) {
			suffix = s
		}
	}
	f, err := os.CreateTemp(dir, "."+strings.TrimSuffix(base, suffix)+".ami-bakery-*"+suffix)
	if err != nil {
		return "", nil, fmt.Errorf("writing a copy of %s: %w", path, err)
	}
	remove = func() error {
		if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing the temporary template %s: %w", f.Name(), err)
		}
		return nil
	}
	_, err = f.Write(out)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", nil, errors.Join(fmt.Errorf("writing a copy of %s: %w", path, err), remove())
	}
	return f.Name(), remove, nil
}

// copyDir writes the sibling copy of the HCL2 directory dir.
func copyDir(dir string) (string, func() error, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", nil, fmt.Errorf("writing a copy of %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return "", nil, readError(dir, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".ami-bakery-*")
	if err != nil {
		return "", nil, fmt.Errorf("writing a copy of %s: %w", dir, err)
	}
	remove := func() error {
		// RemoveAll removes links, never what they point to.
		if err := os.RemoveAll(tmp); err != nil {
			return fmt.Errorf("removing the temporary template directory %s: %w", tmp, err)
		}
		return nil
	}
	fail := func(err error) (string, func() error, error) {
		return "", nil, errors.Join(fmt.Errorf("writing a copy of %s: %w", dir, err), remove())
	}
	for _, e := range entries {
		orig, dst := filepath.Join(abs, e.Name()), filepath.Join(tmp, e.Name())
		// A template file is read through a link too: packer does.
		if fi, err := os.Stat(orig); err == nil && fi.Mode().IsRegular() && isHCLName(e.Name()) {
			src, err := readTemplateFile(orig)
			if err != nil {
				return fail(err)
			}
			out, err := withoutSkipCreateAMI(orig, src)
			if err != nil {
				return fail(err)
			}
			if !bytes.Equal(out, src) {
				if err := os.WriteFile(dst, out, 0o600); err != nil {
					return fail(err)
				}
				continue
			}
		}
		if err := os.Symlink(orig, dst); err != nil {
			return fail(err)
		}
	}
	return tmp, remove, nil
}

// withoutSkipCreateAMI returns the template file path's text src without
// skip_create_ami in its amazon sources, read as LoadTemplate reads it.
func withoutSkipCreateAMI(path string, src []byte) ([]byte, error) {
	var out []byte
	var err error
	switch {
	case strings.HasSuffix(path, suffixHCL):
		out, err = hclWithoutSkip(path, src)
	case strings.HasSuffix(path, suffixHCLJSON):
		// HCL2's JSON form: {"source": {"amazon-ebs": {"NAME": {...}}}},
		// any level of which may be an array of such objects.
		out, err = removeJSONMembers(src, func(path []jsonStep) bool {
			var keys []string
			for _, s := range path {
				if s.Index < 0 {
					keys = append(keys, s.Key)
				}
			}
			return len(keys) == 4 && keys[0] == "source" && strings.HasPrefix(keys[1], "amazon-") && keys[3] == skipCreateAMI
		})
	default:
		out, err = legacyJSONWithoutSkip(src)
	}
	if err != nil {
		return nil, fmt.Errorf("removing %s from %s: %w", skipCreateAMI, path, err)
	}
	return out, nil
}

// hclWithoutSkip removes the attribute from each top-level amazon source
// block, the only place packer 1.6.6 takes builder settings in HCL2: its
// line, when nothing else is on it, else the attribute alone.
func hclWithoutSkip(path string, src []byte) ([]byte, error) {
	f, diags := hclsyntax.ParseConfig(src, path, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	var spans [][2]int
	for _, b := range f.Body.(*hclsyntax.Body).Blocks {
		if b.Type != "source" || len(b.Labels) != 2 || !strings.HasPrefix(b.Labels[0], "amazon-") {
			continue
		}
		if a, ok := b.Body.Attributes[skipCreateAMI]; ok {
			spans = append(spans, lineSpan(src, a.SrcRange.Start.Byte, a.SrcRange.End.Byte))
		}
	}
	slices.SortFunc(spans, func(a, b [2]int) int { return a[0] - b[0] })
	return cut(src, spans), nil
}

// lineSpan returns [start, end) widened to its whole lines, their newline
// included, when only blanks share them.
func lineSpan(src []byte, start, end int) [2]int {
	ls := bytes.LastIndexByte(src[:start], '\n') + 1
	le := len(src)
	if i := bytes.IndexByte(src[end:], '\n'); i >= 0 {
		le = end + i + 1
	}
	if len(bytes.TrimSpace(src[ls:start])) == 0 && len(bytes.TrimSpace(src[end:le])) == 0 {
		return [2]int{ls, le}
	}
	return [2]int{start, end}
}

// cut returns src without the spans, which are sorted and do not overlap.
func cut(src []byte, spans [][2]int) []byte {
	out := make([]byte, 0, len(src))
	at := 0
	for _, c := range spans {
		out = append(out, src[at:c[0]]...)
		at = c[1]
	}
	return append(out, src[at:]...)
}

// legacyJSONWithoutSkip removes the key from each amazon builder of a
// legacy JSON template.
func legacyJSONWithoutSkip(src []byte) ([]byte, error) {
	var t struct {
		Builders []struct {
			Type any `json:"type"`
		} `json:"builders"`
	}
	if err := json.Unmarshal(src, &t); err != nil {
		return nil, err
	}
	amazon := map[int]bool{}
	for i, b := range t.Builders {
		if s, ok := b.Type.(string); ok && strings.HasPrefix(s, "amazon-") {
			amazon[i] = true
		}
	}
	return removeJSONMembers(src, func(p []jsonStep) bool {
		return len(p) == 3 && p[0] == jsonStep{"builders", -1} && p[1].Index >= 0 && amazon[p[1].Index] &&
			p[2] == jsonStep{skipCreateAMI, -1}
	})
}

// jsonStep is one step of a path into a JSON value: an object's key, or
// (Index >= 0) an array's element.
type jsonStep struct {
	Key   string
	Index int
}

// removeJSONMembers returns the JSON text src without the object members
// that drop reports true for, given their path from the top, the member's
// own key last. The rest of
// the text is kept byte for byte, so that the file still reads as written
// (HCL2's JSON form gives meaning to the order of keys).
func removeJSONMembers(src []byte, drop func(path []jsonStep) bool) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.UseNumber()
	var cuts [][2]int
	var value func(path []jsonStep) error
	value = func(path []jsonStep) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				prev := int(dec.InputOffset()) // after '{' or the previous member's value
				k, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := k.(string)
				p := append(slices.Clip(path), jsonStep{key, -1})
				if !drop(p) {
					if err := value(p); err != nil {
						return err
					}
					continue
				}
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return err
				}
				cuts = append(cuts, memberSpan(src, prev, int(dec.InputOffset())))
			}
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if err := value(append(slices.Clip(path), jsonStep{Index: i})); err != nil {
					return err
				}
			}
		default:
			return nil
		}
		_, err = dec.Token() // the closing delimiter
		return err
	}
	if err := value(nil); err != nil {
		return nil, err
	}
	return cut(src, cuts), nil
}

// memberSpan returns the bytes to cut for the object member that starts
// after offset prev (past blanks and the comma before it, if any) and
// whose value ends at end: the member and one comma next to it, so that
// the object stays valid JSON.
func memberSpan(src []byte, prev, end int) [2]int {
	start := prev + len(src[prev:]) - len(bytes.TrimLeft(src[prev:], " \t\r\n"))
	if src[start] == ',' {
		// Not the first member: cut the comma before it.
		return [2]int{start, end}
	}
	after := end + len(src[end:]) - len(bytes.TrimLeft(src[end:], " \t\r\n"))
	if after < len(src) && src[after] == ',' {
		// The first member of several: cut the comma after it, and the
		// blanks up to the next member.
		next := after + 1
		next += len(src[next:]) - len(bytes.TrimLeft(src[next:], " \t\r\n"))
		return [2]int{start, next}
	}
	return [2]int{start, end}
}
