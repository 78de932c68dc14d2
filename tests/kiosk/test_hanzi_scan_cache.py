"""The hanzi index's kept scan (KIOSK_HANZI_CACHE_DIR): the browser tests' gates read one scan instead of each
spending a second of CPU in a child; a missing, cut or foreign file is scanned anew, never trusted."""

from __future__ import annotations

from kiosk.gate import hanzi_candidates as hc


def test_the_kept_scan_equals_a_fresh_one_and_a_cut_file_is_scanned_anew(tmp_path, monkeypatch):
    monkeypatch.setenv(hc.CACHE_ENV, str(tmp_path))
    fresh = hc._Base()
    path = hc._cache_path()
    assert path is not None and path.parent == tmp_path and path.is_file()
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind
    kept = hc._read_saved_scan(path)
    assert kept is not None
    assert (kept["readings"], kept["by_syllable"]) == (fresh.readings, fresh.by_syllable)
    assert "zhang" in hc._Base().readings.usual("张")  # built from the kept file

    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2].rsplit("\n", 1)[0] + "\n", encoding="utf-8")  # whole lines, no end line
    assert hc._read_saved_scan(path) is None
    path.write_text("R 张 zhang zhang\nE 5\n", encoding="utf-8")  # an end line that does not count the lines
    assert hc._read_saved_scan(path) is None
    path.write_text("garbage\nE 1\n", encoding="utf-8")
    assert hc._read_saved_scan(path) is None
    again = hc._Base()  # the unusable file is replaced by a whole scan
    assert again.readings == fresh.readings and hc._read_saved_scan(path) is not None


def test_without_the_variable_nothing_is_kept(tmp_path, monkeypatch):
    monkeypatch.delenv(hc.CACHE_ENV, raising=False)
    assert hc._cache_path() is None
    monkeypatch.setenv(hc.CACHE_ENV, str(tmp_path / "kept"))
    monkeypatch.setattr(hc.sys, "executable", "/nonexistent/python")  # the child fails: scanned here, nothing kept
    base = hc._Base()
    assert "zhang" in base.readings.usual("张") and list((tmp_path / "kept").glob("*")) == []
