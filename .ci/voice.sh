#!/usr/bin/env bash
# Installs eSpeak NG (Debian's `espeak-ng`), the voice channel's offline text to speech, when missing.
# Idempotent: a no-op when `espeak-ng` is already on PATH. PocketSphinx needs nothing here: the
# `pocketsphinx` wheel from the registry ships its en-US models.
set -euo pipefail

if command -v espeak-ng >/dev/null 2>&1; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "voice.sh: not root and no sudo; install Debian's espeak-ng by hand" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends espeak-ng >/dev/null
espeak-ng --version
