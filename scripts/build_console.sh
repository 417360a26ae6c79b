#!/usr/bin/env bash
# Rebuild the supervisor console (api/console/dist, committed) from api/console/src with the
# exact packages of api/console/package-lock.json: npm ci, the lint (ESLint; a warning fails it
# too), the unit tests (vitest), then vite build and the licences and the build manifest
# (tools/build-info.mjs). Any step failing stops it: a lint or test failure leaves dist untouched.
# Needs Node.js >= 20.19 and the npm registry (docs/console.md); installing and running
# counterwatch needs neither. Commit api/console/dist afterwards;
# tests/api/test_console_build.py fails while the committed build is stale.
set -euo pipefail
cd "$(dirname "$0")/../api/console"
export SOURCE_DATE_EPOCH=0 TZ=UTC LC_ALL=C
npm ci --no-audit --no-fund
npm run --silent lint
npm run --silent test:unit
npx --no-install vite build
node tools/build-info.mjs
if grep -lE '\beval\(|new Function\(' dist/assets/*.js; then
  echo "build_console: eval or new Function in the bundle (the console's CSP forbids it)" >&2
  exit 1
fi
du -b dist/assets/* | sort -n | awk '{printf "%8.1f kB  %s\n", $1 / 1000, $2}'
