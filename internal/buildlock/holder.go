package buildlock

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"sync"
)

// hostID names this machine in the owner tag: the host name, qualified on
// Linux by a hash of the boot id and the pid namespace. A pid means
// something only within one boot and one pid namespace: two containers
// with the same host name (--network host, a fixed --hostname) or two CI
// machines named alike must never judge each other's pids. Where that
// cannot be established the bare host name is used, and no holder is ever
// judged dead from it.
var hostID = sync.OnceValue(func() string {
	host, _ := os.Hostname()
	host = strings.ReplaceAll(host, "/", "_")
	boot, err1 := os.ReadFile("/proc/sys/kernel/random/boot_id")
	pidns, err2 := os.Readlink("/proc/self/ns/pid")
	if err1 != nil || err2 != nil || len(strings.TrimSpace(string(boot))) == 0 {
		return host
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(string(boot)) + "\x00" + pidns))
	return host + "+" + hex.EncodeToString(sum[:4])
})

// deadHolder reports whether the owner tag host/pid/random provably names
// a process that is gone: same qualified host as ours, and no process with
// that pid. A pid reused since can only make a dead holder look alive,
// which costs a wait for the lease, never a second holder.
func deadHolder(owner string) bool {
	parts := strings.Split(owner, "/")
	if len(parts) != 3 || !strings.Contains(parts[0], "+") || parts[0] != hostID() {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return processGone(pid)
}
