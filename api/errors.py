"""Domain errors to HTTP answers, in one place.

Routes and services raise :class:`domain.errors.DomainError` subclasses; the handler installed
by :func:`install` answers with the status of the error's kind and a body
``{"detail": {"code", "message", "what", "reason", ...params}}``: ``code`` is machine-readable,
``message`` is the Chinese sentence the console shows, ``what``/``reason`` say it in English for
logs and operators. Request-shape problems keep FastAPI's own 422 body (a list of field errors),
each error with a Chinese ``message`` beside pydantic's English ``msg``.
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import (
    DomainError,
    Throttled,
    Unauthenticated,
    Unavailable,
)
from domain.messages import KINDS, field_error, message
from storage.engine import DB_UNAVAILABLE

logger = logging.getLogger(__name__)


def status_of(error: DomainError) -> int:
    """The status of the error's kind (domain.messages.KINDS, the one table of kinds)."""
    for kind, status, _ in KINDS:
        if isinstance(error, kind):
            return status
    return 500


def error_body(error: DomainError) -> dict[str, Any]:
    params = {k: v for k, v in error.params.items() if isinstance(v, (str, int, float, bool, list, type(None)))}
    return {"detail": {**params, "code": error.code, "message": message(error), "what": error.what,
                       "reason": error.reason}}


def error_response(error: DomainError) -> JSONResponse:
    status = status_of(error)
    headers = {}
    if isinstance(error, Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(error, Throttled):
        headers["Retry-After"] = str(max(1, int(error.retry_after_s + 0.999)))
    elif isinstance(error, Unavailable):
        headers["Retry-After"] = "5"
    if status >= 500:
        logger.error("api: %s (%s)", error, error.code)
    return JSONResponse(error_body(error), status_code=status, headers=headers)


def invalid(loc: list[str], msg: str) -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape, as the OpenAPI description promises."""
    item = {"loc": loc, "msg": msg, "type": "value_error"}
    return JSONResponse({"detail": [{**item, "message": field_error(item)}]}, status_code=422)


#: What a field error may say: never the ``input`` it refused (a 5 MB body must not come back,
#: nor a password in a log of answers) nor ``ctx`` values (they can quote the input; issue 18).
FIELD_ERROR_KEYS = ("loc", "msg", "type")


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """FastAPI's field errors, each with its Chinese ``message`` (domain.messages.field_error),
    without the input or context values; ``msg`` cut to 300 characters."""
    out = []
    for e in errors:
        message = field_error(_finite(e))
        item = {k: e[k] for k in FIELD_ERROR_KEYS if k in e}
        item["loc"] = [str(p)[:100] if not isinstance(p, int) else p for p in item.get("loc", ())]
        item["msg"] = str(item.get("msg", ""))[:300]
        out.append({**item, "message": message})
    return out


def _finite(value: Any) -> Any:
    """``value`` with the floats JSON cannot hold (inf, nan) written as strings."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


def _audit_refusal(request: Request, error: DomainError, status: int) -> None:
    # A refused attempt by a known principal: the audit log shows who probes what (issue 11). A
    # 403 is a refusal (越权); a 404 is an object that is not there, or not in the caller's sites
    # (the API does not tell the two apart): not an authorisation failure (issue 20). The detail
    # is the answer's Chinese message; the error's code stays in the API's answer.
    from services import audit

    user = getattr(request.state, "principal", None)
    if user is None:
        return
    client = request.client.host if request.client else ""
    audit.record(request.app.state.engine, user, action="access.refused" if status == 403 else "access.missing",
                 target=f"{request.method} {request.url.path}"[:300], client=client, detail=message(error))


def install(app: FastAPI) -> None:
    """Map every domain error, and database values it cannot hold, to their answers."""

    async def domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, DomainError)
        response = error_response(exc)
        if response.status_code in (403, 404):
            await run_in_threadpool(_audit_refusal, request, exc, response.status_code)
        return response

    async def bad_request(_request: Request, exc: Exception) -> JSONResponse:
        # FastAPI's own 422, but safe to serialise: JSON's 1e999 and NaN parse as floats that
        # JSON cannot hold, and echoing them back answered 500 (issue 11).
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": field_errors(list(exc.errors()))}, status_code=422)

    async def bad_value(_request: Request, exc: Exception) -> JSONResponse:
        # Values the database cannot hold (NUL bytes in text, out-of-range numbers) are the
        # client's mistake, not a server error.
        assert isinstance(exc, DataError)
        return invalid(["body"], f"invalid value: {str(exc.orig).splitlines()[0][:200]}")


    async def http_error(request: Request, exc: Exception) -> Response:
        # FastAPI answers a body it cannot parse (not UTF-8, not JSON) with a bare 400; say it as
        # the 422 every other bad body gets (found by the fuzzer, issue 18).
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 400:
            return invalid(["body"], "the request body is not valid JSON in UTF-8")
        return await http_exception_handler(request, exc)

    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DomainError, domain_error)
    app.add_exception_handler(DataError, bad_value)
    app.add_exception_handler(RequestValidationError, bad_request)

    async def database_down(_request: Request, exc: Exception) -> JSONResponse:
        # The database restarting or away: "try again", which agents and the console do.
        logger.warning("api: database unavailable: %s", str(exc).splitlines()[0][:200])
        return error_response(Unavailable("database", "unavailable; try again shortly", code="database_unavailable"))

    for kind in DB_UNAVAILABLE:
        app.add_exception_handler(kind, database_down)


ERROR_SCHEMA = {
    "title": "DomainError",
    "type": "object",
    "required": ["detail"],
    "properties": {"detail": {
        "type": "object",
        "required": ["code", "message", "what", "reason"],
        "properties": {"code": {"type": "string", "description": "machine-readable"},
                       "message": {"type": "string", "description": "for people, in Chinese"},
                       "what": {"type": "string"}, "reason": {"type": "string"}},
        "additionalProperties": True}},
}


#: Answers any operation may give (issue 18: the description lists every status the API
#: answers, which the fuzzer checks): (status, why). 409 only for changes.
COMMON_ERRORS = (
    ("401", "no token, or an invalid or expired one"),
    ("403", "refused: the caller's role, sites or binding do not allow it"),
    ("404", "not found, or not visible to the caller"),
    ("409", "conflicts with what is stored"),
    ("413", "the request body is over this route's limit (api.limits)"),
    ("503", "the database is unavailable; try again shortly"),
)


def document(app: FastAPI) -> None:
    """Say in the OpenAPI description what error bodies look like: a 422 is either FastAPI's
    list of field errors or a domain error; every other error status a domain error; and the
    statuses every operation may answer (:data:`COMMON_ERRORS`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["DomainError"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/DomainError"}
        for path in schema.get("paths", {}).values():
            for method, op in path.items():
                responses = op.setdefault("responses", {})
                for status, why in COMMON_ERRORS:
                    if status == "409" and method == "get":
                        continue
                    responses.setdefault(status, {"description": why})
                    responses[status].setdefault("content", {"application/json": {"schema": ref}})
                if "422" not in responses:
                    responses["422"] = {"description": "a value the operation cannot take"}
                invalid = responses.get("422")
                if invalid is not None:
                    content = invalid.setdefault("content", {}).setdefault("application/json", {})
                    old = content.get("schema")
                    content["schema"] = {"anyOf": [old, ref]} if old else ref
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
