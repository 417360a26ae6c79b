"""Audio for the API: interactions as WAV with byte ranges, evidence files, live chunks.

Recordings are stored as FLAC chunks (10 s by default) numbered within a session; an
interaction is a sample range of one session. A WAV of it has a fixed 44-byte header and
then ``frames * channels * 2`` bytes of 16-bit PCM, so its size is known from the catalog
alone, and byte offset ``o`` of the data is frame ``o // (channels * 2)``: a Range request
is mapped to the few chunks that hold those frames, and only they are fetched and decoded.

No FastAPI here: the routes turn :class:`AudioUnavailable` and :class:`RangeNotSatisfiable`
into HTTP errors.
"""
from __future__ import annotations

import itertools
import logging
import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from recorder.encode import CodecError, decode_flac
from storage.catalog import chunks_of
from storage.db import Chunk, Interaction, Session as DbSession
from storage.objects import ObjectStore, StoreError, StoreUnavailable

logger = logging.getLogger(__name__)

WAV_HEADER_BYTES = 44
SAMPLE_BYTES = 2            # 16-bit PCM
_MAX_RIFF = 0xFFFFFFFF
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class AudioUnavailable(Exception):
    """The audio is not (or no longer) stored, or a chunk is damaged; ``damaged`` tells which."""

    def __init__(self, what: str, reason: str, *, damaged: bool = False) -> None:
        super().__init__(f"{what}: {reason}")
        self.what = what
        self.reason = reason
        self.damaged = damaged


class RangeNotSatisfiable(Exception):
    """A ``bytes=`` range outside a resource of ``size_bytes`` (answer 416)."""

    def __init__(self, header: str, size_bytes: int) -> None:
        super().__init__(f"range {header!r} not satisfiable for {size_bytes} bytes")
        self.header = header
        self.size_bytes = size_bytes


@dataclass(frozen=True)
class ChunkRef:
    seq: int
    key: str
    sha256: str
    start_sample: int
    samples: int

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.samples


@dataclass(frozen=True)
class AudioSpan:
    """Samples [start_sample, end_sample) of a session, and the chunks that hold them."""

    session_id: str
    start_sample: int
    end_sample: int
    sample_rate_hz: int
    channels: int
    chunks: tuple[ChunkRef, ...]

    @property
    def frames(self) -> int:
        return self.end_sample - self.start_sample

    @property
    def frame_bytes(self) -> int:
        return self.channels * SAMPLE_BYTES

    @property
    def wav_bytes(self) -> int:
        return WAV_HEADER_BYTES + self.frames * self.frame_bytes

    @property
    def etag(self) -> str:
        # Chunks are immutable once registered, so these three numbers name the bytes.
        return f'"{self.session_id}-{self.start_sample}-{self.end_sample}"'


def wav_header(*, sample_rate_hz: int, channels: int, data_bytes: int | None) -> bytes:
    """A 44-byte PCM WAV header; ``data_bytes=None``: an open-ended stream (largest size)."""
    block = channels * SAMPLE_BYTES
    if data_bytes is None:
        data_bytes = (_MAX_RIFF - 36) // block * block
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, channels,
                       sample_rate_hz, sample_rate_hz * block, block, 8 * SAMPLE_BYTES, b"data", data_bytes)


def parse_range(header: str | None, size_bytes: int) -> tuple[int, int] | None:
    """The inclusive byte range [first, last] a ``Range`` header asks of ``size_bytes``.

    None means "send it all": no header, another unit, or several ranges (RFC 9110 lets a
    server ignore those). ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` are understood; ``b``
    past the end is cut to the end.

    Raises:
        RangeNotSatisfiable: a bytes range that is malformed, reversed or starts at or past
            the end, or a zero-length suffix.
    """
    if not header:
        return None
    unit = header.split("=", 1)[0].strip().lower()
    if unit != "bytes" or "," in header:
        return None
    m = _RANGE.match(header)
    if not m or (not m.group(1) and not m.group(2)):
        raise RangeNotSatisfiable(header, size_bytes)
    a, b = m.group(1), m.group(2)
    if not a:                                   # suffix: the last n bytes
        n = int(b)
        if n == 0 or size_bytes == 0:
            raise RangeNotSatisfiable(header, size_bytes)
        return max(0, size_bytes - n), size_bytes - 1
    first = int(a)
    last = int(b) if b else size_bytes - 1
    if first >= size_bytes or last < first:
        raise RangeNotSatisfiable(header, size_bytes)
    return first, min(last, size_bytes - 1)


