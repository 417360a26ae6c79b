#!/usr/bin/env bash
# Main job on the embedded default: install, then analyse the sample counter recordings
# shipped with counterwatch and print transcripts and flags.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh
exec .venv/bin/counterwatch analyze counterwatch/samples/counter-rude-stereo.flac \
  counterwatch/samples/counter-polite-mono.flac
