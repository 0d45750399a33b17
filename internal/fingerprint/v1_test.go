package fingerprint

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ami-bakery/ami-bakery/internal/usererr"
)

// v1Tree is the tree behind the v1 vectors. The expected sums were computed
// outside Go, in a shell, from the same tree:
//
//	mkdir -p ami/packer ami/scripts ami/.cache base u
//	printf '{}\n' > ami/packer/ami.json
//	printf 'echo a\n' > ami/scripts/a.sh; chmod +x ami/scripts/a.sh
//	printf 'secret\n' > ami/scripts/.hidden
//	printf 'cached\n' > ami/.cache/b.txt
//	printf 'zed\n' > ami/Z.txt
//	printf 'x\n' > base/x
//	printf 'e\n' > "base/$(printf '\xc3\xa9').txt"
//	printf 'a\n' > u/a
//	printf 'ff\n' > "u/$(printf '\xff')"
//	printf 'e000\n' > "u/$(printf '\xee\x80\x80')"
//
// Vector 1, directories "ami" and "base/", with coreutils (hidden files
// left out, hidden directories walked, paths sorted by byte):
//
//	find ami base/ -type f ! -name '.*' | LC_ALL=C sort |
//	  while read -r f; do sha1sum "$f" | cut -c1-40; done | tr -d '\n' | sha1sum
//	# bfbdbb4f27de1240e2ed04ed40fc14feb753601b
//
// and the same with Python's os.walk, as the original did:
//
//	python3 -c "import hashlib,os;p=sorted(os.path.join(r,n) for d in ['ami','base/']
//	  for r,_,fs in os.walk(d) for n in fs if n[0]!='.');
//	  print(hashlib.sha1(''.join(hashlib.sha1(open(x,'rb').read()).hexdigest() for x in p).encode()).hexdigest())"
//	# bfbdbb4f27de1240e2ed04ed40fc14feb753601b
//
// Vector 2, directory "u", whose names are not all valid UTF-8, sorted by
// byte as the original's Python 3.5 without a locale did (emulated here with
// bytes paths, os.walk(b'u') and n[:1]!=b'.'), and as the find pipeline
// above does:
//
//	# 41f640f19586c31dcbc704296e33635b80ef63eb
//
// (A modern Python under a UTF-8 locale sorts "u/\xff" as U+DCFF before
// "u/\ue000" and gets 38081c1e83aa87efb76d7b85b063a3595d1dd187; the
// original could not have produced that.)
var v1Tree = map[string]string{
	"ami/packer/ami.json":      "{}\n",
	"ami/scripts/a.sh*":        "echo a\n",
	"ami/scripts/.hidden":      "secret\n",
	"ami/.cache/b.txt":         "cached\n",
	"ami/Z.txt":                "zed\n",
	"base/x":                   "x\n",
	"base/\xc3\xa9.txt":        "e\n",
	"u/a":                      "a\n",
	"u/\xff":                   "ff\n",
	"u/\xee\x80\x80":           "e000\n",
	"packer-outside/t.json":    "{}\n",
	"ami/scripts/.hidden-dir/": "",
}

func TestV1Vectors(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, v1Tree)
	t.Chdir(root) // the original joined paths as given: relative ones here
	tests := []struct {
		name string
		spec Spec
		want string
	}{
		{"vector 1", Spec{Dirs: []string{"ami", "base/"}}, "bfbdbb4f27de1240e2ed04ed40fc14feb753601b"},
		{"vector 1, dirs swapped", Spec{Dirs: []string{"base/", "ami"}}, "bfbdbb4f27de1240e2ed04ed40fc14feb753601b"},
		{"vector 1, template outside is ignored", Spec{Dirs: []string{"ami", "base/"}, Template: "packer-outside/t.json", Vars: []string{"a=1"}},
			"bfbdbb4f27de1240e2ed04ed40fc14feb753601b"},
		{"vector 1, one worker", Spec{Dirs: []string{"ami", "base/"}, Workers: 1}, "bfbdbb4f27de1240e2ed04ed40fc14feb753601b"},
		{"vector 2, non-UTF-8 names sort by byte", Spec{Dirs: []string{"u"}}, "41f640f19586c31dcbc704296e33635b80ef63eb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Algorithm = V1
			res := compute(t, tt.spec)
			if res.Sum != tt.want || res.Algorithm != V1 {
				t.Errorf("sum = %s %s, want %s\n%s", res.Algorithm, res.Sum, tt.want, dumpInputs(res.Inputs))
			}
		})
	}

	// The inputs are the files in the order they were hashed, with SHA-1s.
	res := compute(t, Spec{Algorithm: V1, Dirs: []string{"ami", "base/"}})
	var got []string
	for _, in := range res.Inputs {
		got = append(got, in.Root+"|"+in.Path)
	}
	want := []string{"ami|.cache/b.txt", "ami|Z.txt", "ami|packer/ami.json", "ami|scripts/a.sh", "base/|x", "base/|\xc3\xa9.txt"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("inputs = %q, want %q", got, want)
	}
	// printf 'x\n' | sha1sum
	if h := res.Inputs[4].Hash; h != "6fcf9dfbd479ed82697fee719b9f8c610a11ff2a" {
		t.Errorf("hash of base/x = %s", h)
	}
}

