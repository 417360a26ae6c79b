"""The one base error type, with fields, that every package's errors extend.

A :class:`DomainError` says *what* was refused or failed and *why* (``reason``), and carries a
stable, machine-readable ``code`` (``not_found``, ``name_taken``, ``NoSuchKey`` ...). Its kind
(the subclass below) decides the HTTP answer, in one place (``api.errors``); the console shows the
Chinese message for the ``code`` (:func:`domain.messages.message`).
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """``what``: the thing concerned (``counter hall/window-1``); ``reason``: why it failed, in
    words; ``code``: machine-readable (defaults to the class's); ``params``: values a translated
    message may use."""

    code = "error"

    def __init__(self, what: str, reason: str, *, code: str | None = None, **params: Any) -> None:
        super().__init__(f"{what}: {reason}" if what else reason)
        self.what = what
        self.reason = reason
        if code is not None:
            self.code = code
        self.params = params


class Invalid(DomainError):
    """The request or value is not acceptable (422)."""

    code = "invalid"


class NotFound(DomainError):
    """No such thing, or not one the caller may see (404)."""

    code = "not_found"


class Conflict(DomainError):
    """The request conflicts with what is stored (409)."""

    code = "conflict"


class Unauthenticated(DomainError):
    """No valid credentials: log in, or send a valid token (401)."""

    code = "unauthenticated"


class Forbidden(DomainError):
    """The caller may not do this (403)."""

    code = "forbidden"


class TooLarge(DomainError):
    """The request body or a value is larger than allowed (413)."""

    code = "too_large"


class Unsupported(DomainError):
    """A format the product does not take (415)."""

    code = "unsupported"


class Throttled(DomainError):
    """Too many attempts; ``retry_after_s`` says when to try again (429)."""

    code = "throttled"

    def __init__(self, what: str, reason: str, *, retry_after_s: float, code: str | None = None,
                 **params: Any) -> None:
        super().__init__(what, reason, code=code, **params)
        self.retry_after_s = retry_after_s


class Unavailable(DomainError):
    """Something the request needs is down for now; try again later (503)."""

    code = "unavailable"


class Upstream(DomainError):
    """A server this one depends on refused or answered wrongly (502)."""

    code = "upstream"


class Damaged(DomainError):
    """Stored data fails its integrity check (500: never the client's fault)."""

    code = "damaged"
