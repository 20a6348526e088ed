#!/usr/bin/env bash
# Build a lab base image: Debian with systemd, from debootstrap, imported into
# podman (no registry is reachable). Cached: does nothing when the image exists.
#   HEAT_LAB_SUITE=trixie (default): localhost/heat-lab-debian13:latest
#   HEAT_LAB_SUITE=bookworm:         localhost/heat-lab-debian12:latest
set -o nounset -o pipefail -o errexit

SUITE="${HEAT_LAB_SUITE:-trixie}"
case "$SUITE" in
    trixie) RELEASE=13 ;;
    bookworm) RELEASE=12 ;;
    *) echo "build-image: HEAT_LAB_SUITE must be trixie or bookworm, got $SUITE" >&2; exit 2 ;;
esac
IMAGE="${HEAT_LAB_IMAGE:-localhost/heat-lab-debian$RELEASE:latest}"

if podman image exists "$IMAGE"; then
    echo "build-image: $IMAGE already present, nothing to do"
    exit 0
fi

# Use the host's own Debian mirror (the only one reachable here).
MIRROR="${HEAT_LAB_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)\/\?$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n 1)}"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"

ROOTFS="$(mktemp -d /var/tmp/heat-lab-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT

echo "build-image: debootstrap $SUITE from $MIRROR (about 75 s)"
debootstrap --variant=minbase \
    --include=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,procps,ca-certificates,sudo \
    "$SUITE" "$ROOTFS" "$MIRROR" >/dev/null

# The same mirror inside the container, with security updates as on a real controller.
cat >"$ROOTFS/etc/apt/sources.list" <<SOURCES
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
SOURCES
if [ -n "${HEAT_LAB_SECURITY_MIRROR:-}" ]; then
    echo "deb $HEAT_LAB_SECURITY_MIRROR $SUITE-security main" >>"$ROOTFS/etc/apt/sources.list"
elif grep -q 'debian-security' /etc/apt/sources.list.d/debian.sources 2>/dev/null; then
    echo "deb ${MIRROR%/debian}/debian-security $SUITE-security main" >>"$ROOTFS/etc/apt/sources.list"
fi
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
tar -C "$ROOTFS" -c . | podman import --quiet --change 'CMD ["/sbin/init"]' - "$IMAGE" >/dev/null
echo "build-image: done"
