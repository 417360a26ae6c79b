"""The server is the clock and the judge of evidence (issue 18, item 2).

An agent's token lets it write its counter's chunks, and everything a chunk claims is checked
against what the server knows before anything is stored:

* **What it holds.** The body is decoded whole (PyAV): its samples, rate and channels must be
  what the metadata and the FLAC header say, and the samples' MD5 what the header records. A
  truncated file or a header that lies ("16,000 samples", 8,000 in the body) is refused.
* **When it was.** The server's clock, not the agent's, bounds a claimed time: audio that would
  end after now (plus :attr:`EvidenceLimits.clock_skew_s`) is refused, and so is audio older
  than the backlog an agent may still be sending (:attr:`EvidenceLimits.max_backlog_s`, and
  never older than the site keeps recordings). Within a recording every chunk names the same
  start and no chunk overlaps its neighbours. What arrives late (an outage's backlog) is kept
  with both times, claimed and received, and shown as 补传.
* **That it is new.** The sha256 of the decoded samples is kept with each chunk's claim: the
  same audio under another recording or number is a replay, refused (409), alarmed and
  audited; so is audio that retention deleted, recognised by the tombstone retention keeps
  (that hash, the counter and the recording time: no audio, no text). Digital silence (a dead
  microphone gives byte-identical chunks) and chunks that hold one value throughout are not
  judged: identical silence proves nothing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.chunks import ChunkMeta
from domain.errors import Conflict, Invalid
from domain.flac import CodecError, DecodedChunk, TooManyFrames, probe_flac
from storage.tables import Chunk, ChunkClaim, ChunkTombstone, RecordingSession

DAY_S = 86400.0
#: A chunk whose loudest sample is at most this (about -54 dBFS) is treated as silence: a
#: microphone that is off or dead gives byte-identical chunks, legitimately.
SILENT_PEAK = 64


@dataclass(frozen=True)
class EvidenceLimits:
    """How far the server believes an agent's clock."""

    #: how far in the server's future a chunk may end (agents' clocks drift; NTP keeps them close)
    clock_skew_s: float = 120.0
    #: how far back a chunk may start: the backlog an agent's spool can hold after an outage
    max_backlog_s: float = 14 * DAY_S


class ChunkMismatch(Invalid):
    """A chunk body or claim the server does not believe (422), naming what is wrong."""

    code = "chunk_mismatch"


class ChunkTime(Invalid):
    """A chunk placed where the server's clock says it cannot be (the future, or too far back)."""

    code = "chunk_time"


class ChunkReplay(Conflict):
    """The same audio is stored already under another recording or number."""

    code = "chunk_replay"


def decoded(data: bytes, *, samples: int, sample_rate_hz: int, channels: int) -> DecodedChunk:
    """Decode ``data`` and check it holds what the chunk states.

    Raises:
        ChunkMismatch: not decodable, or a field differs (named in ``field``).
    """
    try:
        got = probe_flac(data, max_frames=samples)
    except TooManyFrames as e:
        raise ChunkMismatch("chunk body", f"{e.reason}, the metadata says samples={samples}", field="samples") from e
    except CodecError as e:
        raise ChunkMismatch("chunk body", f"does not decode as FLAC ({e.reason}): truncated or damaged",
                           field="body") from e
    for field, header, body, said in (("samples", got.header.samples, got.samples, samples),
                                      ("sample_rate_hz", got.header.sample_rate_hz, got.sample_rate_hz, sample_rate_hz),
                                      ("channels", got.header.channels, got.channels, channels)):
        if header != said:
            raise ChunkMismatch("chunk body", f"FLAC header says {field}={header}, the metadata says {said}",
                               field=field)
        if body != header:
            raise ChunkMismatch("chunk body", f"decodes to {field}={body}, its FLAC header says {header} "
                               "(truncated, or a header that does not describe the audio)", field=field)
    if got.header.bits_per_sample != 16:
        raise ChunkMismatch("chunk body", f"has {got.header.bits_per_sample}-bit samples, 16 expected",
                           field="bits_per_sample")
    if not got.md5_matches:
        raise ChunkMismatch("chunk body", "decoded samples do not match the MD5 in its FLAC header", field="md5")
    return got


def _iso(t: float) -> str:
    try:
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return f"{t:.0f} s"


