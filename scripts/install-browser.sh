#!/usr/bin/env bash
# Installs what the web console's browser tests need: Debian's headless-capable
# `chromium` and its WebDriver, `chromium-driver` (/usr/bin/chromium,
# /usr/bin/chromedriver). Idempotent and quiet: does nothing when both are there.
# No tool downloads a browser of its own; only apt is used.
set -euo pipefail

if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser.sh: /usr/bin/chromium or /usr/bin/chromedriver is missing and this machine has no apt-get;" >&2
  echo "  install Chromium and its chromedriver by hand (same major version) and rerun" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo -n"
  else
    echo "install-browser.sh: installing chromium needs root (or sudo)" >&2
    exit 1
  fi
fi

echo "== installing chromium and chromium-driver (apt)"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get update -qq >/tmp/install-browser.log 2>&1 ||
  ! $SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver \
    >>/tmp/install-browser.log 2>&1; then
  echo "install-browser.sh: apt-get could not install chromium/chromium-driver; its output:" >&2
  tail -n 30 /tmp/install-browser.log >&2
  exit 1
fi

for f in /usr/bin/chromium /usr/bin/chromedriver; do
  if [ ! -x "$f" ]; then
    echo "install-browser.sh: apt-get finished but $f is still missing" >&2
    exit 1
  fi
done
