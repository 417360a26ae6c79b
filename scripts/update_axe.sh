#!/usr/bin/env bash
# Refresh tests/api/vendor/axe.min.js (and its licence) from the axe-core that
# api/console/package-lock.json pins (a devDependency of the console). The accessibility browser
# test (tests/api/test_console_accessibility_browser.py) reads the vendored copy, so the test
# suite needs no Node.js; a test checks the copy is the locked version. Needs Node.js and npm.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/api/console"
[ -f node_modules/axe-core/axe.min.js ] || npm ci --no-audit --no-fund
cp node_modules/axe-core/axe.min.js "$root/tests/api/vendor/axe.min.js"
cp node_modules/axe-core/LICENSE "$root/tests/api/vendor/axe-core.LICENSE"
head -1 "$root/tests/api/vendor/axe.min.js"
