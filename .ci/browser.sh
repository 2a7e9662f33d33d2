#!/usr/bin/env bash
# Installs the headless Chromium the UI tests drive (Debian's `chromium` package) when it is missing.
# Idempotent: a no-op when /usr/bin/chromium is already there. Never downloads a browser build of its
# own (Playwright's `playwright install` does, and cannot work here): the tests point Playwright at
# /usr/bin/chromium instead.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "browser.sh: not root and no sudo; install Debian's chromium by hand" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
# Some Debian releases ship the driver separately; Playwright does not need it, but keep it when it exists.
if apt-cache show chromium-driver >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends chromium-driver >/dev/null || true
fi
test -x /usr/bin/chromium
/usr/bin/chromium --version
