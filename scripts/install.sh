#!/usr/bin/env bash
# Install everything counterwatch needs on Debian 12: system packages, a virtual environment
# in .venv with the project and its Python dependencies, and the assembled speech model.
# Safe to run again. Usage: scripts/install.sh [--test]   (--test adds what the tests need)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/install_common.sh

# ffmpeg: decoding and the ffmpeg capture source; portaudio + build tools: PyAudio builds
# from source; pulseaudio: the capture tests (and halls whose intercom is a sound card);
# postgresql: the multi-worker metadata store and its tests.
APT_PACKAGES=(python3 python3-venv python3-pip python3-dev build-essential ca-certificates ffmpeg
              portaudio19-dev libportaudio2 pulseaudio pulseaudio-utils postgresql
              vlc-bin vlc-plugin-base vlc-plugin-video-output fonts-noto-cjk espeak-ng)
# vlc: the waiting-area screen player (python-vlc drives libvlc); fonts-noto-cjk: Chinese slides.
# espeak-ng: the API speaks queue calls in Mandarin for the screens (services/queue_announce.py).
# The browser tests of the web console drive Debian's chromium.
# xvfb + x11-apps + imagemagick: the player's tests run in a real X window and take screenshots.
# wrk: the API's cost per request (bench/api_cost.py).
[ "${1:-}" = "--test" ] && APT_PACKAGES+=(chromium xvfb x11-apps imagemagick wrk)
apt_install install "${APT_PACKAGES[@]}"

PYTHON=${PYTHON:-python3}
make_venv install .venv "$PYTHON"
extra=""
[ "${1:-}" = "--test" ] && extra="[test]"
echo "install: Python packages" >&2
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".${extra}"
echo "install: speech model" >&2
.venv/bin/counterwatch model >/dev/null
echo "install: database schema (counterwatch db upgrade)" >&2
.venv/bin/counterwatch db upgrade >/dev/null
echo "install: done" >&2