def _refs(rows) -> tuple[ChunkRef, ...]:  # noqa: ANN001 - Chunk rows
    return tuple(ChunkRef(c.seq, c.key, c.sha256, c.start_sample, c.samples) for c in rows)


def interaction_span(db: Session, interaction: Interaction) -> AudioSpan:
    """The stored audio of ``interaction``, checked to be covered by chunks without gaps.

    Raises:
        AudioUnavailable: a chunk of the range is not in the catalog (never stored, or removed
            by retention).
    """
    sess = db.get(DbSession, interaction.session_id)
    what = f"interaction {interaction.id}"
    if sess is None:
        raise AudioUnavailable(what, "its recording session is gone")
    start, end = interaction.start_sample, interaction.end_sample
    chunks = _refs(chunks_of(db, sess.id, from_sample=start, to_sample=end))
    expect = start
    for c in chunks:
        if c.start_sample > expect:
            raise AudioUnavailable(what, f"samples {expect}-{c.start_sample} are not stored")
        expect = max(expect, c.end_sample)
    if expect < end:
        raise AudioUnavailable(what, f"samples {expect}-{end} are not stored")
    return AudioSpan(sess.id, start, end, sess.sample_rate_hz, sess.channels, chunks)


def decode_chunk(store: ObjectStore, ref: ChunkRef, *, channels: int) -> np.ndarray:
    """The int16 samples (frames, channels) of one stored chunk, checked against the catalog.

    Raises:
        StoreUnavailable: the store cannot be reached; retry later.
        AudioUnavailable: the object is missing, fails its SHA-256, or does not decode to the
            catalogued number of samples (``damaged`` is True for the last two).
    """
    try:
        pcm = decode_flac(store.get_bytes(ref.key, expected_sha256=ref.sha256))
    except StoreUnavailable:
        raise
    except StoreError as e:
        raise AudioUnavailable(f"chunk {ref.key}", str(e), damaged=e.code != "NoSuchKey") from e
    except CodecError as e:
        raise AudioUnavailable(f"chunk {ref.key}", str(e), damaged=True) from e
    if pcm.shape != (ref.samples, channels):
        raise AudioUnavailable(f"chunk {ref.key}", f"decodes to {pcm.shape}, catalog says ({ref.samples}, {channels})",
                               damaged=True)
    return pcm


def iter_pcm(store: ObjectStore, span: AudioSpan, first_sample: int, end_sample: int) -> Iterator[np.ndarray]:
    """int16 blocks (frames, channels) of session samples [first_sample, end_sample), decoding
    only the chunks that overlap that range, one at a time."""
    for ref in span.chunks:
        if ref.end_sample <= first_sample or ref.start_sample >= end_sample:
            continue
        pcm = decode_chunk(store, ref, channels=span.channels)
        a, b = max(first_sample - ref.start_sample, 0), min(end_sample - ref.start_sample, ref.samples)
        yield pcm[a:b]


