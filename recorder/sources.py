"""Audio capture sources: blocks of int16 PCM at 16 kHz, shaped (frames, channels).

Two backends behind one small interface:

* ``pyaudio:<device>`` — a PortAudio input device, by index (``pyaudio:3``) or by a
  case-insensitive substring of its name (``pyaudio:pulse``, ``pyaudio:default``).
* ``ffmpeg:<input>`` — anything FFmpeg reads, decoded and resampled by an ``ffmpeg`` child
  process writing raw s16le to a pipe: a file (played in real time with ``-re`` and ending at
  its end), an ``rtsp://`` URL, an ``.sdp`` file, or a capture device written
  ``<format>:<device>`` (``ffmpeg:alsa:hw:1,0``, ``ffmpeg:pulse:counter1.monitor``).

Every source has ``start()``, ``read()`` (a block, or ``None`` once the source has ended)
and ``stop()``; failures raise :class:`SourceError`.
"""
from __future__ import annotations

import collections
import logging
import os
import re
import subprocess
import threading
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING

import numpy as np

from domain.audio import SAMPLE_RATE_HZ
from domain.errors import DomainError

if TYPE_CHECKING:
    import pyaudio

logger = logging.getLogger("recorder")

DEFAULT_BLOCK_FRAMES = 1600  # 100 ms at 16 kHz

# "<format>:<device>" inputs that name an FFmpeg capture device rather than a file or URL.
_DEVICE_FORMATS = ("alsa", "pulse", "oss", "jack", "lavfi", "v4l2", "dshow", "avfoundation")
_STDERR_TAIL_LINES = 20


class SourceError(DomainError):
    """A capture source could not be opened or failed while reading."""

    code = "audio_source"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"audio source {source!r}", reason)
        self.source = source


class Source(ABC):
    """A started source yields blocks of ``block_frames`` frames (the last one may be shorter)."""

    def __init__(self, spec: str, *, channels: int, block_frames: int, sample_rate_hz: int) -> None:
        if channels not in (1, 2):
            raise ValueError(f"channels must be 1 or 2, not {channels}")
        if block_frames <= 0:
            raise ValueError(f"block_frames must be positive, not {block_frames}")
        self.spec = spec
        self.channels = channels
        self.block_frames = block_frames
        self.sample_rate_hz = sample_rate_hz
        self.frames_read = 0  # frames handed out by read() so far

    @abstractmethod
    def start(self) -> None:
        """Open the device or spawn the decoder. Raises :class:`SourceError`."""

    @abstractmethod
    def read(self) -> np.ndarray | None:
        """Block until the next block is captured; ``None`` once the source has ended.

        Returns an int16 array shaped (frames, channels). Raises :class:`SourceError`.
        """

    @abstractmethod
    def stop(self) -> None:
        """Release the device or child process; safe to call twice or before ``start()``."""

    def __enter__(self) -> Source:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r}, channels={self.channels})"


def parse_source(spec: str, *, channels: int, block_frames: int = DEFAULT_BLOCK_FRAMES,
                 sample_rate_hz: int = SAMPLE_RATE_HZ) -> Source:
    """Build the source that ``spec`` names (``pyaudio:<device>`` or ``ffmpeg:<input>``).

    Raises:
        SourceError: the prefix is unknown or the device/input part is empty.
    """
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise SourceError(spec, "expected 'pyaudio:<device name or index>' or 'ffmpeg:<input>'")
    if kind == "pyaudio":
        device: int | str = int(rest) if rest.isdigit() else rest
        return PyAudioSource(device, channels=channels, block_frames=block_frames,
                             sample_rate_hz=sample_rate_hz)
    if kind == "ffmpeg":
        fmt, sep, dev = rest.partition(":")
        if sep and fmt in _DEVICE_FORMATS and dev:
            return FfmpegSource(dev, input_format=fmt, channels=channels, block_frames=block_frames,
                                sample_rate_hz=sample_rate_hz)
        return FfmpegSource(rest, channels=channels, block_frames=block_frames,
                            sample_rate_hz=sample_rate_hz)
    raise SourceError(spec, f"unknown source type {kind!r}: use 'pyaudio:' or 'ffmpeg:'")


