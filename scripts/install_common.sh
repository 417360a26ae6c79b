# Shell functions shared by scripts/install.sh and scripts/install_screen.sh (sourced by them,
# not run). Each script keeps its own package list: the screen box gets the player's only.
# Sourcing sets DEBIAN_FRONTEND=noninteractive for the apt-get calls.
export DEBIAN_FRONTEND=noninteractive

# apt_install TAG PACKAGE...: install the Debian packages among PACKAGE... that are not installed
# yet (one `apt-get update` first, only when some are missing), as root or through sudo. TAG
# prefixes the line that names them.
apt_install() {
  local tag=$1 p sudo=""
  shift
  local missing=()
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "$tag: apt packages: ${missing[*]}" >&2
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# make_venv TAG DIR PYTHON: create the virtual environment DIR with PYTHON unless it has one.
make_venv() {
  if [ ! -x "$2/bin/python" ]; then
    echo "$1: creating $2 with $($3 --version)" >&2
    "$3" -m venv "$2"
  fi
}
