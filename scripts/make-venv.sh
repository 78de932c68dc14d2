#!/usr/bin/env bash
# Create the project's virtualenv with a Python >= 3.11.
# On a Raspberry Pi the venv sees system site-packages, so apt's python3-picamera2 is importable.
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is needed; '$python' is $("$python" --version 2>&1 || echo missing)." >&2
    exit 1
fi
[ -x "$venv/bin/python" ] && exit 0
flags=()
if grep -qi "raspberry pi" /proc/device-tree/model 2>/dev/null; then
    flags+=(--system-site-packages)
fi
"$python" -m venv "${flags[@]}" "$venv"
