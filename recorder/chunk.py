"""What a chunk of counter audio is, and where it lives in the object store.

Bucket layout (documented in docs/storage.md)::

    {site}/{counter}/{YYYY}/{MM}/{DD}/{session}/{seq:08d}.flac

``YYYY/MM/DD`` is the UTC date of the session's first sample, so one session's chunks stay
under one prefix even across midnight; ``session`` is a 32-hex id per agent session.
"""
from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
_SESSION = re.compile(r"^[0-9a-f]{32}$")


class BadName(ValueError):
    """A site, counter or session name that could escape its place in keys or paths."""

    def __init__(self, field: str, value: str) -> None:
        super().__init__(f"{field} {value!r} is not allowed: use 1-63 letters, digits, '-' or '_', "
                         f"starting with a letter or digit")
        self.field = field
        self.value = value


def check_name(field: str, value: str) -> str:
    """Return ``value`` if it is a safe site or counter name; raise :class:`BadName` otherwise."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise BadName(field, str(value))
    return value


def check_session(value: str) -> str:
    if not isinstance(value, str) or not _SESSION.match(value):
        raise BadName("session", str(value))
    return value


#: A chunk object's key (the format of :attr:`ChunkMeta.key`), for reading keys back from a store.
CHUNK_KEY = re.compile(r"^(?P<site>[A-Za-z0-9][A-Za-z0-9_-]{0,62})/(?P<counter>[A-Za-z0-9][A-Za-z0-9_-]{0,62})/"
                       r"(?P<day>\d{4}/\d{2}/\d{2})/(?P<session>[0-9a-f]{32})/(?P<seq>\d{8,})\.flac$")


@dataclass(frozen=True)
class ChunkMeta:
    """One encoded chunk: ``samples`` frames starting at ``start_sample`` of its session.

    Times come from the sample clock: ``wall_start_s`` is the session's wall-clock anchor
    plus ``start_sample / sample_rate_hz``, so a clock jump on the machine cannot reorder or
    shift chunks within a session.
    """

    site: str
    counter: str
    session: str
    seq: int
    start_sample: int
    samples: int
    sample_rate_hz: int
    channels: int
    codec: str
    sha256: str
    size_bytes: int
    session_wall_start_s: float
    rms_dbfs: float
    peak_dbfs: float

    def __post_init__(self) -> None:
        check_name("site", self.site)
        check_name("counter", self.counter)
        check_session(self.session)
        if self.seq < 0 or self.start_sample < 0 or self.samples <= 0:
            raise ValueError(f"bad chunk numbering: seq={self.seq} start={self.start_sample} n={self.samples}")

    @property
    def wall_start_s(self) -> float:
        return self.session_wall_start_s + self.start_sample / self.sample_rate_hz

    @property
    def duration_s(self) -> float:
        return self.samples / self.sample_rate_hz

    @property
    def key(self) -> str:
        day = time.strftime("%Y/%m/%d", time.gmtime(self.session_wall_start_s))
        return f"{self.site}/{self.counter}/{day}/{self.session}/{self.seq:08d}.{self.codec}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ChunkMeta":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})
