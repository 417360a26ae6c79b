from pathlib import Path

import pytest

from counterwatch.settings import SettingsError, load_settings


def test_defaults(monkeypatch: pytest.MonkeyPatch):
    for k in list(__import__("os").environ):
        if k.startswith("COUNTERWATCH_"):
            monkeypatch.delenv(k)
    s = load_settings()
    assert s.model == "base" and s.channels == "staff,customer" and s.split_silence_s == 8.0


def test_toml_then_environment_then_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = tmp_path / "cw.toml"
    cfg.write_text('[counterwatch]\nchannels = "mono"\nsplit_silence_s = 5\nlog_level = "info"\n')
    s = load_settings(cfg)
    assert (s.channels, s.split_silence_s, s.log_level) == ("mono", 5.0, "INFO")
    monkeypatch.setenv("COUNTERWATCH_SPLIT_SILENCE_S", "12")
    assert load_settings(cfg).split_silence_s == 12.0
    assert load_settings(cfg, split_silence_s=3.0, channels=None).split_silence_s == 3.0


def test_bad_values_are_named(tmp_path: Path):
    cfg = tmp_path / "cw.toml"
    cfg.write_text('channels = "left"\n')
    with pytest.raises(SettingsError, match="channels"):
        load_settings(cfg)
    cfg.write_text("channels = \n")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_settings(cfg)
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(tmp_path / "missing.toml")
