#!/usr/bin/env bash
# Install a screen box (the waiting-area player only) on Debian 12: the system packages the
# player needs, and a virtual environment with the project and requirements-screen.txt only,
# without the speech stack, the database drivers or the server (docs/signage.md, "A screen box").
# The player is then `VENV/bin/counterwatch-screen signage --api URL --token cw_... --screen NAME`.
# Safe to run again. Usage: scripts/install_screen.sh [--venv DIR]   (default .venv)
# The venv is made from Debian's Python (PYTHON, default /usr/bin/python3): python3-tk gives
# that Python its Tk, which a Python built elsewhere (pyenv, conda) does not see.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) VENV="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "install_screen: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
. scripts/install_common.sh

# python3-tk: the player's window (Tk); vlc-*: libVLC plays the videos; fonts-noto-cjk: Chinese
# slides. No ffmpeg, PortAudio, PostgreSQL or PulseAudio: a box without sound plays muted.
APT_PACKAGES=(python3 python3-venv python3-tk vlc-bin vlc-plugin-base vlc-plugin-video-output fonts-noto-cjk)
apt_install install_screen "${APT_PACKAGES[@]}"

PYTHON=${PYTHON:-/usr/bin/python3}
make_venv install_screen "$VENV" "$PYTHON"
echo "install_screen: Python packages (requirements-screen.txt)" >&2
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-screen.txt
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
"$VENV/bin/python" -c "import tkinter, vlc, PIL, httpx" \
  || { echo "install_screen: the player's modules do not import (see above)" >&2; exit 1; }
"$VENV/bin/counterwatch-screen" signage --help >/dev/null
echo "install_screen: done: $VENV/bin/counterwatch-screen signage --help" >&2
