"""Signage fixtures: the API over the real stack, tiny media made with ffmpeg, an Xvfb
display on a free number for the player tests, and a private PulseAudio daemon whose null
sink's monitor records what a player plays."""
from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine
from storage.objects import ObjectStore
from tests.pulse_daemon import private_pulseaudio

COUNTERS = {"hall": ("c1", "c2", "c3"), "annex": ("a1",)}


@dataclass
class SignageEnv:
    engine: Engine
    store: ObjectStore
    app: FastAPI
    catalog: Catalog
    make_user: Callable[..., str]
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> TestClient:
        return TestClient(self.app, headers={"Authorization": f"Bearer {token}"} if token else {})


@pytest.fixture()
def signage_env(db_url: str, object_store: ObjectStore) -> Iterator[SignageEnv]:
    engine = make_engine(db_url)
    catalog = Catalog(engine)
    for site, counters in COUNTERS.items():
        for c in counters:
            catalog.add_counter(site, c)

    def make_user(role: str, sites: list[str] | None = None) -> str:
        if sites is None:
            sites = ["hall"] if role in ("supervisor", "viewer", "screen") else []
        return add_user(engine, f"{role}-{uuid.uuid4().hex[:8]}", role=role, sites=sites).token

    env = SignageEnv(engine=engine, store=object_store, app=create_app(engine=engine, store=object_store),
                     catalog=catalog, make_user=make_user)
    env.app.state.signage_max_upload_bytes = 2 * 1024 * 1024
    try:
        yield env
    finally:
        engine.dispose()


def make_video(path: Path, colour: str, *, seconds: float = 2, size: str = "320x240") -> Path:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", f"color=c={colour}:s={size}:d={seconds}",
                    "-pix_fmt", "yuv420p", "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True)
    return path


def make_image(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (640, 360)) -> Path:
    from PIL import Image

    Image.new("RGB", size, rgb).save(path)
    return path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny real media: colour videos, a colour image, and a corrupt (truncated) MP4."""
    d = tmp_path_factory.mktemp("media")
    out = {"red": make_video(d / "red.mp4", "red"), "green": make_video(d / "green.mp4", "0x00C800"),
           "blue_png": make_image(d / "blue.png", (0, 0, 230)), "yellow_png": make_image(d / "yellow.png", (230, 230, 0))}
    bad = d / "corrupt.mp4"
    bad.write_bytes(out["red"].read_bytes()[:1200])   # ftyp and a cut mdat: no moov, nothing to decode
    out["corrupt"] = bad
    return out


def _free_display() -> int:
    for n in range(90, 200):
        if not Path(f"/tmp/.X{n}-lock").exists() and not Path(f"/tmp/.X11-unix/X{n}").exists():
            return n
    raise RuntimeError("no free X display number")


@pytest.fixture()
def xvfb() -> Iterator[str]:
    """A virtual 1280x720 X display; DISPLAY is set for the test."""
    if not shutil.which("Xvfb"):
        pytest.fail("Xvfb is not installed: run scripts/install.sh --test")
    n = _free_display()
    proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x720x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    display = f":{n}"
    for _ in range(100):
        if Path(f"/tmp/.X11-unix/X{n}").exists():
            break
        if proc.poll() is not None:
            raise RuntimeError(f"Xvfb {display} exited with {proc.returncode}")
        import time
        time.sleep(0.05)
    old = os.environ.get("DISPLAY")
    os.environ["DISPLAY"] = display
    try:
        yield display
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if old is None:
            os.environ.pop("DISPLAY", None)
        else:
            os.environ["DISPLAY"] = old


def screenshot(path: Path, display: str):  # noqa: ANN201 - PIL image
    """The whole X screen as an RGB image (ImageMagick ``import``)."""
    from PIL import Image

    subprocess.run(["import", "-display", display, "-window", "root", f"png:{path}"], check=True, timeout=20)
    return Image.open(path).convert("RGB")


@pytest.fixture()
def shoot(xvfb: str) -> Callable[[Path], object]:
    """``shoot(path)``: a screenshot of the Xvfb display, saved at ``path``, as an RGB image."""
    return lambda path: screenshot(path, xvfb)


@dataclass(frozen=True)
class Pulse:
    """A private PulseAudio daemon with one null sink; ``env`` points clients at it."""

    env: dict[str, str]
    sink: str
    rate_hz: int

    def record(self, path: Path) -> subprocess.Popen:
        """Record the sink's monitor (raw s16le mono at ``rate_hz``) into ``path`` until terminated."""
        return subprocess.Popen(["parec", f"--device={self.sink}.monitor", "--format=s16le", f"--rate={self.rate_hz}",
                                 "--channels=1", "--raw", "--latency-msec=20", str(path)],
                                env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pulse]:
    """``pulseaudio`` as this user in its own runtime dir (no real session touched), with a
    16 kHz mono null sink ``screen`` as the default; stopped afterwards."""
    if shutil.which("pulseaudio") is None or shutil.which("parec") is None:
        pytest.fail("pulseaudio / parec not installed: run scripts/install.sh --test")
    with private_pulseaudio(tmp_path_factory.mktemp("pulse"), sink="screen", rate_hz=16000) as env:
        yield Pulse(env={**env, "PULSE_SINK": "screen"}, sink="screen", rate_hz=16000)
