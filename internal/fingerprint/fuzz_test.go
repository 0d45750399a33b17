package fingerprint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzNames are the paths a generated tree picks from: nested, hidden,
// ignored, non-UTF-8 and awkward (a newline, a comma, a colon) names.
var fuzzNames = []string{
	"a", "b", "A", "a.sh", "d/a", "d/b", "d/e/c", "d/e/.c", "\xff", "\xc3\xa9",
	".hidden", ".git/config", "x y", "n\nl", "1:x,", ".bakeryignore", "d/.git", "z.log",
}

// fuzzTree turns data into files: each file takes three bytes (name, mode
// and content length) and then its content. Later files with a taken name
// or a name that clashes with a directory are dropped.
func fuzzTree(data []byte) map[string]string {
	files := map[string]string{}
	dirs := map[string]bool{}
	for len(data) >= 3 && len(files) < 12 {
		name := fuzzNames[int(data[0])%len(fuzzNames)]
		exec := data[1]&1 == 1
		n := min(int(data[2])%64, len(data)-3)
		body := string(data[3 : 3+n])
		data = data[3+n:]
		if name == ".bakeryignore" {
			exec = false
		}
		clash := dirs[name]
		for i := range name {
			if name[i] == '/' {
				if _, ok := files[name[:i]]; ok {
					clash = true
				}
			}
		}
		if _, ok := files[name]; ok || clash {
			continue
		}
		for i := range name {
			if name[i] == '/' {
				dirs[name[:i]] = true
			}
		}
		key := name
		if exec {
			key += "*"
		}
		files[key] = body
	}
	return files
}

func FuzzFingerprintTree(f *testing.F) {
	f.Add([]byte("\x00\x00\x03abc\x01\x01\x02hi"))
	f.Add([]byte("\x04\x00\x05hello\x06\x01\x00\x0f\x00\x04*.sh\n\x0d\x00\x01z"))
	f.Add([]byte("\x08\x00\x01x\x09\x01\x01y\x0c\x00\x00\x0b\x00\x02gg"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tree := fuzzTree(data)
		root := t.TempDir()
		writeTree(t, root, tree)
		for _, alg := range []Algorithm{V2, V1} {
			spec := Spec{Algorithm: alg, Dirs: []string{root}, Workers: 1}
			first, err := Compute(context.Background(), spec)
			if err != nil {
				if strings.Contains(err.Error(), "no files to fingerprint") {
					continue // everything left out: an error, never an empty sum
				}
				t.Fatalf("%s: %v", alg, err)
			}
			again := compute(t, spec)
			spec.Workers = 4
			parallel := compute(t, spec)
			if first.Sum != again.Sum || first.Sum != parallel.Sum {
				t.Fatalf("%s: sums differ: %s, %s, %s (4 workers)", alg, first.Sum, again.Sum, parallel.Sum)
			}

			// Change one byte of the content of the first file hashed.
			var in *Input
			for i := range first.Inputs {
				if first.Inputs[i].Kind == KindFile {
					in = &first.Inputs[i]
					break
				}
			}
			p := filepath.Join(root, filepath.FromSlash(in.Path))
			old, err := os.ReadFile(p)
			mustDo(t, err)
			changed := append([]byte("!"), old...)
			if len(old) > 0 {
				changed = append([]byte{old[0] ^ 1}, old[1:]...)
			}
			mustDo(t, os.WriteFile(p, changed, 0o644))
			after, err := Compute(context.Background(), spec)
			if err == nil && after.Sum == first.Sum {
				t.Fatalf("%s: changing %q left the sum at %s", alg, in.Path, first.Sum)
			}
			if err != nil && !strings.Contains(err.Error(), "no files to fingerprint") {
				t.Fatalf("%s after changing %q: %v", alg, in.Path, err)
			}
			mustDo(t, os.WriteFile(p, old, 0o644))
		}
	})
}
