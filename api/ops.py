"""Health, readiness and Prometheus metrics of the API process (issue 6, item 5).

* ``/healthz``: the process answers (liveness).
* ``/readyz``: the database answers a query and the object store an authenticated request;
  503 with which one is not ready otherwise (no addresses or error text: these routes have
  no authentication).
* ``/metrics``: Prometheus text format, without authentication: it holds only aggregate
  counts (requests by route template, flags by rule, jobs by state, queue age), no names, ids,
  sites or text. Keep it off the public side of the reverse proxy (docs/operations.md).

Each app has its own registry, so several apps in one process (tests) do not collide.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from storage.engine import read_session
from storage.store_errors import StoreError
from storage.tables import Flag, Job, now_s

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class DbCollector(Collector):
    """Gauges read from the database at scrape time: flags by rule, jobs by state, the age of
    the oldest queued job."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        flags = GaugeMetricFamily("counterwatch_flags", "Flags stored, by rule, type and review state",
                                  labels=["rule", "type", "review_state"])
        jobs = GaugeMetricFamily("counterwatch_jobs", "Jobs in the queue table, by kind and state",
                                 labels=["kind", "state"])
        oldest = GaugeMetricFamily("counterwatch_job_queue_oldest_age_seconds",
                                   "Seconds since the oldest queued job was queued (0: none queued)")
        up = GaugeMetricFamily("counterwatch_metrics_db_up", "1 if the database answered this scrape")
        try:
            with read_session(self.engine) as s:
                for rule, kind, state, n in s.execute(select(Flag.rule, Flag.type, Flag.review_state, func.count())
                                                      .group_by(Flag.rule, Flag.type, Flag.review_state)):
                    flags.add_metric([rule, kind, state], n)
                for kind, state, n in s.execute(select(Job.kind, Job.state, func.count())
                                                .group_by(Job.kind, Job.state)):
                    jobs.add_metric([kind, state], n)
                first = s.scalar(select(func.min(func.coalesce(Job.queued_s, Job.created_s)))
                                 .where(Job.state == "queued"))
            oldest.add_metric([], max(0.0, now_s() - first) if first else 0.0)
            up.add_metric([], 1)
        except SQLAlchemyError as e:
            logger.warning("metrics: database query failed: %s", e.__class__.__name__)
            up.add_metric([], 0)
            yield up
            return
        yield from (flags, jobs, oldest, up)


class LatencyMiddleware:
    """Observe each HTTP request's time to its response head, labelled by route template
    (``/api/v1/interactions/{interaction_id}``, never the raw path, so ids are no labels)."""

    def __init__(self, app: ASGIApp, histogram: Histogram) -> None:
        self.app = app
        self.histogram = histogram

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = {"code": 500}

        async def send_timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                self._observe(scope, status["code"], time.perf_counter() - t0)
                status["done"] = True
            await send(message)

        try:
            await self.app(scope, receive, send_timed)
        finally:
            if not status.get("done"):
                self._observe(scope, status["code"], time.perf_counter() - t0)

    def _observe(self, scope: Scope, code: int, seconds: float) -> None:
        self.histogram.labels(route=route_template(scope), method=scope.get("method", ""),
                              status=str(code)).observe(seconds)


def route_template(scope: Scope) -> str:
    """The matched route's full template, or 'unmatched'. FastAPI (0.16x) nests included
    routers, so ``scope['route'].path`` lacks the outer prefixes: take them from the real path."""
    template = getattr(scope.get("route"), "path", None)
    if not template:
        return "unmatched"
    parts, tparts = scope.get("path", "").split("/"), template.split("/")
    if ":path}" in template or len(parts) < len(tparts):
        return template
    return "/".join(parts[:len(parts) - len(tparts) + 1]) + template


def install(app: FastAPI, *, engine: Engine) -> None:
    """Add /readyz and /metrics and the latency middleware to ``app``."""
    registry = CollectorRegistry()
    latency = Histogram("counterwatch_api_request_duration_seconds",
                        "API request time to the response head, by route template, method and status",
                        ["route", "method", "status"], buckets=LATENCY_BUCKETS_S, registry=registry)
    registry.register(DbCollector(engine))
    app.state.metrics_registry = registry
    app.add_middleware(LatencyMiddleware, histogram=latency)
    app.include_router(router)


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    """200 when the database and the object store answer; 503 naming which does not."""
    reasons = []
    try:
        with request.app.state.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as e:
        logger.warning("readyz: database not ready: %s", e.__class__.__name__)
        reasons.append("database unreachable")
    try:
        if not request.app.state.store.ping():
            reasons.append("object store unreachable")
    except StoreError as e:
        logger.warning("readyz: object store refused: %s", e.code)
        reasons.append("object store refused the request")
    if reasons:
        return JSONResponse({"ready": False, "reasons": reasons}, status_code=503)
    return JSONResponse({"ready": True})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)
