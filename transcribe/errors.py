"""Exception types of the transcribe package."""
from __future__ import annotations

from domain.errors import DomainError, Invalid


class TranscribeError(DomainError):
    """Base class of every error raised by :mod:`transcribe`."""

    code = "transcribe"


class AudioError(TranscribeError, Invalid):
    """Audio that cannot be decoded: missing, truncated, not audio, unsupported layout."""

    code = "bad_audio_file"

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)
        self.path = path


class ModelError(TranscribeError):
    """The speech model cannot be found, assembled, verified or loaded."""

    code = "model"

    def __init__(self, model: str, reason: str) -> None:
        super().__init__(f"model {model!r}", reason)
        self.model = model


class DeviceError(ModelError):
    """The model cannot run where it was asked to: no CUDA device, or a compute type the
    device does not support. Names the device."""

    code = "model_device"

    def __init__(self, device: str, reason: str) -> None:
        TranscribeError.__init__(self, f"device {device!r}", reason)
        self.model = ""
        self.device = device


class RulebookError(TranscribeError, Invalid):
    """A rulebook file that is not valid; names the file, the line and the field."""

    code = "bad_rulebook"

    def __init__(self, path: str, reason: str, *, line: int | None = None, field: str | None = None) -> None:
        where = path if line is None else f"{path}:{line}"
        super().__init__(where, f"{field}: {reason}" if field else reason, line=line, field=field)
        self.reason = reason
        self.path = path
        self.line = line
        self.field = field
