"""Shared fixtures: test data paths and one loaded speech model per session."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def labels() -> dict[str, dict]:
    return {e["file"]: e for e in json.loads((DATA / "labels.json").read_text(encoding="utf-8"))}


@pytest.fixture(scope="session")
def model_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    from transcribe.model import resolve_model

    return resolve_model(None)


@pytest.fixture(scope="session")
def analyzer(model_path: str):
    from transcribe.analyze import Analyzer
    from transcribe.asr import Transcriber
    from transcribe.rules import load_rulebook

    return Analyzer(Transcriber(model_path, cpu_threads=2), load_rulebook())
