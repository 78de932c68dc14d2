"""scripts/arm64-check and its make target, checked lightly: the real run (debootstrap, qemu, the suite under
emulation) takes an hour or more and is `make arm64-check`, never part of `make test` (docs/arm64.md)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "arm64-check"
MAKEFILE = REPO / "Makefile"


def rule_prerequisites(target: str) -> list[str]:
    """The prerequisites of a target's rule line in the Makefile (``target: a b c``)."""
    for line in MAKEFILE.read_text(encoding="utf-8").splitlines():
        match = re.match(rf"^{re.escape(target)}\s*:(?!=)(.*)$", line)
        if match:
            return match.group(1).split()
    raise AssertionError(f"no rule for {target} in the Makefile")


def recipe(target: str) -> list[str]:
    """The recipe lines (tab-indented) under a target's rule line."""
    lines = MAKEFILE.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(rf"^{re.escape(target)}\s*:(?!=)", line))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        body.append(line.strip())
    return body


def test_script_parses_and_is_executable():
    result = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert SCRIPT.stat().st_mode & 0o111, "scripts/arm64-check must be executable (make runs it directly)"


def test_help_is_chinese_first_with_english_and_needs_no_root():
    result = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("用法 Usage: scripts/arm64-check")
    assert "--no-install" in result.stdout and "--timeout" in result.stdout


def test_bad_input_gets_a_message_before_anything_is_installed_or_mounted():
    unknown = subprocess.run([str(SCRIPT), "--bogus"], capture_output=True, text=True, timeout=30)
    assert unknown.returncode == 2 and "未知选项 / unknown option: --bogus" in unknown.stderr
    timeout = subprocess.run([str(SCRIPT), "--timeout", "soon"], capture_output=True, text=True, timeout=30)
    assert timeout.returncode == 2 and "needs whole seconds: soon" in timeout.stderr
    outside = subprocess.run([str(SCRIPT), "../etc"], capture_output=True, text=True, timeout=30)
    assert outside.returncode == 1 and "test paths must be under tests/: ../etc" in outside.stderr
    assert "Traceback" not in unknown.stderr + timeout.stderr + outside.stderr


def test_make_target_runs_the_script_and_is_phony():
    assert recipe("arm64-check") == ["scripts/arm64-check $(ARM64_ARGS)"]
    phony = rule_prerequisites(".PHONY")
    assert "arm64-check" in phony
    dry = subprocess.run(["make", "-n", "-C", str(REPO), "arm64-check", "ARM64_ARGS=--no-install tests/sensors"],
                         capture_output=True, text=True, timeout=30)
    assert dry.returncode == 0, dry.stderr
    assert "scripts/arm64-check --no-install tests/sensors" in dry.stdout


def test_make_test_does_not_run_it():
    assert "arm64-check" not in rule_prerequisites("test")
    assert not any("arm64" in line for line in recipe("test"))
    # Nor through lint, which `make test` runs first.
    assert "arm64-check" not in rule_prerequisites("lint")


def test_browser_tests_are_left_out_and_emulation_gets_its_own_timeout():
    text = SCRIPT.read_text(encoding="utf-8")
    assert "BROWSER_TESTS=(tests/ui tests/ui_office)" in text
    assert "--ignore=$p" in text and "-m 'not hardware'" in text and "--timeout=$TIMEOUT" in text
    # It tests what is committed, not the working tree.
    assert "git -C \"$REPO\" archive --format=tar HEAD" in text
