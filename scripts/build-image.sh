#!/usr/bin/env bash
# Build a lab base image: Debian with systemd, from debootstrap, imported into
# podman (no registry is reachable). Cached: does nothing when the image exists
# and was built from this script as it is now (the image's label
# heat.lab.recipe is the script's sha256); otherwise it builds it again.
#   HEAT_LAB_SUITE=trixie (default): localhost/heat-lab-debian13:latest
#   HEAT_LAB_SUITE=bookworm:         localhost/heat-lab-debian12:latest
#   HEAT_LAB_SUITE=forky (testing):  localhost/heat-lab-debian14:latest
#   HEAT_LAB_SUITE=sid (unstable):   localhost/heat-lab-debiansid:latest
set -o nounset -o pipefail -o errexit

SUITE="${HEAT_LAB_SUITE:-trixie}"
# debootstrap's script for the suite: Debian 12's debootstrap has none named
# forky, and testing is bootstrapped as unstable is.
case "$SUITE" in
    trixie) RELEASE=13 SCRIPT=trixie ;;
    bookworm) RELEASE=12 SCRIPT=bookworm ;;
    forky) RELEASE=14 SCRIPT=sid ;;
    sid) RELEASE=sid SCRIPT=sid ;;
    *) echo "build-image: HEAT_LAB_SUITE must be trixie, bookworm, forky or sid, got $SUITE" >&2; exit 2 ;;
esac
IMAGE="${HEAT_LAB_IMAGE:-localhost/heat-lab-debian$RELEASE:latest}"

# The recipe is this file: any change to it (packages, sources, units) rebuilds.
RECIPE="$(sha256sum "${BASH_SOURCE[0]}" | cut -d' ' -f1)"
OLD=""
if podman image exists "$IMAGE"; then
    if [ "$(podman image inspect --format '{{ index .Labels "heat.lab.recipe" }}' "$IMAGE")" = "$RECIPE" ]; then
        echo "build-image: $IMAGE already present, nothing to do"
        exit 0
    fi
    OLD="$(podman image inspect --format '{{ .Id }}' "$IMAGE")"
    echo "build-image: $IMAGE was built from another recipe, building it again"
fi

# Use the host's own Debian mirror (the only one reachable here).
MIRROR="${HEAT_LAB_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

ROOTFS="$(mktemp -d /var/tmp/heat-lab-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

# openssh-server: molecule and the lab tests reach the containers over SSH
# with a key made per lab (scripts/lab-ssh.sh), as Ansible reaches a real
# controller. Its host keys are made here, once per image: nothing checks them.
echo "build-image: debootstrap $SUITE from $MIRROR (about 75 s)"
debootstrap --variant=minbase \
    --include=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,procps,ca-certificates,sudo,openssh-server \
    "$SUITE" "$ROOTFS" "$MIRROR" "/usr/share/debootstrap/scripts/$SCRIPT" >/dev/null

# The same mirror inside the container, with security updates as on a real
# controller (unstable has neither updates nor security suites).
echo "deb $MIRROR $SUITE main" >"$ROOTFS/etc/apt/sources.list"
if [ "$SUITE" != sid ]; then
    echo "deb $MIRROR $SUITE-updates main" >>"$ROOTFS/etc/apt/sources.list"
    if [ -n "${HEAT_LAB_SECURITY_MIRROR:-}" ]; then
        echo "deb $HEAT_LAB_SECURITY_MIRROR $SUITE-security main" >>"$ROOTFS/etc/apt/sources.list"
    elif grep -q 'debian-security' /etc/apt/sources.list.d/debian.sources 2>/dev/null; then
        echo "deb ${MIRROR%/debian}/debian-security $SUITE-security main" >>"$ROOTFS/etc/apt/sources.list"
    fi
fi
# Testing's and unstable's Release files are valid for a week; the lab's mirror
# may be a dated copy, older than that. (Stable's carry no end date.)
case "$SUITE" in
    forky | sid) echo 'Acquire::Check-Valid-Until "false";' >"$ROOTFS/etc/apt/apt.conf.d/99heat-lab-mirror" ;;
esac
# Units that make no sense in a container and slow boot down.
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer; do
    ln -sf /dev/null "$ROOTFS/etc/systemd/system/$unit"
done
# Empty package lists dated 1970, so that apt (and Ansible's cache_valid_time) know
# they must be fetched, instead of trusting an empty but recent cache.
apt_clean() {
    rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
    touch -d @0 "$ROOTFS/var/lib/apt/lists"
}
apt_clean

echo "build-image: importing as $IMAGE"
tar -C "$ROOTFS" -c . | podman import --quiet --change 'CMD ["/sbin/init"]' \
    --change "LABEL heat.lab.recipe=$RECIPE" - "$IMAGE" >/dev/null
# The image it replaces, unless a container still uses it.
if [ -n "$OLD" ]; then
    podman rmi "$OLD" >/dev/null 2>&1 || echo "build-image: the previous image ${OLD:0:12} is still in use, kept"
fi
echo "build-image: done"
