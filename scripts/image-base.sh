#!/usr/bin/env bash
# image-base.sh: assemble, without any registry, a packer base image for the
# Dockerfile's PACKER_IMAGE build argument, from the packer on this machine.
#
#   scripts/image-base.sh TAG [PACKER]
#
# The image is FROM scratch: PACKER (default: the packer on PATH, Debian's
# 1.6.6 here) at /bin/packer, /bin/sh and the few tools the Dockerfile's RUN
# step uses, every shared library ldd lists for them, the CA certificates
# and a world-writable /tmp. That is the contract a base image meets (the
# official hashicorp/packer images meet it too): packer and sh on PATH, with
# mkdir, chmod and chown.
#
# It is for scripts/image-test.sh, which has no registry to pull
# hashicorp/packer from. Buildah options (storage root, driver) come from
# BUILDAH_OPTS, e.g. "--root DIR --runroot DIR --storage-driver vfs". Needs
# root. Prints the image id on stdout.
set -euo pipefail

tag=${1:?usage: image-base.sh TAG [PACKER]}
packer=${2:-$(command -v packer || true)}
if [ -z "$packer" ] || [ ! -x "$packer" ]; then
	echo "image-base: no packer binary (install Debian's packer, or pass its path)" >&2
	exit 1
fi
read -r -a opts <<<"${BUILDAH_OPTS:-}"
tools=(sh mkdir chmod chown)

ctr=$(buildah "${opts[@]}" from --pull=never scratch)
cleanup() { buildah "${opts[@]}" rm "$ctr" >/dev/null 2>&1 || true; }
trap cleanup EXIT
root=$(buildah "${opts[@]}" mount "$ctr")

# copy SRC DEST: a file and, for an executable, every library it loads.
copy() {
	install -D -m "$(stat -c %a "$1")" "$1" "$root$2"
}
libs() {
	# ldd prints "name => /path (addr)" and "/lib64/ld-linux... (addr)".
	ldd "$1" 2>/dev/null | awk '/=> \// {print $3} /^[ \t]*\// {print $1}'
}
copy "$packer" /bin/packer
deps=("$packer")
for t in "${tools[@]}"; do
	p=$(command -v "$t")
	p=$(readlink -f "$p")
	copy "$p" "/bin/$t"
	deps+=("$p")
done
for bin in "${deps[@]}"; do
	while read -r lib; do
		[ -n "$lib" ] || continue
		# Keep the path the loader looks for, and the file it points to.
		copy "$(readlink -f "$lib")" "$lib"
	done < <(libs "$bin")
done
mkdir -p "$root/etc/ssl" "$root/tmp"
cp -a /etc/ssl/certs "$root/etc/ssl/"
# Debian's certs are symlinks into /usr/share/ca-certificates.
if [ -d /usr/share/ca-certificates ]; then
	mkdir -p "$root/usr/share"
	cp -a /usr/share/ca-certificates "$root/usr/share/"
fi
chmod 1777 "$root/tmp"
buildah "${opts[@]}" umount "$ctr" >/dev/null

buildah "${opts[@]}" config \
	--env PATH=/usr/local/bin:/usr/bin:/bin \
	--env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	--entrypoint '["/bin/packer"]' \
	--label org.opencontainers.image.description="$(CHECKPOINT_DISABLE=1 "$packer" version | head -n1) from this machine, for image tests" \
	"$ctr"
buildah "${opts[@]}" commit --quiet --rm "$ctr" "$tag"
trap - EXIT
