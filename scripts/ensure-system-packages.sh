#!/usr/bin/env bash
# Install the Debian packages given as arguments when they are missing (apt, as root or via sudo).
# On a system without dpkg it only says what would be needed.
set -euo pipefail

missing=()
if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "Not a Debian system: make sure these are installed: $*" >&2
    exit 0
fi
for pkg in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
# Debian's own python3 ships ensurepip (for venv) and its headers (for evdev, built from source) separately.
if [ "$(command -v python3)" = /usr/bin/python3 ]; then
    python3 -c 'import ensurepip' 2>/dev/null || missing+=(python3-venv)
    [ -f "$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ] || missing+=(python3-dev)
fi
command -v gcc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "Need root to install ${missing[*]}: run 'apt-get install ${missing[*]}' as root, then try again." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
