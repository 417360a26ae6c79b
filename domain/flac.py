"""The chunk audio format: 16-bit FLAC, encoded and decoded in process with PyAV, and the one
parser of its STREAMINFO header.

FLAC keeps every sample bit for bit (the analysis and any later re-analysis hear exactly what
the microphone gave), roughly halves speech against raw PCM, and every tool in the chain
(FFmpeg, PyAV, browsers) plays it. The STREAMINFO header records the exact frame count, the
rate, the channels and an MD5 of the samples, so a reader can tell a truncated chunk.
"""
from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

import av
import numpy as np

from domain.audio import FULL_SCALE, SILENCE_DBFS, to_dbfs
from domain.errors import Invalid

CODEC: Final = "flac"
CONTENT_TYPE = "audio/flac"
# libavcodec's default. Measured on tests/data speech in 10 s chunks: level 5 gives 0.65-0.75
# MB/min mono and 1.0-1.2 MB/min stereo (raw PCM: 1.92 / 3.84), at 2-4 ms CPU per chunk;
# level 8 saves only 0.5-2.5 % for ~1.4x the CPU.
DEFAULT_COMPRESSION_LEVEL = 5

_LAYOUTS = {1: "mono", 2: "stereo"}


class CodecError(Invalid):
    """Audio that cannot be encoded, or bytes that do not decode as a FLAC chunk."""

    code = "bad_audio"

    def __init__(self, reason: str) -> None:
        super().__init__("FLAC", reason)


class TooManyFrames(CodecError):
    """A body that decodes to more frames than it may (a decompression bomb, or a lying header)."""


def encode_flac(pcm: np.ndarray, sample_rate_hz: int, *,
                compression_level: int = DEFAULT_COMPRESSION_LEVEL) -> bytes:
    """Encode int16 ``pcm`` shaped (frames, channels) as a FLAC file in memory.

    Raises:
        CodecError: ``pcm`` is not int16, not 1 or 2 channels, or empty.
    """
    if pcm.dtype != np.int16 or pcm.ndim != 2 or pcm.shape[1] not in _LAYOUTS:
        raise CodecError(f"expected int16 PCM shaped (frames, 1|2), got {pcm.dtype} {pcm.shape}")
    frames, channels = pcm.shape
    if frames == 0:
        raise CodecError("cannot encode an empty chunk")
    buf = io.BytesIO()
    # libavformat pads the FLAC header with 8 KiB for later tag edits unless told not to:
    # pure overhead for chunks nobody retags (a third of a 1 s mono chunk).
    with av.open(buf, "w", format="flac", options={"metadata_header_padding": "0"}) as container:
        stream = container.add_stream(CODEC, rate=sample_rate_hz, layout=_LAYOUTS[channels])
        stream.format = "s16"
        stream.codec_context.options = {"compression_level": str(compression_level)}
        # Packed s16 frames are one row of interleaved samples.
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm).reshape(1, -1), format="s16",
                                           layout=_LAYOUTS[channels])
        frame.sample_rate = sample_rate_hz
        frame.pts = 0
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buf.getvalue()


def decode_flac(data: bytes) -> np.ndarray:
    """Decode FLAC bytes to int16 PCM shaped (frames, channels), at the file's own rate.

    Raises:
        CodecError: ``data`` is not a decodable FLAC stream of 16-bit samples.
    """
    return decode_flac_rate(data)[0]


def decode_flac_rate(data: bytes) -> tuple[np.ndarray, int]:
    """:func:`decode_flac` and the rate the stream is decoded at (Hz).

    Raises:
        CodecError: ``data`` is not a decodable FLAC stream of 16-bit samples.
    """
    blocks, rate = [], 0
    for block, block_rate in _blocks(data):
        blocks.append(block)
        rate = block_rate
    if not blocks:
        raise CodecError("no audio frames in the FLAC data (empty, truncated or not FLAC)")
    return np.ascontiguousarray(np.concatenate(blocks)), rate


def _blocks(data: bytes) -> Iterator[tuple[np.ndarray, int]]:
    """The decoded frames of FLAC ``data``: int16 (frames, channels) blocks and their rate.

    Raises:
        CodecError: not a decodable FLAC stream of 16-bit samples.
    """
    try:
        container = av.open(io.BytesIO(data), "r", format="flac")
    except (av.error.FFmpegError, ValueError) as e:     # ValueError: tags that are not UTF-8
        raise CodecError(f"not a FLAC stream: {e}") from e
    try:
        if not container.streams.audio:
            raise CodecError("no audio stream in the FLAC data")
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        rate = int(stream.codec_context.sample_rate or 0)
        for frame in container.decode(stream):
            if frame.format.name == "s16":
                yield frame.to_ndarray().reshape(-1, channels), rate
            elif frame.format.name == "s16p":
                yield frame.to_ndarray().T, rate
            else:
                raise CodecError(f"expected 16-bit samples, got {frame.format.name}")
    except (av.error.FFmpegError, ValueError) as e:     # ValueError: frames that do not fit the stream
        raise CodecError(f"cannot decode FLAC: {e}") from e
    finally:
        container.close()