class PyAudioSource(Source):
    """A PortAudio input device read in blocking mode.

    ``device`` is an index or a case-insensitive substring of the device name; with the
    PulseAudio ALSA plugin, ``"pulse"`` plus ``PULSE_SOURCE=<source>`` in the environment
    picks a PulseAudio source. PortAudio resamples when the device runs at another rate.
    """

    def __init__(self, device: int | str, *, channels: int, block_frames: int = DEFAULT_BLOCK_FRAMES,
                 sample_rate_hz: int = SAMPLE_RATE_HZ) -> None:
        super().__init__(f"pyaudio:{device}", channels=channels, block_frames=block_frames,
                         sample_rate_hz=sample_rate_hz)
        self.device = device
        self._behind = False
        self._pa: pyaudio.PyAudio | None = None
        self._stream: pyaudio.Stream | None = None

    def start(self) -> None:
        import pyaudio  # imported here: PortAudio probes every host API when loaded

        if self._stream is not None:
            return
        self._pa = pa = pyaudio.PyAudio()
        try:
            index = self._find_device(pa)
            try:
                self._stream = pa.open(
                    format=pyaudio.paInt16, channels=self.channels, rate=self.sample_rate_hz,
                    input=True, input_device_index=index, frames_per_buffer=self.block_frames,
                )
            except (OSError, ValueError) as e:
                raise SourceError(self.spec, f"cannot open input device {index} at "
                                  f"{self.sample_rate_hz} Hz, {self.channels} ch: {e}") from e
        except BaseException:
            pa.terminate()
            self._pa = None
            raise
        logger.info("source %s: opened device %d at %d Hz, %d ch", self.spec, index,
                    self.sample_rate_hz, self.channels)

    def _find_device(self, pa: pyaudio.PyAudio) -> int:
        devices = [pa.get_device_info_by_index(i) for i in range(pa.get_device_count())]
        inputs = [d for d in devices if int(d.get("maxInputChannels", 0)) > 0]
        names = ", ".join(f"{int(d['index'])}:{d['name']}" for d in inputs) or "none"
        if isinstance(self.device, int):
            match = [d for d in inputs if int(d["index"]) == self.device]
        else:
            wanted = self.device.lower()
            exact = [d for d in inputs if str(d["name"]).lower() == wanted]
            match = exact or [d for d in inputs if wanted in str(d["name"]).lower()]
        if not match:
            raise SourceError(self.spec, f"no input device matches {self.device!r} "
                              f"(input devices: {names})")
        info = match[0]
        if int(info["maxInputChannels"]) < self.channels:
            raise SourceError(self.spec, f"device {info['name']!r} has only "
                              f"{int(info['maxInputChannels'])} input channel(s)")
        return int(info["index"])

    def read(self) -> np.ndarray | None:
        if self._stream is None:
            raise SourceError(self.spec, "read() before start()")
        behind = self._stream.get_read_available() > 4 * self.block_frames
        if behind and not self._behind:
            # We are falling behind; PortAudio overflows (and loses audio) if this goes on.
            logger.warning("source %s: reader falling behind the device", self.spec)
        self._behind = behind
        try:
            # exception_on_overflow=False: on an overflow PyAudio would otherwise throw the
            # block it did read away; the frames lost inside PortAudio are gone either way.
            data = self._stream.read(self.block_frames, exception_on_overflow=False)
        except OSError as e:
            raise SourceError(self.spec, f"reading the input device failed: {e}") from e
        block = np.frombuffer(data, dtype=np.int16).reshape(-1, self.channels)
        self.frames_read += block.shape[0]
        return block

    def stop(self) -> None:
        stream, self._stream = self._stream, None
        pa, self._pa = self._pa, None
        if stream is not None:
            try:
                stream.stop_stream()
            finally:
                stream.close()
        if pa is not None:
            pa.terminate()


