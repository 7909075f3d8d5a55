#!/usr/bin/env bash
# The headless browser the status page's end-to-end tests drive (test/e2e/page/):
# Debian's chromium, driven by npm playwright-core (`npx playwright install`
# cannot download a browser here), and fonts so text renders with real metrics
# (the 375 px overflow check and the screenshots). Idempotent, noninteractive;
# run as root. Refreshes the package lists first when there are none.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
# A sans-serif and a monospace face with wide coverage.
dpkg-query -W -f='${Status}' fonts-dejavu-core 2>/dev/null | grep -q 'install ok installed' || need+=(fonts-dejavu-core)
dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null | grep -q 'install ok installed' || need+=(fonts-liberation)
if [ ${#need[@]} -eq 0 ]; then
  echo "browser: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists at all; otherwise one refresh is enough.
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1 || ! apt-cache show chromium >/dev/null 2>&1; then
  apt-get update -qq
fi
if ! apt-get install -y -qq --no-install-recommends "${need[@]}"; then
  # Lists present but stale (a package moved): refresh once and try again.
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
/usr/bin/chromium --version
