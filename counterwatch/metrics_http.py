"""The Prometheus /metrics endpoint of the long-running commands (record, worker, signage)."""
from __future__ import annotations

import logging

logger = logging.getLogger("counterwatch")

METRICS_ADDR = "127.0.0.1"


def serve_metrics(port: int, *, actor: str) -> None:
    """Serve the default registry on ``127.0.0.1:port`` in a daemon thread, and say where.

    Loopback only, by decision: scrape through a Prometheus agent or proxy on the same machine
    (docs/operations.md). ``actor`` prefixes the log line, e.g. ``counter c1``.

    Raises:
        OSError: the port cannot be bound.
    """
    from prometheus_client import start_http_server

    start_http_server(port, addr=METRICS_ADDR)
    logger.info("%s: metrics on http://%s:%d/metrics", actor, METRICS_ADDR, port)