def wav_range(store: ObjectStore, span: AudioSpan, first: int, last: int) -> Iterator[bytes]:
    """Bytes [first, last] (inclusive) of the interaction's WAV file.

    The data part is cut from whole frames: frames ``(first-44) // frame_bytes`` up to the one
    holding byte ``last``, then trimmed to the exact bytes. The first chunk needed is fetched
    and decoded before this returns, so a missing or damaged start fails here, before any
    answer is sent; later chunks are fetched as the body is read.

    Raises:
        AudioUnavailable, StoreUnavailable: see :func:`decode_chunk` (here or while iterating).
    """
    head = b""
    if first < WAV_HEADER_BYTES:
        head = wav_header(sample_rate_hz=span.sample_rate_hz, channels=span.channels,
                          data_bytes=span.frames * span.frame_bytes)[first:min(last + 1, WAV_HEADER_BYTES)]
    if last < WAV_HEADER_BYTES:
        return iter([head])
    d0, d1 = max(first, WAV_HEADER_BYTES) - WAV_HEADER_BYTES, last + 1 - WAV_HEADER_BYTES
    fb = span.frame_bytes
    f0, f1 = d0 // fb, -(-d1 // fb)
    blocks = iter_pcm(store, span, span.start_sample + f0, span.start_sample + f1)
    first_block = next(blocks, None)
    return _wav_body(head, first_block, blocks, skip=d0 - f0 * fb, remaining=d1 - d0, session_id=span.session_id)


def _wav_body(head: bytes, first_block: np.ndarray | None, blocks: Iterator[np.ndarray], *, skip: int,
              remaining: int, session_id: str) -> Iterator[bytes]:
    if head:
        yield head
    for block in itertools.chain([] if first_block is None else [first_block], blocks):
        data = np.ascontiguousarray(block, dtype="<i2").tobytes()[skip:skip + remaining]
        skip = 0
        remaining -= len(data)
        if data:
            yield data
    if remaining:
        raise AudioUnavailable(f"session {session_id}", f"{remaining} bytes short of the catalogued length",
                               damaged=True)


def span_pcm(store: ObjectStore, span: AudioSpan) -> np.ndarray:
    """All samples of ``span`` as int16 (frames, channels)."""
    return np.concatenate(list(iter_pcm(store, span, span.start_sample, span.end_sample)))


# -- live ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveFormat:
    session_id: str
    sample_rate_hz: int
    channels: int


class LiveFollower:
    """Follows a counter's newest recording session through the catalog.

    Holds only a cursor (session and last chunk number), so any number of API processes can
    serve listeners of the same counter; everything else is read from the database on each
    :meth:`poll`.
    """

    def __init__(self, counter_id: int) -> None:
        self.counter_id = counter_id
        self.format: LiveFormat | None = None
        self.last_seq = -1

    def _newest_session(self, db: Session) -> DbSession | None:
        return db.scalar(select(DbSession).where(DbSession.counter_id == self.counter_id)
                         .order_by(DbSession.wall_start_s.desc()).limit(1))

    def start(self, db: Session, *, backlog_chunks: int = 1) -> LiveFormat | None:
        """Begin at the newest ``backlog_chunks`` stored chunks of the newest session (so a
        listener hears something at once); None if the counter has never recorded."""
        sess = self._newest_session(db)
        if sess is None:
            return None
        self.format = LiveFormat(sess.id, sess.sample_rate_hz, sess.channels)
        newest = db.scalar(select(Chunk.seq).where(Chunk.session_id == sess.id).order_by(Chunk.seq.desc()).limit(1))
        self.last_seq = -1 if newest is None else newest - max(backlog_chunks, 0)
        return self.format

    def poll(self, db: Session) -> list[ChunkRef]:
        """Chunks stored since the last poll, in order. When the agent has started a newer
        session with the same format, switch to it from its first chunk; a session in another
        format ends the stream (:class:`AudioUnavailable`)."""
        assert self.format is not None, "start() first"
        rows = _refs(db.scalars(select(Chunk).where(Chunk.session_id == self.format.session_id,
                                                    Chunk.seq > self.last_seq).order_by(Chunk.seq)))
        if rows:
            self.last_seq = rows[-1].seq
            return list(rows)
        sess = self._newest_session(db)
        if sess is not None and sess.id != self.format.session_id:
            if (sess.sample_rate_hz, sess.channels) != (self.format.sample_rate_hz, self.format.channels):
                raise AudioUnavailable(f"counter {self.counter_id}", "new session has another audio format")
            logger.info("live: counter %s: following new session %s", self.counter_id, sess.id)
            self.format = LiveFormat(sess.id, sess.sample_rate_hz, sess.channels)
            self.last_seq = -1
            return self.poll(db)
        return []
