#!/usr/bin/env bash
# Re-extract each app's strings (the gate's page, the office desk), merge them into its catalogs and compile: run
# after changing UI text, then translate the new empty entries in web/<app>/translations/zh_Hans_CN/LC_MESSAGES/
# messages.po and run again. Each app's babel.cfg says which files are its own (both take web/common's).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
for app in "${@:-gate office}"; do
  for one in $app; do
    dir=web/$one/translations
    [ -f "web/$one/babel.cfg" ] || continue
    "$bin/pybabel" extract -F "web/$one/babel.cfg" -k _l -k lazy_gettext --no-location --sort-output \
        --project kiosk -o "$dir/messages.pot" .
    for locale in zh_Hans_CN en; do
      if [ -f "$dir/$locale/LC_MESSAGES/messages.po" ]; then
        "$bin/pybabel" update -i "$dir/messages.pot" -d "$dir" -l "$locale" --no-fuzzy-matching --ignore-obsolete
      else
        "$bin/pybabel" init -i "$dir/messages.pot" -d "$dir" -l "$locale"
      fi
    done
    "$bin/pybabel" compile -d "$dir" --statistics
  done
done
