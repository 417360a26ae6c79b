"""Audio for the API: interactions as WAV with byte ranges, evidence files, live chunks.

Recordings are stored as FLAC chunks (10 s by default) numbered within a session; an
interaction is a sample range of one session. A WAV of it has a fixed 44-byte header and
then ``frames * channels * 2`` bytes of 16-bit PCM, so its size is known from the catalog
alone, and byte offset ``o`` of the data is frame ``o // (channels * 2)``: a Range request
is mapped to the few chunks that hold those frames, and only they are fetched and decoded.

Errors are typed: :class:`AudioNotStored` (404), :class:`AudioDamaged` (a chunk fails its
checksum or decodes wrong) and :class:`RangeNotSatisfiable` (416).
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

from domain.audio import SAMPLE_BYTES, WAV_HEADER_BYTES, wav_header
from domain.errors import Damaged, DomainError, Invalid, NotFound
from domain.flac import CodecError, decode_flac, encode_flac
from storage.objects import ObjectStore
from storage.queries import chunks_of
from storage.store_errors import StoreError, StoreUnavailable
from storage.tables import Chunk, Interaction, RecordingSession

logger = logging.getLogger(__name__)

_MAX_DIGITS = 19
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class AudioUnavailable(DomainError):
    """The audio cannot be served: not (or no longer) stored, or damaged."""


class AudioNotStored(AudioUnavailable, NotFound):
    """The audio is not (or no longer) stored: never uploaded, or removed by retention."""

    code = "audio_not_stored"


class AudioDamaged(AudioUnavailable, Damaged):
    """A stored chunk fails its SHA-256 or does not decode to the catalogued samples."""

    code = "audio_damaged"

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(what, f"stored audio is damaged: {reason}")


class RangeNotSatisfiable(Invalid):
    """A ``bytes=`` range outside a resource of ``size_bytes`` (answer 416)."""

    code = "range_not_satisfiable"

    def __init__(self, header: str, size_bytes: int) -> None:
        super().__init__(f"range {header[:40]!r}", f"not satisfiable for {size_bytes} bytes", size_bytes=size_bytes)
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
    # More digits than any file size has: read as "past the end", never parsed (Python refuses
    # to parse integers of more than 4300 digits, which answered 500; issue 11).
    a, b = (x if len(x) <= _MAX_DIGITS else "9" * _MAX_DIGITS for x in (m.group(1), m.group(2)))
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


def refs(rows: Iterable[Chunk]) -> tuple[ChunkRef, ...]:
    return tuple(ChunkRef(c.seq, c.key, c.sha256, c.start_sample, c.samples) for c in rows)


def interaction_span(db: Session, interaction: Interaction) -> AudioSpan:
    """The stored audio of ``interaction``, checked to be covered by chunks without gaps.

    Raises:
        AudioUnavailable: a chunk of the range is not in the catalog (never stored, or removed
            by retention).
    """
    sess = db.get(RecordingSession, interaction.session_id)
    what = f"interaction {interaction.id}"
    if sess is None:
        raise AudioNotStored(what, "its recording session is gone")
    start, end = interaction.start_sample, interaction.end_sample
    chunks = refs(chunks_of(db, sess.id, from_sample=start, to_sample=end))
    expect = start
    for c in chunks:
        if c.start_sample > expect:
            raise AudioNotStored(what, f"samples {expect}-{c.start_sample} are not stored")
        expect = max(expect, c.end_sample)
    if expect < end:
        raise AudioNotStored(what, f"samples {expect}-{end} are not stored")
    return AudioSpan(sess.id, start, end, sess.sample_rate_hz, sess.channels, chunks)


def decode_chunk(store: ObjectStore, ref: ChunkRef, *, channels: int) -> np.ndarray:
    """The int16 samples (frames, channels) of one stored chunk, checked against the catalog.

    Raises:
        StoreUnavailable: the store cannot be reached; retry later.
        AudioUnavailable: the object is missing, fails its SHA-256, or does not decode to the
            catalogued number of samples (:class:`AudioDamaged` for the last two).
    """
    try:
        pcm = decode_flac(store.get_bytes(ref.key, expected_sha256=ref.sha256))
    except StoreUnavailable:
        raise
    except StoreError as e:
        if e.code == "NoSuchKey":
            raise AudioNotStored(f"chunk {ref.key}", "missing from the store") from e
        raise AudioDamaged(f"chunk {ref.key}", str(e)) from e
    except CodecError as e:
        raise AudioDamaged(f"chunk {ref.key}", str(e)) from e
    if pcm.shape != (ref.samples, channels):
        raise AudioDamaged(f"chunk {ref.key}", f"decodes to {pcm.shape}, catalog says ({ref.samples}, {channels})")
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
        raise AudioDamaged(f"session {session_id}", f"{remaining} bytes short of the catalogued length")


def span_pcm(store: ObjectStore, span: AudioSpan) -> np.ndarray:
    """All samples of ``span`` as int16 (frames, channels)."""
    return np.concatenate(list(iter_pcm(store, span, span.start_sample, span.end_sample)))


@dataclass(frozen=True)
class EvidenceFile:
    """An interaction's audio as one file to keep, with its SHA-256."""

    data: bytes
    media_type: str
    filename: str
    sha256: str
    span: AudioSpan


def evidence_file(store: ObjectStore, span: AudioSpan, *, site: str, counter: str, interaction_id: int,
                  wall_start_s: float, format: str) -> EvidenceFile:  # noqa: A002 - the API's name
    """The whole interaction as FLAC (lossless) or WAV; every sample checked against the chunk
    checksums recorded at upload.

    Raises:
        AudioNotStored, AudioDamaged, StoreUnavailable.
    """
    pcm = span_pcm(store, span)
    if format == "flac":
        data, media = encode_flac(pcm, span.sample_rate_hz), "audio/flac"
    else:
        data = wav_header(sample_rate_hz=span.sample_rate_hz, channels=span.channels,
                          data_bytes=pcm.size * SAMPLE_BYTES) + pcm.astype("<i2").tobytes()
        media = "audio/wav"
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(wall_start_s))
    # site and counter names are checked at registration: letters, digits, '-' and '_' only.
    filename = f"{site}_{counter}_{stamp}_i{interaction_id}.{format}"
    return EvidenceFile(data, media, filename, hashlib.sha256(data).hexdigest(), span)
