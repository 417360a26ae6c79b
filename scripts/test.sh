#!/usr/bin/env bash
# Run the tests.
#   bash scripts/test.sh [PYTEST ARGS]          the whole suite, slow and soak tests and both
#                                               database backends too (what CI runs: .ci/run);
#                                               installs everything first (scripts/install.sh --test)
#   bash scripts/test.sh --fast [PYTEST ARGS]   the fast loop: SQLite only, no slow, browser or
#                                               soak tests (target under 3 minutes on 2 cores; docs/benchmarks.md); installs
#                                               only when .venv is missing
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--fast" ]; then
  shift
  { [ -x .venv/bin/python ] && .venv/bin/python -c "import xdist" 2>/dev/null; } || scripts/install.sh --test
  # The browser tests are all marked slow (tests/test_fast_loop.py checks it). Two pytest-xdist
  # workers (COUNTERWATCH_TEST_WORKERS) keep both cores busy; the full suite stays serial.
  exec .venv/bin/python -m pytest --sqlite-only -m "not slow and not soak" -q -n "${COUNTERWATCH_TEST_WORKERS:-2}" "$@"
fi
scripts/install.sh --test
exec .venv/bin/python -m pytest --durations=60 "$@"    # the slowest 60 in the log: where the hour goes
