#!/usr/bin/env bash
# Re-extract the touchscreen's strings, merge them into each catalog and compile: run after changing UI text,
# then translate the new empty entries in web/gate/translations/zh_Hans_CN/LC_MESSAGES/messages.po and run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
dir=web/gate/translations
"$bin/pybabel" extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
    --project kiosk -o "$dir/messages.pot" .
"$bin/pybabel" update -i "$dir/messages.pot" -d "$dir" --no-fuzzy-matching --ignore-obsolete
"$bin/pybabel" compile -d "$dir" --statistics
