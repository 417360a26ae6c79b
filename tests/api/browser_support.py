"""What the console's browser tests share: Debian's chromium, its headless flags, and the API
served on a loopback port by uvicorn in a thread (pytest puts this folder on ``sys.path``)."""
from __future__ import annotations

from tests.support.net import free_port, serve_app

__all__ = ["ARGS", "CHROMIUM", "PASSWORD", "free_port", "new_page", "serve_app"]

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
from tests.support.stack import PASSWORD  # noqa: E402


def new_page(browser):  # noqa: ANN001, ANN201 - playwright Browser -> (Page, list of page errors)
    """A zh-CN page at 1280x900 that collects uncaught page errors into the returned list."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, errors
