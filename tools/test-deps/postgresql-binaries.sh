#!/usr/bin/env bash
# PostgreSQL server binaries for the reliability tests (tests/reliability/): they start, crash
# and restart a PostgreSQL of their own (never the machine's shared one), run as `nobody` via
# runuser. Idempotent: does nothing when initdb and runuser are already there.
set -euo pipefail

if [ -x /usr/lib/postgresql/15/bin/initdb ] && command -v runuser >/dev/null; then
    echo "postgresql-15 binaries already installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
# the package install must not start a cluster of its own (policy-rc.d refuses service starts)
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends postgresql-15 util-linux
/usr/lib/postgresql/15/bin/initdb --version
