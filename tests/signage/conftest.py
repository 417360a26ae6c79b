"""Signage fixtures beside the shared ones (``app_env``, ``pulse`` in tests/conftest.py): tiny
media made with ffmpeg, and an Xvfb display on a free number for the player tests."""
from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

COUNTERS = {"hall": ("c1", "c2", "c3"), "annex": ("a1",)}


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
