"""Request body limits, enforced while the body streams (issue 18): before any authentication,
JSON parsing or route code, so no client, signed in or not, can make the API hold more than a
route's limit in memory.

A declared ``Content-Length`` over the limit is answered 413 at once, without reading a byte; a
chunked body is counted as it arrives and answered 413 the moment it passes the limit (what the
route answered, if anything, is dropped; the rest of the body is never read). The answer is a
domain error body (``body_too_large``, Chinese ``message``), never an echo of the input.

Limits are per route (:data:`LIMITS`, first prefix match; else :data:`JSON_LIMIT_BYTES`): FLAC
chunks and live segments their own ingest limits, content uploads the signage limit, the rule
bench's drafts their 200,000 characters, every other body a JSON body of a few hundred KB.
"""
from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response
from domain.errors import TooLarge
from services.ingest import MAX_CHUNK_BYTES, MAX_LIVE_BYTES
from services.signage_content import MAX_UPLOAD_BYTES
from services.staff_photos import MAX_PHOTO_BYTES

#: Every JSON body unless :data:`LIMITS` says otherwise: the largest ones (review notes, a
#: complaint draft of 20,000 bytes, a program) are far below this.
JSON_LIMIT_BYTES = 256 * 1024
#: (method, path prefix, limit): the routes that need more than a JSON body's limit.
LIMITS: tuple[tuple[str, str, int], ...] = (
    ("POST", "/api/v1/agent/chunks", MAX_CHUNK_BYTES + 64 * 1024),
    ("POST", "/api/v1/agent/live", MAX_LIVE_BYTES + 64 * 1024),
    ("POST", "/api/v1/signage/content", MAX_UPLOAD_BYTES + 64 * 1024),
    ("PUT", "/api/v1/ratings/staff-photo", MAX_PHOTO_BYTES + 64 * 1024),
    # a rulebook draft: 200,000 characters, up to 6 bytes each as JSON escapes
    ("POST", "/api/v1/rules/bench", 1_300_000),
)


class BodyTooLarge(TooLarge):
    code = "body_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__("request body", f"larger than this route's limit of {limit_bytes} bytes",
                         limit_bytes=limit_bytes)


def limit_for(method: str, path: str) -> int:
    """The body limit of ``method path`` in bytes."""
    for m, prefix, limit in LIMITS:
        if method == m and (path == prefix or path.startswith(prefix + "/")):
            return limit
    return JSON_LIMIT_BYTES


class _Exceeded(Exception):
    """Raised into the app by ``receive`` once the body passed its limit."""


class BodyLimit:
    """Pure ASGI middleware (it never buffers a body itself) doing the module notes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = limit_for(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await error_response(BodyTooLarge(limit))(scope, receive, send)
            return
        seen = 0
        exceeded = False
        started = False

        async def counted() -> Message:
            nonlocal seen, exceeded
            if exceeded:
                raise _Exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise _Exceeded
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if exceeded:
                return      # the app's answer to a body it never got whole: ours goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _Exceeded:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await error_response(BodyTooLarge(limit))(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    for k, v in scope.get("headers", ()):
        if k == b"content-length":
            try:
                return int(v)
            except ValueError:
                return None
    return None
