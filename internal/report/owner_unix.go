//go:build unix

package report

import (
	"os"
	"syscall"
)

// ownLikeDir gives f, a file ami-bakery just created in dir, dir's owner
// and group, when ami-bakery runs as root. The container image runs as root
// by default, as the original tool's did, in a checkout bind-mounted from a
// CI user: without this, .ami_id.json and the tfvars file would be owned by
// root there. The CI user could still read (0644), replace and delete them,
// since it owns the directory, but not edit them in place, and cleanup
// tools that expect their own files would trip. Owned like the directory,
// they are what a run as the CI user leaves.
//
// It is best effort: the file is written either way, and a chown that
// fails (root in a user namespace where dir's owner is not mapped) only
// leaves the file root's.
func ownLikeDir(f *os.File, dir string) {
	if os.Geteuid() != 0 {
		return
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || (st.Uid == 0 && st.Gid == 0) {
		return
	}
	_ = f.Chown(int(st.Uid), int(st.Gid))
}
