#!/usr/bin/env bash
# A cgroup v2 tree of its own for a lab container whose systemd needs the
# unified hierarchy: systemd 258 and later (Debian testing and unstable)
# no longer boot on cgroup v1, and podman gives a container the host's
# layout (this lab's hosts have the hybrid one: v1 controllers, and cgroup2
# at /sys/fs/cgroup/unified). Makes NAME under the host's cgroup2 mount,
# removes what earlier containers left in it, and links it at LINK, which
# the scenario mounts on the container's /sys/fs/cgroup.
#   lab-cgroup.sh NAME LINK
set -o nounset -o pipefail -o errexit
NAME="$1" LINK="$2"
for root in /sys/fs/cgroup/unified /sys/fs/cgroup; do
    if [ "$(stat -fc %T "$root" 2>/dev/null)" = cgroup2fs ]; then
        mkdir -p "$root/$NAME"
        # Empty cgroups of containers gone (a cgroup with processes stays).
        find "$root/$NAME" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
        ln -sfn "$root/$NAME" "$LINK"
        exit 0
    fi
done
echo "lab-cgroup: no cgroup2 hierarchy on this host (/sys/fs/cgroup/unified or /sys/fs/cgroup)" >&2
exit 1
