#!/usr/bin/env bash
# SSH into a molecule lab, as Ansible reaches a real controller (pipelining,
# one connection per host kept open), instead of podman exec/cp per module.
#   lab-ssh.sh DIR NAME=IP...
# Makes DIR/id_ed25519 (once: a key per lab, never committed; molecule's
# destroy prunes its ephemeral directory, and a new lab gets a new key) and
# writes DIR/config, an ssh_config naming each container NAME at its IP:
# `ssh -F DIR/config NAME`. The platforms bind-mount DIR/id_ed25519.pub as
# root's authorized_keys; the lab image runs sshd (scripts/build-image.sh).
set -o nounset -o pipefail -o errexit

DIR="$1"
shift
mkdir -p "$DIR"
chmod 0700 "$DIR"
if [ ! -f "$DIR/id_ed25519" ]; then
    ssh-keygen -q -t ed25519 -N '' -C heat-lab -f "$DIR/id_ed25519"
fi

{
    for pair in "$@"; do
        printf 'Host %s\n    HostName %s\n' "${pair%%=*}" "${pair#*=}"
    done
    # The containers are throw-away and share the image's host keys.
    # ConnectionAttempts: sshd starts a moment after the container does.
    # ServerAlive*: a kept connection to a removed container ends in ~15 s.
    cat <<CONFIG
Host *
    User root
    IdentityFile $DIR/id_ed25519
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    ConnectTimeout 10
    ConnectionAttempts 10
    ServerAliveInterval 5
    ServerAliveCountMax 3
CONFIG
} >"$DIR/config.new"
mv "$DIR/config.new" "$DIR/config"
