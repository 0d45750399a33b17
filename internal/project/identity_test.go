package project

import "testing"

func TestNormalizeRemote(t *testing.T) {
	for _, in := range []string{
		"https://github.com/acme/infra.git", "https://github.com/acme/infra", "git@github.com:acme/infra.git",
		"ssh://git@github.com/acme/infra.git", "https://token@GitHub.com/acme/infra/", "git@github.com:acme/infra",
	} {
		if got := NormalizeRemote(in); got != "github.com/acme/infra" {
			t.Errorf("NormalizeRemote(%q) = %q, want github.com/acme/infra", in, got)
		}
	}
	if a, b := NormalizeRemote("git@github.com:acme/infra"), NormalizeRemote("git@github.com:acme/infra2"); a == b {
		t.Errorf("two repositories, one identity %q", a)
	}
}
