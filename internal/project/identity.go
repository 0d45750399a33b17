package project

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
)

// Identity is where the project's definition lives, recorded on every AMI
// as the ami-bakery:project tag, so that prune tells one repository's (or
// one template's) AMIs from another's that shares an image name: the
// project file's project attribute (or --project) when given; else the git
// remote "origin" and the path of the project file, or of a single
// template, in the repository ("github.com/acme/infra//ami/packer/ami.json"),
// the same in every clone and on every CI runner. Outside git, or without
// an origin, it is "": nothing is tagged, and prune refuses to act.
//
// It runs git, so it is asked for only when needed (a build, a prune).
func (p *Project) Identity(ctx context.Context) string {
	if p.Name != "" {
		return p.Name
	}
	dir, file := p.Dir, filepath.Base(p.Path)
	if p.single {
		t := p.Images[0].Template
		dir, file = filepath.Dir(filepath.Clean(t)), filepath.Base(filepath.Clean(t))
	}
	remote := git(ctx, dir, "remote", "get-url", "origin")
	if remote == "" {
		return ""
	}
	return NormalizeRemote(remote) + "//" + git(ctx, dir, "rev-parse", "--show-prefix") + file
}

// NormalizeRemote makes a git remote URL the same however it is written:
// https://github.com/acme/infra.git, git@github.com:acme/infra and
// ssh://git@github.com/acme/infra are all github.com/acme/infra.
func NormalizeRemote(url string) string {
	u := strings.TrimSpace(url)
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
	} else if at := strings.Index(u, "@"); at >= 0 && strings.Contains(u[at:], ":") {
		u = strings.Replace(u[at+1:], ":", "/", 1) // scp-like: user@host:path
	}
	if at := strings.Index(u, "@"); at >= 0 && at < strings.Index(u+"/", "/") {
		u = u[at+1:] // credentials or a user before the host
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "/"), ".git")
	return strings.ToLower(u[:strings.Index(u+"/", "/")]) + u[strings.Index(u+"/", "/"):]
}

// git runs git in dir and returns its output's first line, or "".
func git(ctx context.Context, dir string, args ...string) string {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		return ""
	}
	line, _, _ := strings.Cut(string(out), "\n")
	return strings.TrimSpace(line)
}
