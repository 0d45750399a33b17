package explain

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ami-bakery/ami-bakery/internal/fingerprint"
)

// gitFiles lists the files of the fingerprint's definition that differ
// between commit and the work tree now: the files now are the
// fingerprint's inputs (so ignore rules apply), those at commit come from
// git ls-tree, and a file is changed when its git blob id differs. A file
// only at commit counts as removed when it is gone from the work tree (one
// still there was left out by the ignore rules). The note says why there is
// no list.
func gitFiles(ctx context.Context, req Request, commit string) ([]File, string) {
	if commit == "" {
		return nil, "the earlier AMI records no git commit (it was not built in a git work tree)"
	}
	top, err := git(ctx, req.TemplateDir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, "not in a git work tree; no file list"
	}
	top = strings.TrimSpace(top)
	if _, err := git(ctx, top, "cat-file", "-e", commit+"^{commit}"); err != nil {
		if out, _ := git(ctx, top, "rev-parse", "--is-shallow-repository"); strings.TrimSpace(out) == "true" {
			return nil, fmt.Sprintf("commit %s is not in this shallow clone; fetch it (git fetch --depth=1 origin %s, or fetch-depth: 0 in actions/checkout) for the file list", commit, commit)
		}
		return nil, fmt.Sprintf("commit %s is not in the local git history; fetch it for the file list", commit)
	}
	now, roots := currentFiles(req, top)
	then, err := filesAt(ctx, top, commit, roots)
	if err != nil {
		return nil, err.Error()
	}
	var files []File
	for p, id := range now {
		switch old, ok := then[p]; {
		case !ok:
			files = append(files, File{Path: p, Change: "added"})
		case old != id:
			files = append(files, File{Path: p, Change: "changed"})
		}
	}
	for p := range then {
		if _, ok := now[p]; ok {
			continue
		}
		if _, err := os.Lstat(filepath.Join(top, filepath.FromSlash(p))); os.IsNotExist(err) {
			files = append(files, File{Path: p, Change: "removed"})
		}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	return files, ""
}

// currentFiles returns the git blob ids of the fingerprint's files and
// template, by path relative to top, and the roots' paths relative to top.
func currentFiles(req Request, top string) (map[string]string, []string) {
	files := map[string]string{}
	var roots []string
	for _, in := range req.Current.Inputs {
		if in.Kind != fingerprint.KindFile && in.Kind != fingerprint.KindTemplate && in.Kind != fingerprint.KindSymlink {
			continue
		}
		abs := filepath.Join(req.TemplateDir, filepath.FromSlash(in.Root), filepath.FromSlash(in.Path))
		rel, err := filepath.Rel(top, abs)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue
		}
		root, _ := filepath.Rel(top, filepath.Join(req.TemplateDir, filepath.FromSlash(in.Root)))
		if !slices.Contains(roots, filepath.ToSlash(root)) {
			roots = append(roots, filepath.ToSlash(root))
		}
		if in.Kind == fingerprint.KindTemplate {
			rel, _ = filepath.Rel(top, abs)
			roots = appendOnce(roots, filepath.ToSlash(rel))
		}
		files[filepath.ToSlash(rel)] = blobID(abs, in.Kind == fingerprint.KindSymlink)
	}
	return files, roots
}

func appendOnce(s []string, v string) []string {
	if slices.Contains(s, v) {
		return s
	}
	return append(s, v)
}

// blobID is the git object id of a file's content (or a symlink's target).
func blobID(path string, link bool) string {
	var data []byte
	var err error
	if link {
		var t string
		t, err = os.Readlink(path)
		data = []byte(t)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return ""
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// filesAt lists the blobs under roots at commit: path -> object id.
func filesAt(ctx context.Context, top, commit string, roots []string) (map[string]string, error) {
	out := map[string]string{}
	if len(roots) == 0 {
		return out, nil
	}
	args := append([]string{"ls-tree", "-r", "-z", "--full-tree", commit, "--"}, roots...)
	raw, err := git(ctx, top, args...)
	if err != nil {
		return nil, err
	}
	for _, entry := range strings.Split(raw, "\x00") {
		meta, path, ok := strings.Cut(entry, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta) // mode type id
		if len(f) == 3 && f[1] == "blob" {
			out[path] = f[2]
		}
	}
	return out, nil
}

// git runs git in dir and returns its stdout; its stderr goes into the
// error.
func git(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}
