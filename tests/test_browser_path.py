"""Which Chromium the report and browser tests use."""

from __future__ import annotations

from pathlib import Path

import pytest

from ipt_course import browser


def test_a_named_chromium_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Does $IPT_CHROMIUM name the browser, and a missing file there mean none (not a silent fallback)?"""
    exe = tmp_path / "chrome"
    exe.write_text("")
    monkeypatch.setenv(browser.ENV_CHROMIUM, str(exe))
    assert browser.chromium_path() == exe
    monkeypatch.setenv(browser.ENV_CHROMIUM, str(tmp_path / "missing"))
    assert browser.chromium_path() is None


def test_without_any_chromium_ensure_says_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With no browser anywhere and no download possible, does ensure_chromium fail with instructions?"""
    monkeypatch.setattr(browser, "chromium_path", lambda: None)
    monkeypatch.setattr(browser.subprocess, "run", lambda *a, **k: None)
    assert browser.ensure_chromium() == 1
    assert "apt-get install chromium" in capsys.readouterr().err
