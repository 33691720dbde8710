#!/usr/bin/env bash
# Install Debian's Chromium for the storefront's browser tests (tests/storefront/).
# Playwright drives it through executable_path; no browser is ever downloaded by Playwright.
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo unknown version)"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -q
apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends chromium fonts-dejavu-core
/usr/bin/chromium --version || true
