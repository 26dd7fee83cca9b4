#!/usr/bin/env bash
# Refreshes docs/screenshots/: starts a three-member demo federation (Hubei with
# the events and mapping sets, the China–Africa centre in Kenya, Guangdong; the
# data of scripts/demo-data) on 127.0.0.1, opens every console page in headless
# Chromium at a desktop size (1280×900) and a phone size (390×844), saves a PNG of
# each, and stops everything. The walk is the ignored test `console::screenshots`
# (tests/tests/it/console.rs), so it uses the same harness as the browser tests.
#
#   scripts/screenshots.sh [OUT_DIR]        # default docs/screenshots
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${1:-docs/screenshots}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

scripts/install-browser.sh
# Chinese pages need a CJK font to be readable in the PNGs.
if ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then
  echo "== installing fonts-noto-cjk (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-noto-cjk >/dev/null
fi

echo "== taking screenshots into $OUT"
TECHMESH_SCREENSHOTS="$OUT" cargo test -q -p techmesh-tests --test it -- \
  --ignored --exact console::screenshots

# Smaller files for the repository when optipng is at hand (lossless).
if command -v optipng >/dev/null 2>&1; then
  optipng -quiet -o2 "$OUT"/*.png
fi
ls -l "$OUT"/*.png
