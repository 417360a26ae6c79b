"""``counterwatch signage`` as a process: the queue-call chime heard on a PulseAudio null
sink's monitor (and not heard without ``--chime``), the call then said in Mandarin (espeak-ng on
the API host; nothing on a muted box), and its Prometheus metrics."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient
from signage_helpers import serve, wait_for

from services.catalog import Catalog
from signage.chime import TONES_HZ
from storage.engine import make_engine
from storage.schema import upgrade

FRAME_S = 0.02


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tone_onsets(raw: bytes, *, rate_hz: int, freq_hz: float) -> list[float]:
    """Start times (s) of the 20 ms frames where ``freq_hz`` dominates and the level is above
    -40 dBFS."""
    x = np.frombuffer(raw[:len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
    n = int(rate_hz * FRAME_S)
    freqs = np.fft.rfftfreq(n, 1 / rate_hz)
    out = []
    for i in range(0, len(x) - n, n):
        frame = x[i:i + n]
        if np.sqrt(np.mean(frame ** 2)) < 0.01:
            continue
        spectrum = np.abs(np.fft.rfft(frame * np.hanning(n)))
        if abs(freqs[int(np.argmax(spectrum))] - freq_hz) <= 60:
            out.append(i / rate_hz)
    return out


@pytest.fixture()
def hall(tmp_path: Path, object_store, media):  # noqa: ANN001, ANN201
    """The API served on a port, a screen ``lobby`` playing two 2 s stills all day, and a
    token of the queue system."""
    from api.app import create_app
    from services.accounts import add_user

    eng = make_engine(f"sqlite:///{tmp_path / 'cw.db'}")
    upgrade(eng)
    Catalog(eng).add_counter("hall", "c1")
    app = create_app(engine=eng, store=object_store)
    server, thread, port = serve(app, 0)
    sup = TestClient(app, headers={
        "Authorization": f"Bearer {add_user(eng, 'sup', role='supervisor', sites=['hall']).token}"})
    ids = [sup.post("/api/v1/signage/content", params={"site": "hall", "name": f"{k}.png"},
                    content=media[k].read_bytes()).json()["id"] for k in ("blue_png", "yellow_png")]
    pl = sup.post("/api/v1/signage/playlists", json={"site": "hall", "name": "stills", "items": [
        {"content_id": i, "duration_s": 2} for i in ids]}).json()
    assert sup.post("/api/v1/signage/schedules", json={"site": "hall", "playlist_id": pl["id"],
                                                       "groups": ["hall"]}).status_code == 201
    agent = add_user(eng, "queue-system", role="events", sites=["hall"]).token
    try:
        yield {"base": f"http://127.0.0.1:{port}", "sup": sup, "agent": agent}
    finally:
        server.should_exit = True
        thread.join(10)
        eng.dispose()


def _player(hall: dict, tmp_path: Path, xvfb: str, pulse, *, name: str, extra: list[str]) -> subprocess.Popen:  # noqa: ANN001
    token = hall["sup"].post("/api/v1/signage/screens", json={"site": "hall", "name": name,
                                                              "groups": ["hall"]}).json()["token"]
    env = {**os.environ, **pulse.env, "DISPLAY": xvfb, "COUNTERWATCH_LOG_LEVEL": "INFO"}
    return subprocess.Popen([sys.executable, "-m", "counterwatch", "signage", "--screen", name, "--api", hall["base"],
                             "--token", token, "--windowed", "--cache", str(tmp_path / f"cache-{name}"), *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def speech_s(raw: bytes, *, rate_hz: int, after_s: float) -> tuple[float, float]:
    """Seconds of sound after ``after_s`` (20 ms frames above -40 dBFS) that are not the chime
    (neither of its tones dominates), and their loudest RMS."""
    x = np.frombuffer(raw[:len(raw) // 2 * 2], dtype="<i2").astype(np.float32) / 32768
    n = int(rate_hz * FRAME_S)
    freqs = np.fft.rfftfreq(n, 1 / rate_hz)
    frames, loudest = 0, 0.0
    for i in range(int(after_s * rate_hz) // n * n, len(x) - n, n):
        frame = x[i:i + n]
        rms = float(np.sqrt(np.mean(frame ** 2)))
        if rms < 0.01:
            continue
        peak = freqs[int(np.argmax(np.abs(np.fft.rfft(frame * np.hanning(n)))))]
        if all(abs(peak - f) > 60 for f in TONES_HZ):
            frames, loudest = frames + 1, max(loudest, rms)
    return frames * FRAME_S, loudest


def _metric(port: int, name: str) -> float:
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    except httpx.HTTPError:
        return 0.0
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))


def _call_and_listen(hall: dict, pulse, tmp_path: Path, ticket: str, *, name: str,  # noqa: ANN001
                     until: Callable[[], bool] | None = None, listen_s: float = 3.0) -> tuple[list[float], float]:
    """Record the sink, POST a queue call, listen ``listen_s`` (or until ``until()``, at most 60 s):
    (onsets of the chime's first tone after the POST, in s from the POST; seconds recorded before
    the POST)."""
    rec_path = tmp_path / f"{name}.raw"
    rec = pulse.record(rec_path)
    try:
        wait_for(lambda: rec_path.exists() and rec_path.stat().st_size > pulse.rate_hz * 2, 10,
                 "recording from the sink's monitor")
        before_s = rec_path.stat().st_size / 2 / pulse.rate_hz
        r = httpx.post(f"{hall['base']}/api/v1/events", headers={"Authorization": f"Bearer {hall['agent']}"},
                       json={"site": "hall", "counter": "c1", "kind": "queue_call", "ticket": ticket})
        assert r.status_code == 201, r.text
        if until is None:
            time.sleep(listen_s)
        else:
            wait_for(until, 60, "the call said")
            time.sleep(0.5)     # the tail through the sink
    finally:
        rec.terminate()
        rec.wait(10)
    raw = rec_path.read_bytes()
    onsets = [t - before_s for t in tone_onsets(raw, rate_hz=pulse.rate_hz, freq_hz=TONES_HZ[0])]
    assert not [t for t in onsets if t < -0.1], f"a tone before the call: {onsets}"
    return [t for t in onsets if t >= -0.1], before_s


@pytest.mark.slow
def test_chime_only_with_flag_and_metrics(hall, tmp_path: Path, xvfb: str, pulse) -> None:  # noqa: ANN001
    port = _free_port()
    # --no-announce: espeak-ng's speech has 20 ms frames where the chime's tone dominates (the
    # spoken call is the next test's)
    quiet = _player(hall, tmp_path, xvfb, pulse, name="quiet", extra=["--metrics-port", str(port), "--no-announce"])
    try:
        # metrics: a few 2 s items later, the played count is above zero
        def played() -> float:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
            except httpx.HTTPError:
                return 0.0
            return sum(float(line.split()[-1]) for line in text.splitlines()
                       if line.startswith('counterwatch_signage_items_played_total{kind="image"}'))
        wait_for(lambda: played() >= 3, 20, "three stills played")
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
        for name in ('counterwatch_signage_items_played_total{kind="image"}', "counterwatch_signage_transition_gap_ms_bucket",
                     "counterwatch_signage_offline_seconds_total", "counterwatch_signage_cache_bytes",
                     "counterwatch_signage_last_sync_timestamp_seconds"):
            assert name in text, name
        values = {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
                  if line and not line.startswith("#")}
        assert values['counterwatch_signage_items_played_total{kind="image"}'] >= 3
        assert values["counterwatch_signage_transition_gap_ms_count"] >= 2   # the newest may not have shown yet
        assert values["counterwatch_signage_cache_bytes"] > 0
        assert time.time() - values["counterwatch_signage_last_sync_timestamp_seconds"] < 10
        assert values["counterwatch_signage_offline_seconds_total"] == 0
        onsets, _ = _call_and_listen(hall, pulse, tmp_path, "A001", name="quiet")
        assert onsets == [], f"a chime without --chime: {onsets}"
    finally:
        quiet.terminate()
        out, _ = quiet.communicate(timeout=20)
    assert quiet.returncode == 0, out

    loud = _player(hall, tmp_path, xvfb, pulse, name="loud", extra=["--chime"])
    try:
        time.sleep(4.0)   # started and playing
        onsets, _ = _call_and_listen(hall, pulse, tmp_path, "A002", name="loud")
        assert onsets, "no chime heard after the queue call"
        first = onsets[0]
        print(f"chime: POST to tone on the sink {first:.2f} s")
        assert first < 2.0, onsets
        # the second note follows
        raw = (tmp_path / "loud.raw").read_bytes()
        assert tone_onsets(raw, rate_hz=pulse.rate_hz, freq_hz=TONES_HZ[1])
    finally:
        loud.terminate()
        out, _ = loud.communicate(timeout=20)
    assert loud.returncode == 0, out
    assert "chime for a new queue call" in out


@pytest.mark.slow
def test_a_new_call_is_said_after_the_chime_and_not_on_a_muted_box(hall, tmp_path: Path, xvfb: str,  # noqa: ANN001
                                                                     pulse) -> None:  # noqa: ANN001
    port = _free_port()
    said = 'counterwatch_signage_announcements_total{outcome="spoken"}'
    loud = _player(hall, tmp_path, xvfb, pulse, name="speaker", extra=["--chime", "--metrics-port", str(port)])
    try:
        wait_for(lambda: _metric(port, 'counterwatch_signage_items_played_total') >= 1, 30, "the player playing")
        onsets, before_s = _call_and_listen(hall, pulse, tmp_path, "A012", name="speaker",
                                            until=lambda: _metric(port, said) >= 1)
        raw = (tmp_path / "speaker.raw").read_bytes()
        assert onsets, "no chime heard after the queue call"
        # the call said after the chime: seconds of loud sound that is not the chime's tones
        heard_s, loudest = speech_s(raw, rate_hz=pulse.rate_hz, after_s=before_s + onsets[0] + 0.7)
        print(f"chime {onsets[0]:.2f} s after the POST, then {heard_s:.2f} s of speech (RMS up to {loudest:.2f})")
        assert heard_s >= 1.0 and loudest > 0.03, (heard_s, loudest)
        assert speech_s(raw, rate_hz=pulse.rate_hz, after_s=0.0)[0] - heard_s < 0.2, "speech before the chime"
    finally:
        loud.terminate()
        out, _ = loud.communicate(timeout=30)
    assert loud.returncode == 0, out
    assert "chime for a new queue call" in out and "announced queue call" in out and "(espeak-ng," in out, out

    muted = _player(hall, tmp_path, xvfb, pulse, name="muted", extra=["--chime", "--mute"])
    try:
        time.sleep(4.0)   # started and playing
        onsets, _ = _call_and_listen(hall, pulse, tmp_path, "A013", name="muted", listen_s=8.0)
        raw = (tmp_path / "muted.raw").read_bytes()
        assert onsets == [] and speech_s(raw, rate_hz=pulse.rate_hz, after_s=0.0)[0] == 0.0
    finally:
        muted.terminate()
        out, _ = muted.communicate(timeout=30)
    assert muted.returncode == 0, out
    assert "playing without sound (muted)" in out and "announced" not in out and "chime for" not in out
