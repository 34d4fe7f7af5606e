#!/bin/sh
# What every framework image needs from its base's own packages (Debian or Ubuntu, so apt):
# Open MPI and an SSH server and client for multi-host jobs, and a Python 3 that can make a
# venv (the base's python3 when it has one), and any extra CA certificates the build needs
# (EXTRA_CA_CERTS); then the venv at /opt/venv, and the SSH keys and
# settings that let one container of the image log into another as mpirun needs.
set -eu
export DEBIAN_FRONTEND=noninteractive

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system.sh: the base image must be Debian or Ubuntu based (no apt-get found)" >&2
    exit 1
fi

packages="openmpi-bin openssh-server openssh-client ca-certificates"
if ! command -v python3 >/dev/null 2>&1; then
    packages="$packages python3 python3-venv"
else
    # Debian's and Ubuntu's python3 make venvs only with python3-venv; python:slim's needs nothing.
    probe=$(mktemp -d)
    python3 -m venv "$probe/venv" >/dev/null 2>&1 || packages="$packages python3-venv"
    rm -rf "$probe"
fi
apt-get update
# shellcheck disable=SC2086  # a list of package names
apt-get install -y --no-install-recommends $packages
apt-get clean
rm -rf /var/lib/apt/lists/*

# Certificates the builder trusts besides the usual ones (a TLS-intercepting proxy in front of
# PyPI): one file each, so update-ca-certificates adds every one. They stay trusted in the image.
if [ -n "${EXTRA_CA_CERTS:-}" ]; then
    printf '%s\n' "$EXTRA_CA_CERTS" | awk '
        /-----BEGIN CERTIFICATE-----/ { count++; file = sprintf("/usr/local/share/ca-certificates/build-extra-%d.crt", count) }
        count { print > file }'
    update-ca-certificates
fi
# pip trusts the system's bundle (with those), not its own copy of Mozilla's.
export PIP_CERT=/etc/ssl/certs/ca-certificates.crt

python3 -m venv /opt/venv
# pip, setuptools and wheel at the lock's versions (its setuptools is below 70: Chainer is a source
# package that only builds with that and no build isolation).
CONSTRAINTS=/usr/local/lib/container-runtime/constraints.txt
/opt/venv/bin/python -m pip install --no-cache-dir --disable-pip-version-check -c "$CONSTRAINTS" --upgrade pip setuptools wheel

# SSH for multi-host MPI jobs. Every container of this image has the same root key, and trusts
# it: that is what lets the master's mpirun start ranks on the others. Never publish port 22.
ssh-keygen -A
mkdir -p /root/.ssh /run/sshd
chmod 700 /root/.ssh
rm -f /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.pub
ssh-keygen -q -t ed25519 -N '' -C "container-runtime image key" -f /root/.ssh/id_ed25519
cp /root/.ssh/id_ed25519.pub /root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
cat > /etc/ssh/ssh_config.d/container-runtime.conf <<'CONFIG'
# Hosts of a job are containers made moments ago: no known host keys to check against.
Host *
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
CONFIG
cat > /etc/ssh/sshd_config.d/container-runtime.conf <<'CONFIG'
# Root by key only (the image's own key); no PAM, whose session modules fail in containers.
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
CONFIG
# Without PAM, sshd refuses an account whose password is locked ("!"); "*" is unusable but unlocked.
sed -i 's/^root:!\?[^:]*:/root:*:/' /etc/shadow
