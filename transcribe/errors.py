"""Exception types of the transcribe package."""
from __future__ import annotations


class TranscribeError(Exception):
    """Base class of every error raised by :mod:`transcribe`."""


class AudioError(TranscribeError):
    """Audio that cannot be decoded: missing, truncated, not audio, unsupported layout."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ModelError(TranscribeError):
    """The speech model cannot be found, assembled, verified or loaded."""

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"model {model!r}: {reason}")
        self.model = model
        self.reason = reason


class RulebookError(TranscribeError):
    """A rulebook file that is not valid; names the file, the line and the field."""

    def __init__(self, path: str, reason: str, *, line: int | None = None, field: str | None = None) -> None:
        where = path if line is None else f"{path}:{line}"
        what = f"{field}: {reason}" if field else reason
        super().__init__(f"{where}: {what}")
        self.path = path
        self.line = line
        self.field = field
        self.reason = reason
