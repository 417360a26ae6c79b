"""The screen player from a plain install: a fresh virtual environment with counterwatch and its
runtime dependencies only (no test extras), as on the box in the waiting area."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]



@pytest.mark.slow
def test_player_starts_from_an_install_without_test_extras(tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # Really without the test extras: the browser driver is not there.
    probe = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('playwright') is None)"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "True", probe.stdout + probe.stderr
    # Every module of the player imports, and the command answers.
    imports = ("import signage.player, signage.sync, signage.slides, signage.schedule, signage.chime, "
               "signage.metrics, counterwatch.cli")
    r = subprocess.run([str(py), "-c", imports], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(venv / "bin" / "counterwatch"), "signage", "--help"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "--screen" in r.stdout, r.stdout + r.stderr


SPEECH_AND_SERVER = ("faster_whisper", "ctranslate2", "onnxruntime", "av", "numpy", "sqlalchemy", "psycopg",
                     "fastapi", "uvicorn", "minio", "pyaudio")


def _requirements() -> list[str]:
    return [line.strip() for line in (ROOT / "requirements-screen.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_screen_requirements_are_the_projects_own() -> None:
    """requirements-screen.txt names each package exactly as pyproject.toml does: one version range."""
    import tomllib

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert _requirements() and all(r in deps for r in _requirements()), (_requirements(), deps)


@pytest.mark.slow
def test_screen_box_from_the_screen_install_plays_on_debians_python(tmp_path: Path, object_store, media,
                                                                     shoot, xvfb: str) -> None:  # noqa: ANN001
    """scripts/install_screen.sh on Debian's own Python (/usr/bin/python3, Tk from python3-tk):
    under 150 MB of Python packages, no speech stack, database or server; its
    ``counterwatch-screen signage`` plays the schedule in a real X window, and on a box without
    a sound device it says it plays without sound and logs no ALSA errors."""
    import os
    import time

    from fastapi.testclient import TestClient
    from signage_helpers import serve, wait_for

    from api.app import create_app
    from services.accounts import add_user
    from services.catalog import Catalog
    from storage.engine import make_engine
    from storage.schema import upgrade

    venv = tmp_path / "screen-venv"
    r = subprocess.run(["bash", str(ROOT / "scripts" / "install_screen.sh"), "--venv", str(venv)],
                       capture_output=True, text=True, timeout=900, env={**os.environ, "PYTHON": "/usr/bin/python3"})
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    py = venv / "bin" / "python"
    assert subprocess.run([str(py), "-c", "import sys; print(sys.base_prefix)"], capture_output=True, text=True,
                          check=True).stdout.strip() == "/usr"            # Debian's Python, not the test runner's
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    size_mb = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6
    print(f"screen install: {size_mb:.1f} MB of Python packages in {site}")
    assert size_mb < 150, size_mb
    probe = f"import importlib.util as u; print(','.join(m for m in {SPEECH_AND_SERVER!r} if u.find_spec(m)))"
    found = subprocess.run([str(py), "-c", probe], capture_output=True, text=True, cwd=tmp_path, check=True)
    assert found.stdout.strip() == "", f"the screen box got {found.stdout.strip()}"

    eng = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    upgrade(eng)
    Catalog(eng).add_counter("hall", "c1")
    app = create_app(engine=eng, store=object_store)
    server, thread, port = serve(app, 0)
    sup = TestClient(app, headers={
        "Authorization": f"Bearer {add_user(eng, 'sup', role='supervisor', sites=['hall']).token}"})
    token = sup.post("/api/v1/signage/screens", json={"site": "hall", "name": "lobby"}).json()["token"]
    blue = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "blue.png"},
                    content=media["blue_png"].read_bytes()).json()["id"]
    green = sup.post("/api/v1/signage/content", params={"site": "hall", "name": "green.mp4"},
                     content=media["green"].read_bytes()).json()["id"]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "p", "items": [
        {"content_id": blue, "duration_s": 2}, {"content_id": green, "duration_s": 2}]}).json()
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"],
                                                       "screens": ["lobby"]}).status_code == 201
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULSE_", "VIRTUAL_ENV", "PYTHON"))}
    env.update({"DISPLAY": xvfb, "XDG_RUNTIME_DIR": str(runtime), "COUNTERWATCH_LOG_LEVEL": "INFO",
                "PATH": f"{venv / 'bin'}:/usr/bin:/bin"})
    log = tmp_path / "player.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([str(venv / "bin" / "counterwatch-screen"), "signage", "--screen", "lobby",
                                 "--api", f"http://127.0.0.1:{port}", "--token", token,
                                 "--cache", str(tmp_path / "cache")],
                                env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    shots = tmp_path / "shots"
    shots.mkdir()
    n = [0]

    def colour() -> tuple[int, int, int]:
        n[0] += 1
        return shoot(shots / f"{n[0]:03d}.png").getpixel((640, 300))

    def near(px, rgb, tol=40) -> bool:  # noqa: ANN001
        return all(abs(a - b) <= tol for a, b in zip(px, rgb))
    try:
        wait_for(lambda: near(colour(), (0, 0, 230)), 30, "the image from the screen install")
        wait_for(lambda: near(colour(), (0, 200, 0)), 10, "the video from the screen install")
        time.sleep(2.5)    # a few more transitions
        assert proc.poll() is None, log.read_text()[-3000:]
    finally:
        proc.terminate()
        proc.wait(20)
        server.should_exit = True
        thread.join(10)
        eng.dispose()
    text = log.read_text()
    assert "playing without sound (no sound device)" in text, text[-3000:]
    assert "ALSA" not in text and "alsa" not in text, text[-3000:]