@dataclass(frozen=True)
class StreamInfo:
    sample_rate_hz: int
    channels: int
    bits_per_sample: int
    samples: int
    md5_hex: str


def flac_streaminfo(data: bytes) -> StreamInfo:
    """The STREAMINFO block of a FLAC file (always its first metadata block): 'fLaC', a 4-byte
    block header (type 0), 10 bytes of block and frame sizes, then 64 bits of rate (20),
    channels - 1 (3), bits - 1 (5) and total samples (36), then the samples' MD5.

    Raises:
        CodecError: not a FLAC file.
    """
    if len(data) < 42 or data[:4] != b"fLaC" or data[4] & 0x7F != 0:
        raise CodecError("not a FLAC file with a STREAMINFO block")
    bits = int.from_bytes(data[18:26], "big")
    return StreamInfo(sample_rate_hz=bits >> 44, channels=((bits >> 41) & 0x7) + 1,
                      bits_per_sample=((bits >> 36) & 0x1F) + 1, samples=bits & ((1 << 36) - 1),
                      md5_hex=data[26:42].hex())


@dataclass(frozen=True)
class DecodedChunk:
    """What a chunk's body holds once decoded (:func:`probe_flac`)."""

    header: StreamInfo
    samples: int
    sample_rate_hz: int
    channels: int
    #: sha256 of the decoded samples (int16, little-endian, interleaved): the audio's own hash,
    #: the same however it was encoded
    pcm_sha256: str
    #: the samples' MD5 matches the one STREAMINFO records (True where the header records none)
    md5_matches: bool
    #: the largest sample value (absolute; 0: digital silence)
    peak: int
    #: every channel holds one value throughout (silence or a constant offset: a dead microphone)
    constant: bool
    #: the sum of the squared sample values over all channels (the RMS level without decoding again)
    sum_squares: float = 0.0

    def levels_dbfs(self) -> tuple[float, float]:
        """RMS and peak level over all channels in dBFS, as :func:`domain.audio.level_dbfs` of the samples."""
        n = self.samples * self.channels
        if n == 0:
            return SILENCE_DBFS, SILENCE_DBFS
        return to_dbfs((self.sum_squares / n) ** 0.5 / FULL_SCALE), to_dbfs(self.peak / FULL_SCALE)


def probe_flac(data: bytes, *, max_frames: int) -> DecodedChunk:
    """Decode a whole FLAC chunk and describe what it really holds, one frame at a time (memory
    stays at one FLAC frame however much the body decodes to).

    Raises:
        CodecError: not FLAC, not decodable, or more than ``max_frames`` frames (a body that
        decodes to more than it states). A truncated file may also decode short: compare
        :attr:`DecodedChunk.samples` with ``header.samples``.
    """
    header = flac_streaminfo(data)
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    frames, lo, hi, rate, channels = 0, None, None, 0, 0
    constant = True
    sum_squares = 0.0
    first: np.ndarray | None = None
    for block, block_rate in _blocks(data):
        rate, channels = block_rate, block.shape[1]
        frames += block.shape[0]
        if frames > max_frames:
            raise TooManyFrames(f"decodes to more than {max_frames} frames")
        raw = block.astype("<i2", copy=False).tobytes()
        sha.update(raw)
        md5.update(raw)
        bmin, bmax = int(block.min()), int(block.max())
        wide = block.astype(np.float64)
        sum_squares += float(np.dot(wide.ravel(), wide.ravel()))
        lo, hi = bmin if lo is None else min(lo, bmin), bmax if hi is None else max(hi, bmax)
        if first is None:
            first = block[0].copy()
        if constant and not (block == first).all():
            constant = False
    if not frames:
        raise CodecError("no audio frames in the FLAC data (empty, truncated or not FLAC)")
    peak = max(abs(lo or 0), abs(hi or 0))
    md5_ok = header.md5_hex == "0" * 32 or md5.hexdigest() == header.md5_hex
    return DecodedChunk(header=header, samples=frames, sample_rate_hz=rate, channels=channels,
                        pcm_sha256=sha.hexdigest(), md5_matches=md5_ok, peak=peak, constant=constant,
                        sum_squares=sum_squares)
