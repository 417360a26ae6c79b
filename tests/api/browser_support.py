"""What the console's browser tests share: Debian's chromium, its headless flags, the API
served on a loopback port by uvicorn in a thread, a page that records every console error,
failed request and CSP violation, screenshots at 1440 and 390 px, and helpers for the Element
Plus controls (pytest puts this folder on ``sys.path``)."""
from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from tests.support.net import free_port, serve_app
from tests.support.stack import PASSWORD

__all__ = ["ARGS", "CHROMIUM", "PASSWORD", "free_port", "serve_app"]   # and the helpers below
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
#: Screenshots of every console page (git-ignored); COUNTERWATCH_TEST_ARTIFACTS moves them.
ARTIFACTS = Path(os.environ.get("COUNTERWATCH_TEST_ARTIFACTS",
                                Path(__file__).resolve().parents[2] / "test-artifacts")) / "console"
WIDTHS = {"desktop": (1440, 900), "phone": (390, 844)}
#: Requests cancelled on purpose: a recording's or a live stream's audio when the player leaves
#: the page (the waveform fetch too, if it had not ended), and the browser's own favicon fetch
#: when a test navigates while it is under way.
#: A screen's preview picture or screenshot replaced while it loads is cancelled the same way.
CANCELLED_MEDIA = re.compile(r"/api/v1/(interactions/\d+/audio|counters/\d+/live"
                             r"|signage/screens/[^/]+/(preview\.png|screenshot\.img))$|/static/favicon\.svg$")
# Recorded before any script of the page runs: CSP violations are events, not always console lines.
_CSP_PROBE = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' ' + e.sourceFile + ':' + e.lineNumber);
});
"""


def new_page(browser):  # noqa: ANN001, ANN201 - playwright Browser -> (Page, list of problems)
    """A zh-CN page at 1280x900 whose uncaught errors, console errors, failed requests and HTTP
    errors of its own files go into the returned list (CSP violations: :func:`csp_violations`)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    errors: list[str] = []
    page.add_init_script(_CSP_PROBE)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))

    def console(m) -> None:  # noqa: ANN001 - playwright ConsoleMessage
        # Chromium logs every 4xx answer as "Failed to load resource"; answers of the API are the
        # page's to handle (a 401 before login, a refused schedule) and the tests check what it shows.
        if m.type != "error" or (m.text.startswith("Failed to load resource")
                                 and "/api/v1/" in (m.location or {}).get("url", "")):
            return
        errors.append(f"console {m.type}: {m.text} ({(m.location or {}).get('url', '')})")

    page.on("console", console)

    def failed(request) -> None:  # noqa: ANN001 - playwright Request
        why = request.failure or ""
        if "ERR_ABORTED" in why and CANCELLED_MEDIA.search(request.url.split("?")[0]):
            return
        errors.append(f"request failed: {request.method} {request.url}: {why}")

    page.on("requestfailed", failed)
    page.on("response", lambda r: errors.append(f"HTTP {r.status}: {r.url}")
            if r.status >= 400 and "/api/" not in r.url else None)     # the console's own files
    return page, errors


def csp_violations(page) -> list[str]:  # noqa: ANN001 - playwright Page
    return page.evaluate("window.__cspViolations || []")


# Visible form fields that have neither a <label> nor an aria-label / aria-labelledby (the date
# and time boxes inside an open Element Plus picker panel have only their placeholders).
_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((e) => e.type !== 'hidden' && e.getClientRects().length && !e.closest('[aria-hidden=true], .el-picker-panel'))
  .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
  .map((e) => `${e.id ? '#' + e.id + ' ' : ''}${e.outerHTML.slice(0, 120)}`)"""


def shoot(page, name: str) -> list[Path]:  # noqa: ANN001 - playwright Page
    """Full-page screenshots of the page as it is, 1440 and 390 px wide, under ARTIFACTS; every
    visible form field must have a label, and at 390 px the page must not scroll sideways (wide
    tables scroll inside their own box)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    unlabelled = page.evaluate(_UNLABELLED)
    assert unlabelled == [], f"{name}: form fields without a label: {unlabelled}"
    before = page.viewport_size
    paths = []
    try:
        for label, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_timeout(250)          # charts and tables follow the new width
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{name} scrolls sideways by {overflow} px at {width} px"
            path = ARTIFACTS / f"{name}-{label}-{width}.png"
            page.screenshot(path=str(path), full_page=True)
            paths.append(path)
    finally:
        page.set_viewport_size(before)
    return paths


def el_select(page, select, text: str) -> None:  # noqa: ANN001 - playwright Page, Locator
    """Pick the option whose label contains ``text`` in an Element Plus select."""
    select.click()
    page.locator(".el-select-dropdown__item:visible", has_text=text).first.click()
    page.locator(".el-select-dropdown:visible").first.wait_for(state="hidden")


def el_confirm(page, button: str) -> None:  # noqa: ANN001 - playwright Page
    """Answer an Element Plus message box with the button labelled ``button``."""
    box = page.locator(".el-message-box")
    box.locator(".el-message-box__btns button", has_text=button).click()
    box.wait_for(state="hidden")


def login(page, base: str, name: str, password: str = PASSWORD) -> None:  # noqa: ANN001 - playwright Page
    """Open the console and log in as ``name``; returns once the header shows who is logged in."""
    from playwright.sync_api import expect

    page.goto(base + "/")
    page.fill("#login-form input[name=name]", name)
    page.fill("#login-form input[name=password]", password)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#whoami")).to_contain_text(name)


def launch(p):  # noqa: ANN001, ANN201 - playwright instance -> Browser
    """Debian's chromium, headless, able to play audio without a user gesture for each element."""
    return p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, "--autoplay-policy=no-user-gesture-required"])


class Console(NamedTuple):
    base: str                   # the served API's base URL
    api: httpx.Client           # an admin's client of it, to check the API's state
    page: Any                   # playwright Page, logged in


@contextmanager
def supervisor_console(app: Any, admin_token: str, name: str, *, init_script: str | None = None) -> Iterator[Console]:
    """``app`` served on a loopback port, an admin's API client, and a page of Debian's chromium
    logged in as ``name`` (``init_script`` runs before the console's own). When the block ends
    without an error, the page must have had no console error, failed request or CSP violation."""
    from playwright.sync_api import sync_playwright

    with serve_app(app) as base, httpx.Client(base_url=base, headers={"Authorization": f"Bearer {admin_token}"},
                                              timeout=10) as api, sync_playwright() as p:
        browser = launch(p)
        try:
            page, errors = new_page(browser)
            if init_script:
                page.add_init_script(init_script)
            login(page, base, name)
            yield Console(base, api, page)
            assert csp_violations(page) == []
            assert errors == [], errors
        finally:
            browser.close()
