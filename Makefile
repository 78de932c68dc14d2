# The two set-up commands of the README, on a fresh Debian 12 or Raspberry Pi OS:
#   make demo   installs what is missing, then runs the system with simulated hardware
#   make test   installs what is missing, then runs the whole test suite
# Both install missing system packages with apt (as root, or through sudo).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# libzbar0: pyzbar's decoder library; fonts-wqy-microhei: Chinese text on the touchscreen.
# espeak-ng: renders the spoken prompts (kiosk voice render); alsa-utils: aplay plays them.
SYSTEM_PACKAGES := libzbar0 fonts-wqy-microhei espeak-ng alsa-utils
# chromium: the browser the UI tests drive (Playwright with executable_path; no browser download).
# poppler-utils: pdftoppm, pdfinfo, pdffonts, pdftotext, with which the tests read printed cards' PDFs back.
# systemd: systemd-analyze, with which the tests verify the units in systemd/.
TEST_PACKAGES := chromium poppler-utils systemd

.PHONY: demo test lint bench system-packages test-packages clean arm64-check

demo: system-packages $(STAMP)
	$(BIN)/kiosk demo --serve

test: system-packages test-packages $(STAMP) lint
	$(BIN)/python -m pytest

# ruff and mypy with the settings in pyproject.toml; `make test` runs them first.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: system-packages $(STAMP)
	$(BIN)/python bench/journal_bench.py

# The install and the non-browser tests in a Debian 12 arm64 root under qemu-user-static: slow (docs/arm64.md),
# so not part of `make test`. As root or through sudo. ARM64_ARGS passes options or test paths, e.g.
# `make arm64-check ARM64_ARGS='--no-install tests/sensors'`; ARM64_ROOT keeps the root elsewhere.
arm64-check:
	scripts/arm64-check $(ARM64_ARGS)

system-packages:
	@scripts/ensure-system-packages.sh $(SYSTEM_PACKAGES)

test-packages:
	@scripts/ensure-system-packages.sh $(TEST_PACKAGES)

$(STAMP): pyproject.toml
	@scripts/make-venv.sh "$(PYTHON)" "$(VENV)"
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis demo-data
