#!/usr/bin/env bash
# Install Debian's Chromium for the console's browser tests (tests/integration/console), once.
# Playwright drives this system browser; nothing downloads a browser at run time.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "the browser tests need Debian's chromium: run 'sudo apt-get install chromium'" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