func TestV1Rules(t *testing.T) {
	tests := []struct {
		name string
		a, b map[string]string
		same bool
	}{
		{"exec bit does not count", map[string]string{"d/a": "x"}, map[string]string{"d/a*": "x"}, true},
		{"hidden file does not count", map[string]string{"d/a": "x"}, map[string]string{"d/a": "x", "d/.env": "y"}, true},
		{"file in hidden dir counts", map[string]string{"d/a": "x"}, map[string]string{"d/a": "x", "d/.git/HEAD": "y"}, false},
		{"rename keeping the order keeps the sum", map[string]string{"d/a": "x", "d/c": "y"}, map[string]string{"d/b": "x", "d/c": "y"}, true},
		{"rename changing the order changes it", map[string]string{"d/a": "x", "d/c": "y"}, map[string]string{"d/e": "x", "d/c": "y"}, false},
		{"content", map[string]string{"d/a": "x"}, map[string]string{"d/a": "y"}, false},
		{"symlink to file is read", map[string]string{"d/a": "x"}, map[string]string{"d/a": "->../out", "out": "x"}, true},
		{"symlink to dir is not entered", map[string]string{"d/a": "x"}, map[string]string{"d/a": "x", "d/l": "->../o", "o/f": "y"}, true},
		{"empty dir does not count", map[string]string{"d/a": "x"}, map[string]string{"d/a": "x", "d/e/": ""}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sums [2]string
			for i, tree := range []map[string]string{tt.a, tt.b} {
				root := t.TempDir()
				writeTree(t, root, tree)
				t.Chdir(root)
				sums[i] = compute(t, Spec{Algorithm: V1, Dirs: []string{"d"}}).Sum
			}
			if (sums[0] == sums[1]) != tt.same {
				t.Errorf("sums %s, %s: equal = %v, want %v", sums[0], sums[1], sums[0] == sums[1], tt.same)
			}
		})
	}
}

func TestV1DirGivenTwice(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string]string{"d/a": "a\n"})
	t.Chdir(root)
	// A directory named twice counts twice, as in the original:
	//   printf 'a\n' | sha1sum  # 3f786850e387550fdab836ed7e6dc881de23001b
	//   printf 3f786850e387550fdab836ed7e6dc881de23001b | sha1sum
	//   printf 3f786850e387550fdab836ed7e6dc881de23001b3f786850e387550fdab836ed7e6dc881de23001b | sha1sum
	const (
		v1Once  = "0eccc1a1c9f6cd75691633c782fb5f0d3b72eeb7"
		v1Twice = "5c7c9cf357ca47eedbe8b54c85c531f9b75748d2"
	)
	once := compute(t, Spec{Algorithm: V1, Dirs: []string{"d"}}).Sum
	twice := compute(t, Spec{Algorithm: V1, Dirs: []string{"d", "d/"}}).Sum
	if once != v1Once || twice != v1Twice {
		t.Errorf("once = %s, twice = %s; want %s, %s", once, twice, v1Once, v1Twice)
	}
}

func TestV1Errors(t *testing.T) {
	tests := []struct {
		name string
		tree map[string]string
		prep func(t *testing.T, root string)
		dirs []string
		want string
	}{
		{"no dirs", nil, nil, nil, "no definition directories"},
		{"missing dir", nil, nil, []string{"nope"}, `reading definition directory "nope"`},
		{"dir is a file", map[string]string{"f": ""}, nil, []string{"f"}, "is not a directory"},
		{"only hidden files", map[string]string{"d/.a": ""}, nil, []string{"d"}, "no files to fingerprint"},
		{"dangling symlink", map[string]string{"d/a": "->nope"}, nil, []string{"d"}, `following symlink "d/a"`},
		{"symlink loop", map[string]string{"d/a": "->b", "d/b": "->a"}, nil, []string{"d"}, "following symlink"},
		{"fifo", map[string]string{"d/a": ""}, func(t *testing.T, root string) {
			mustDo(t, mkfifo(filepath.Join(root, "d/p")))
		}, []string{"d"}, `"d/p": it is a named pipe`},
		{"symlink to fifo", map[string]string{"d/a": "->../p"}, func(t *testing.T, root string) {
			mustDo(t, mkfifo(filepath.Join(root, "p")))
		}, []string{"d"}, `"d/a": it is a named pipe`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeTree(t, root, tt.tree)
			if tt.prep != nil {
				tt.prep(t, root)
			}
			t.Chdir(root)
			_, err := Compute(context.Background(), Spec{Algorithm: V1, Dirs: tt.dirs})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if len(usererr.Hints(err)) == 0 {
				t.Errorf("no hint on %v", err)
			}
			t.Log(err)
		})
	}
}
