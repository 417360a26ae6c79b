#!/usr/bin/env bash
# Install everything (test extras included) and run the whole test suite, slow tests too.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh --test
exec .venv/bin/python -m pytest "$@"