def check_time(meta: ChunkMeta, *, received_s: float, limits: EvidenceLimits, retention_days: float | None) -> None:
    """Refuse a chunk the server's clock says cannot be.

    Raises:
        ChunkTime: it ends in the future (beyond the skew), or starts further back than the
        backlog window or the site's retention.
    """
    end = meta.wall_start_s + meta.duration_s
    if end > received_s + limits.clock_skew_s:
        raise ChunkTime(f"chunk {meta.session}/{meta.seq}",
                        f"ends at {_iso(end)}, {end - received_s:.0f} s after the server's clock "
                        f"({_iso(received_s)}); at most {limits.clock_skew_s:.0f} s of clock skew is allowed",
                        field="recording_start_s", problem="future")
    window = limits.max_backlog_s
    if retention_days is not None:
        window = min(window, retention_days * DAY_S)
    if meta.wall_start_s < received_s - window:
        raise ChunkTime(f"chunk {meta.session}/{meta.seq}",
                        f"starts at {_iso(meta.wall_start_s)}, {(received_s - meta.wall_start_s) / DAY_S:.1f} days "
                        f"before the server's clock; a backlog may reach back {window / DAY_S:.1f} days at most",
                        field="recording_start_s", problem="too_old")


def check_place(s: Session, meta: ChunkMeta) -> None:
    """Refuse a chunk that does not fit its recording: another start time than the recording's,
    or samples overlapping its neighbours' (a gap is audio the agent dropped, and allowed).

    Raises:
        ChunkMismatch: naming the field.
    """
    sess = s.get(RecordingSession, meta.session)
    if sess is None:
        return
    if abs(sess.wall_start_s - meta.session_wall_start_s) > 1e-3:
        raise ChunkMismatch(f"chunk {meta.session}/{meta.seq}",
                           f"says its recording started at {_iso(meta.session_wall_start_s)}, the recording "
                           f"started at {_iso(sess.wall_start_s)}", field="recording_start_s")
    prev = s.execute(select(Chunk.seq, Chunk.start_sample, Chunk.samples).where(
        Chunk.session_id == meta.session, Chunk.seq < meta.seq).order_by(Chunk.seq.desc()).limit(1)).first()
    nxt = s.execute(select(Chunk.seq, Chunk.start_sample).where(
        Chunk.session_id == meta.session, Chunk.seq > meta.seq).order_by(Chunk.seq).limit(1)).first()
    if prev is not None and meta.seq != prev[0] and meta.start_sample < prev[1] + prev[2]:
        raise ChunkMismatch(f"chunk {meta.session}/{meta.seq}", f"starts at sample {meta.start_sample}, inside chunk "
                           f"{prev[0]} (which ends at {prev[1] + prev[2]})", field="start_sample")
    if nxt is not None and meta.end_sample > nxt[1]:
        raise ChunkMismatch(f"chunk {meta.session}/{meta.seq}", f"ends at sample {meta.end_sample}, after chunk "
                           f"{nxt[0]} starts ({nxt[1]})", field="start_sample")


def judged(audio: DecodedChunk) -> bool:
    """Whether identical audio elsewhere would be a replay (silence and constants are not judged)."""
    return audio.peak > SILENT_PEAK and not audio.constant


@dataclass(frozen=True)
class Replay:
    """Where identical audio was seen before: a stored chunk (``recording``, ``seq``), or audio
    retention deleted (``deleted_wall_start_s``: when it was recorded; a tombstone)."""

    recording: str | None = None
    seq: int | None = None
    deleted_wall_start_s: float | None = None


def replayed_from(s: Session, meta: ChunkMeta, audio: DecodedChunk) -> Replay | None:
    """Where audio identical to ``audio`` was seen before: stored under another recording or
    number, or stored once and deleted by retention (its tombstone); None when new (and for
    silence)."""
    if not judged(audio):
        return None
    row = s.execute(select(ChunkClaim.session_id, ChunkClaim.seq).where(
        ChunkClaim.pcm_sha256 == audio.pcm_sha256,
        (ChunkClaim.session_id != meta.session) | (ChunkClaim.seq != meta.seq)).limit(1)).first()
    if row is not None:
        return Replay(recording=row[0], seq=row[1])
    gone = s.get(ChunkTombstone, audio.pcm_sha256)
    return Replay(deleted_wall_start_s=gone.wall_start_s) if gone is not None else None
