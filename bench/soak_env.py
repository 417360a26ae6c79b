"""Pieces of the soak and fault test (bench/soak.py): a PostgreSQL cluster that can be
stopped hard, process helpers, and the input audio the agents play."""
from __future__ import annotations

import glob
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RATE_HZ = 16000
SPEECH_FILES = {  # tests/data: real dialogue audio that every checkout has
    2: ["dev01-stereo-clean.flac", "dev05-stereo-clean.flac", "dev07-stereo-clean.flac", "dev14-stereo-clean.flac"],
    1: ["dev08-mono-noisy.flac", "dev24-mono-noisy.flac"],
}


# -- the servers ------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


class PgCluster:
    """A private PostgreSQL cluster on loopback (as tests/conftest.py starts one), run by
    ``pg_ctl`` so the postmaster is its own process that can be stopped hard."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install.sh --test")
        self.bindir = os.path.dirname(bins[-1])
        # Its own folder under /tmp: as root the cluster runs as 'postgres', which cannot
        # enter private folders such as pytest's tmp_path.
        root = Path(tempfile.mkdtemp(prefix="cw-soak-pg-"))
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:   # initdb refuses to run as root
            shutil.chown(root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.as_user, f"{self.bindir}/initdb", "-D", str(self.data), "-A", "trust", "-U", "cw",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://cw@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", str(self.data), *args],
                              check=check, capture_output=True, text=True, timeout=120)

    def start(self) -> None:
        # fsync stays on: an immediate stop is a crash, and the restart must recover from the WAL.
        self._ctl("-w", "-t", "90", "-l", str(self.log), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=100", "start")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def stop_immediate(self) -> None:
        self._ctl("-m", "immediate", "stop", check=False)

    def sigkill(self) -> None:
        """SIGKILL the postmaster, then its children (they would linger on the shared memory)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        kids = _children(pid)
        os.kill(pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in [pid, *kids]) and time.monotonic() < deadline:
            time.sleep(0.05)

    def answers(self) -> bool:
        r = subprocess.run([f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
                           capture_output=True)
        return r.returncode == 0

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop", check=False)

    def remove(self, *, keep_log_in: Path | None = None) -> None:
        """Stop the cluster and delete its folder (copying its log to ``keep_log_in`` first)."""
        self.stop()
        if keep_log_in is not None and self.log.exists():
            shutil.copy(self.log, keep_log_in / "postgres.log")
        shutil.rmtree(self.root, ignore_errors=True)


# -- input audio --------------------------------------------------------------------------------------

def decode_input(path: Path, channels: int) -> np.ndarray:
    """Every frame of ``path`` as int16 (frames, channels) at 16 kHz, decoded by ffmpeg."""
    from recorder.sources import decode_file

    return decode_file(path, channels=channels)


def make_input(path: Path, *, channels: int, length_s: float, rng: random.Random) -> list[tuple[int, int]]:
    """Write a WAV of dialogues from tests/data separated by 10-25 s of silence, at least
    ``length_s`` long; return where the dialogues are (sample ranges)."""
    clips = [decode_input(ROOT / "tests" / "data" / n, channels) for n in SPEECH_FILES[channels]]
    parts, placed, pos = [], [], 0
    while pos < length_s * RATE_HZ:
        gap = np.zeros((int(rng.uniform(10, 25) * RATE_HZ), channels), dtype=np.int16)
        clip = rng.choice(clips)
        parts += [gap, clip]
        placed.append((pos + len(gap), pos + len(gap) + len(clip)))
        pos += len(gap) + len(clip)
    pcm = np.concatenate(parts)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(RATE_HZ)
        w.writeframes(np.ascontiguousarray(pcm).tobytes())
    return placed
