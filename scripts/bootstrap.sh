#!/usr/bin/env bash
# Install everything the lab and the test suite need on a fresh Debian 12 host
# (run as root): podman, runc, debootstrap from Debian, and a pinned Python
# virtualenv in .venv. Safe to re-run: each step is skipped when already done.
set -o nounset -o pipefail -o errexit
cd "$(dirname "$0")/.."

APT_PACKAGES=(podman runc debootstrap uidmap slirp4netns python3-venv)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# crun fails on this host's hybrid cgroups, and podman's default rlimits are
# above the host's hard limits: use runc and limits the host allows.
CONF=/etc/containers/containers.conf
if ! grep -qs 'heat-lab' "$CONF"; then
    echo "bootstrap: writing $CONF (runtime runc, ulimits)"
    mkdir -p /etc/containers
    cat >"$CONF" <<'CONF'
# heat-lab: written by scripts/bootstrap.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=30000:30000"]

[engine]
runtime = "runc"
CONF
fi

if [ ! -x .venv/bin/molecule ] || ! cmp -s requirements.txt .venv/.requirements.txt; then
    echo "bootstrap: creating .venv from requirements.txt"
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip
    .venv/bin/pip install -q -r requirements.txt
    cp requirements.txt .venv/.requirements.txt
fi
echo "bootstrap: ready (activate with: . .venv/bin/activate)"