class FfmpegSource(Source):
    """An ``ffmpeg`` child process decoding ``input`` to s16le at ``sample_rate_hz`` on a pipe.

    ``realtime`` (default: ``input`` is a regular file other than ``.sdp``) adds ``-re`` so a
    file plays at its own speed like a live feed; a file source ends at the end of the file.
    """

    def __init__(self, input: str, *, channels: int, block_frames: int = DEFAULT_BLOCK_FRAMES,
                 sample_rate_hz: int = SAMPLE_RATE_HZ, input_format: str | None = None,
                 realtime: bool | None = None, input_options: dict[str, str] | None = None,
                 ffmpeg_cmd: str = "ffmpeg") -> None:
        spec = f"ffmpeg:{input_format}:{input}" if input_format else f"ffmpeg:{input}"
        super().__init__(spec, channels=channels, block_frames=block_frames, sample_rate_hz=sample_rate_hz)
        self.input = input
        self.input_format = input_format
        is_file = input_format is None and os.path.isfile(input)
        is_sdp = input.lower().endswith(".sdp")
        self.realtime = (is_file and not is_sdp) if realtime is None else realtime
        options: dict[str, str] = {}
        if input_format:
            options["f"] = input_format
        if is_sdp:
            options["protocol_whitelist"] = "file,udp,rtp"
        if re.match(r"^rtsps?://", input, re.IGNORECASE):
            options["rtsp_transport"] = "tcp"
        options.update(input_options or {})
        self.input_options = options
        self.ffmpeg_cmd = ffmpeg_cmd
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_thread: threading.Thread | None = None
        self._ended = False

    def command(self) -> list[str]:
        """The ffmpeg command line this source runs."""
        import ffmpeg

        opts: dict[str, str | None] = dict(self.input_options)
        if self.realtime:
            opts["re"] = None
        stream = ffmpeg.input(self.input, **opts).output(
            "pipe:", format="s16le", acodec="pcm_s16le", ac=self.channels, ar=self.sample_rate_hz,
        )
        args = stream.global_args("-nostdin", "-hide_banner", "-loglevel", "error").compile(cmd=self.ffmpeg_cmd)
        # ffmpeg-python renders a None-valued option as "-re None"; drop the stray value.
        out: list[str] = []
        for a in args:
            if a == "None" and out and out[-1] == "-re":
                continue
            out.append(a)
        return out

    def start(self) -> None:
        if self._proc is not None:
            return
        if self.input_format is None and "://" not in self.input and not os.path.exists(self.input):
            raise SourceError(self.spec, f"no such file: {self.input}")
        cmd = self.command()
        logger.info("source %s: running %s", self.spec, " ".join(cmd))
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
        except OSError as e:
            raise SourceError(self.spec, f"cannot run {self.ffmpeg_cmd}: {e}") from e
        self._ended = False
        self._stderr_thread = threading.Thread(target=self._drain_stderr, args=(self._proc,),
                                               name="ffmpeg-stderr", daemon=True)
        self._stderr_thread.start()

    def _drain_stderr(self, proc: subprocess.Popen[bytes]) -> None:
        # ffmpeg blocks once the stderr pipe fills; keep reading it and remember the tail.
        assert proc.stderr is not None  # start() runs ffmpeg with stderr=PIPE
        for raw in proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self._stderr_tail.append(line)

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr_tail)

    def read(self) -> np.ndarray | None:
        if self._proc is None:
            raise SourceError(self.spec, "read() before start()")
        if self._ended:
            return None
        frame_bytes = 2 * self.channels
        want = self.block_frames * frame_bytes
        buf = bytearray()
        assert self._proc.stdout is not None  # start() runs ffmpeg with stdout=PIPE
        while len(buf) < want:
            piece = self._proc.stdout.read(want - len(buf))
            if not piece:
                break
            buf += piece
        if len(buf) < want:
            self._ended = True
            rc = self._proc.wait()
            if self._stderr_thread is not None:
                self._stderr_thread.join(timeout=2.0)
            if rc != 0:
                tail = self.stderr_tail() or "(no output)"
                raise SourceError(self.spec, f"ffmpeg exited with status {rc}:\n{tail}")
            buf = buf[: len(buf) - len(buf) % frame_bytes]
            if not buf:
                logger.info("source %s: ended after %d frames", self.spec, self.frames_read)
                return None
        block = np.frombuffer(bytes(buf), dtype=np.int16).reshape(-1, self.channels)
        self.frames_read += block.shape[0]
        return block

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        assert proc.stdout is not None  # start() runs ffmpeg with stdout=PIPE
        proc.stdout.close()
        if self._stderr_thread is not None:
            self._stderr_thread.join(timeout=2.0)


def decode_file(path: str | os.PathLike[str], *, channels: int, block_frames: int = SAMPLE_RATE_HZ * 30) -> np.ndarray:
    """Every frame of the audio file ``path`` as int16 (frames, channels) at 16 kHz, decoded by
    ffmpeg as fast as it can (the file source, not in real time)."""
    src = FfmpegSource(str(path), channels=channels, realtime=False, block_frames=block_frames)
    src.start()
    try:
        blocks = []
        while (b := src.read()) is not None:
            blocks.append(b)
    finally:
        src.stop()
    return np.concatenate(blocks)
