"""The announcer of a screen (issue 21) with a real libVLC on its dummy audio output: calls said
one at a time in the order they came, the chime first, at most MAX_PENDING waiting (the oldest
left out), a failed fetch leaving the chime, the server's own chime not played after ours, and no
spooled file left behind."""
from __future__ import annotations

import math
import struct
import time
import wave
from pathlib import Path

import pytest

from signage import announce


def _tone(seconds: float, freq_hz: float) -> bytes:
    import io

    rate = 16000
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq_hz * i / rate)))
                               for i in range(int(seconds * rate))))
    return buf.getvalue()


@pytest.mark.slow
def test_calls_said_in_order_one_at_a_time_bounded(tmp_path: Path) -> None:
    import vlc

    chime = tmp_path / "chime.wav"
    chime.write_bytes(_tone(0.1, 1318.5))
    speech = _tone(0.2, 440.0)
    fetched: list[int] = []

    def fetch(call: int) -> tuple[bytes, str]:
        fetched.append(call)
        if call == 5:
            raise OSError("server unreachable")
        return speech, "chime" if call == 6 else "espeak-ng"

    instance = vlc.Instance(["--quiet", "--aout=adummy", "--no-video"])
    spool = tmp_path / "spool"
    spool.mkdir()
    a = announce.Announcer(instance=instance, screen="t", spool_dir=spool, chime_path=chime, fetch=fetch)
    try:
        for call in range(1, announce.MAX_PENDING + 3):       # 10 calls queued before the thread runs
            a.submit(call)
        a.submit(None)                                         # an older server: the chime only
        a.start()
        deadline = time.monotonic() + 60
        while a.calls < announce.MAX_PENDING and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        # the 3 oldest left out (8 wait at most), the rest said in order; None got no fetch
        assert fetched == list(range(4, announce.MAX_PENDING + 3)), fetched
        assert a.calls == announce.MAX_PENDING
        # 5 failed (chime only), 6 was the server's chime (ours played already)
        assert a.spoken == len(fetched) - 2
        assert list(spool.iterdir()) == []
    finally:
        a.close()
        instance.release()
