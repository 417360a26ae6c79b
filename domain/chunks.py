"""What a chunk of counter audio is, and where chunks and live segments live in the object store.

Bucket layout (documented in docs/storage.md)::

    {site}/{counter}/{YYYY}/{MM}/{DD}/{session}/{seq:08d}.flac      evidence chunks
    _live/{site}/{counter}/{session}/{seq:08d}.flac                  live segments (short-lived)

``YYYY/MM/DD`` is the UTC date of the session's first sample, so one session's chunks stay
under one prefix even across midnight; ``session`` is a 32-hex id per agent session. A site
name cannot start with '_', so no evidence key shares the live prefix.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

from domain.errors import Invalid
from domain.flac import CODEC
from domain.names import NAME_PATTERN, SESSION_PATTERN, check_name, check_session

#: A chunk object's key (the format of :attr:`ChunkMeta.key`), for reading keys back from a store.
CHUNK_KEY = re.compile(rf"^(?P<site>{NAME_PATTERN})/(?P<counter>{NAME_PATTERN})/"
                       rf"(?P<day>\d{{4}}/\d{{2}}/\d{{2}})/(?P<session>{SESSION_PATTERN})/(?P<seq>\d{{8,}})\.flac$")
LIVE_PREFIX = "_live"


def chunk_key(*, site: str, counter: str, session: str, seq: int, session_wall_start_s: float,
              codec: str = CODEC) -> str:
    """The object key of chunk ``seq`` of ``session`` (names checked)."""
    day = time.strftime("%Y/%m/%d", time.gmtime(session_wall_start_s))
    return f"{check_name('site', site)}/{check_name('counter', counter)}/{day}/{check_session(session)}/{seq:08d}.{codec}"


def session_prefix(key: str) -> str:
    """The prefix (ending with '/') under which the chunks of ``key``'s session lie."""
    return key.rsplit("/", 1)[0] + "/"


def live_prefix(site: str, counter: str) -> str:
    """Where a counter's live segments live in the bucket (ends with '/')."""
    return f"{LIVE_PREFIX}/{check_name('site', site)}/{check_name('counter', counter)}/"


def live_key(*, site: str, counter: str, session: str, seq: int) -> str:
    """Object key of live segment ``seq`` of ``session``."""
    if seq < 0:
        raise Invalid(f"live segment {seq}", "the number must be >= 0")
    return f"{live_prefix(site, counter)}{check_session(session)}/{seq:08d}.{CODEC}"


@dataclass(frozen=True)
class ChunkHeader:
    """What a capture agent states about a chunk it sends (``POST /agent/chunks``); its site and
    counter come from its token. The one list of these fields: the agent client writes them
    (:meth:`to_params`) and the API's route reads them into this record, which
    :meth:`ChunkMeta.of` completes once the server has checked the body.
    """

    session: str
    seq: int
    start_sample: int
    samples: int
    sample_rate_hz: int
    channels: int
    sha256: str
    size_bytes: int
    session_wall_start_s: float
    rms_dbfs: float
    peak_dbfs: float

    #: The query parameter of a field where it is not the field's name ("recording", not
    #: "session": a recording session's id, never a credential in a URL).
    WIRE: ClassVar[dict[str, str]] = {"session": "recording", "session_wall_start_s": "recording_start_s"}
    #: The lowest level sent (dBFS; silence is -inf).
    FLOOR_DBFS: ClassVar[float] = -200.0

    @classmethod
    def wire_names(cls) -> tuple[str, ...]:
        """The query parameters of ``POST /agent/chunks``, in field order."""
        return tuple(cls.WIRE.get(f.name, f.name) for f in fields(ChunkHeader))

    def to_params(self) -> dict[str, str | int]:
        """The header as the query parameters of ``POST /agent/chunks`` (the recording's start
        exactly, levels to 1/1000 dB and never below :attr:`FLOOR_DBFS`)."""
        values: dict[str, str | int] = {**{f.name: getattr(self, f.name) for f in fields(ChunkHeader)},
                                        "session_wall_start_s": repr(self.session_wall_start_s),
                                        "rms_dbfs": f"{max(self.FLOOR_DBFS, self.rms_dbfs):.3f}",
                                        "peak_dbfs": f"{max(self.FLOOR_DBFS, self.peak_dbfs):.3f}"}
        return {self.WIRE.get(k, k): v for k, v in values.items()}


@dataclass(frozen=True)
class ChunkMeta(ChunkHeader):
    """One encoded chunk: ``samples`` frames starting at ``start_sample`` of its session.

    Times come from the sample clock: ``wall_start_s`` is the session's wall-clock anchor
    plus ``start_sample / sample_rate_hz``, so a clock jump on the machine cannot reorder or
    shift chunks within a session.
    """

    site: str
    counter: str
    codec: str

    @classmethod
    def of(cls, header: ChunkHeader, *, site: str, counter: str, codec: str = CODEC, **changes: Any) -> ChunkMeta:
        """The chunk ``header`` describes, of ``site``'s ``counter`` (``changes``: header fields
        the server knows better, e.g. the body's real size)."""
        values = {f.name: getattr(header, f.name) for f in fields(ChunkHeader)}
        return cls(**{**values, **changes}, site=site, counter=counter, codec=codec)

    def __post_init__(self) -> None:
        check_name("site", self.site)
        check_name("counter", self.counter)
        check_session(self.session)
        if self.seq < 0 or self.start_sample < 0 or self.samples <= 0:
            raise Invalid(f"chunk {self.session}/{self.seq}",
                          f"bad numbering: seq={self.seq} start={self.start_sample} n={self.samples}")

    @property
    def wall_start_s(self) -> float:
        return self.session_wall_start_s + self.start_sample / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate_hz

    @property
    def end_sample(self) -> int:
        return self.start_sample + self.samples

    @property
    def key(self) -> str:
        return chunk_key(site=self.site, counter=self.counter, session=self.session, seq=self.seq,
                         session_wall_start_s=self.session_wall_start_s, codec=self.codec)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ChunkMeta:
        return cls(**{f.name: d[f.name] for f in fields(cls)})


def object_metadata(meta: ChunkMeta) -> dict[str, str]:
    """User metadata stored with a chunk object (ASCII strings, lower-case keys): what a rescan
    needs to register the chunk again from the store alone."""
    return {
        "sha256": meta.sha256,
        "site": meta.site,
        "counter": meta.counter,
        "session": meta.session,
        "seq": str(meta.seq),
        "start-sample": str(meta.start_sample),
        "samples": str(meta.samples),
        "sample-rate-hz": str(meta.sample_rate_hz),
        "channels": str(meta.channels),
        "session-wall-start-s": repr(meta.session_wall_start_s),
    }


#: A chunk that reaches the server this long after its claimed end was uploaded late (补传): a
#: backlog after an outage, or a claimed time to look at twice. Agents upload within seconds.
LATE_UPLOAD_S = 600.0


def late_label(late_s: float) -> str:
    """What people read for audio that reached the server ``late_s`` after its claimed end:
    "补传（晚 3 小时 5 分）", or "" when it came on time."""
    if late_s < LATE_UPLOAD_S:
        return ""
    minutes = int(late_s // 60)
    days, hours, mins = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days} 天" if days else "", f"{hours} 小时" if hours else "", f"{mins} 分" if mins and not days else ""]
    return f"补传（晚 {' '.join(p for p in parts if p)}）"
