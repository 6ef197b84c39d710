"""The console (`pyvolsync ui`) as a user runs it, and Debian's Chromium driven by Playwright.

The console runs as the installed command in a subprocess, against the local cluster and the
real operator; the test reads the login address it prints, as a user would copy it. The browser
is the system's Chromium (scripts/ensure-chromium.sh installs it): Playwright drives it and
downloads nothing. With PYVOLSYNC_SCREENSHOTS=DIR the tests save the screenshots the docs show.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localcluster import controlplane
from playwright import sync_api
from tests.support.console import CHROMIUM, NotStartedError, RunningConsole, start_console

SCREENSHOTS = os.environ.get("PYVOLSYNC_SCREENSHOTS")


@pytest.fixture(scope="module")
def operator_arguments() -> tuple[str, ...]:
    """As the chart runs it: leader election on, so the operator's Lease publishes the
    repository volume the console's browsing Jobs mount (no --repository-nfs needed)."""
    return ("--progress-interval", "2", "--leader-election", "--lease-namespace", "kube-system")


class Ui:
    """A browser page and the consoles a test starts for it (stopped when the test ends)."""

    def __init__(self, page: sync_api.Page) -> None:
        self.page = page
        self.started: list[RunningConsole] = []

    def start(self, kubeconfig: Path, *arguments: str) -> RunningConsole:
        """Start a console (`start_console`); open the login address it printed, if any."""
        try:
            running = start_console(kubeconfig, *arguments)
        except NotStartedError as error:
            pytest.fail(str(error), pytrace=False)
        self.started.append(running)
        if "token=" in running.login:
            self.page.goto(running.login)
        return running


@pytest.fixture
def ui(operator: object, page: sync_api.Page) -> Iterator[Ui]:
    """A page and the consoles the test starts; the operator runs."""
    found = Ui(page)
    yield found
    for running in found.started:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    """Debian's headless Chromium, one per test module (Playwright's own event loop ends with
    it, before other suites' asyncio tests run)."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: sync_api.Browser) -> Iterator[sync_api.Page]:
    """A fresh browser context (no cookies) and page, 1280x800."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def screenshot(page: sync_api.Page, name: str) -> None:
    """Save a screenshot for the docs when PYVOLSYNC_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=False)


@pytest.fixture
def admin_kubeconfig(cluster: controlplane.ControlPlane) -> Path:
    return cluster.kubeconfig


def post_from_page(page: sync_api.Page, path: str, *, csrf: str | None = None) -> dict[str, Any]:
    """POST ``path`` from the page as its script would (with the page's CSRF token, or
    ``csrf``); return the answer's status and JSON body."""
    return dict(
        page.evaluate(
            """async ([path, forced]) => {
                const token = forced ?? document.querySelector('meta[name="csrf-token"]').content;
                const headers = {"X-CSRF-Token": token};
                const answer = await fetch(path, {method: "POST", headers});
                return {status: answer.status, body: await answer.json()};
            }""",
            [path, csrf],
        )
    )
