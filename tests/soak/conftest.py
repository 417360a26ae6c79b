"""The soak runner (bench/soak.py) as a module for the soak and fault tests."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SOAK_PY = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


@pytest.fixture(scope="session")
def soak() -> ModuleType:
    name = "counterwatch_bench_soak"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, SOAK_PY)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module   # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]
