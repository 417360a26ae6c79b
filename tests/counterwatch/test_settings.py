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


@pytest.mark.parametrize("url, shown", [
    ("postgresql+psycopg://cw:Sup3rSecret@127.0.0.1:1/cw", "postgresql+psycopg://cw:***@127.0.0.1:1/cw"),
    ("postgresql://cw:Sup3rSecret@127.0.0:x/cw", "postgresql://…"),
    ("not a url Sup3rSecret", "(unparseable URL)"),
])
def test_database_password_never_shown(url: str, shown: str, tmp_path: Path):
    """A database that cannot be reached or a bad URL is named in the error, without its password."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "COUNTERWATCH_DATABASE_URL": url, "COUNTERWATCH_DATA_DIR": str(tmp_path)}
    r = subprocess.run([sys.executable, "-m", "counterwatch", "counter", "list"], env=env, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode != 0
    assert "Sup3rSecret" not in r.stdout + r.stderr
    assert f"database {shown}" in r.stderr
    assert "Sup3rSecret" not in repr(load_settings(database_url=url))
