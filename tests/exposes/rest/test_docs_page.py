"""/docs in a real browser: headless Chromium renders every route, and its "try it" form calls the gateway.

Chromium is Debian's `chromium`; the session fixture installs it with apt-get when it is missing and this
runs as root. The screenshot is kept in tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exposes.conftest import Stack
from tests.support.gateway import gateway_config, running_gateway
from tests.support.management import RUNS_ROUTES
from tests.support.upstream import recording_upstream

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
INSTALL_TIMEOUT = 600.0
RUNS = {
    "data": [{"id": "run_docs0page1", "status": "COMPLETED", "taskIdentifier": "send-welcome-email"}],
    "pagination": {"next": None},
}


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed with apt-get when missing (as root)."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        for step in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(
                step,
                capture_output=True,
                timeout=INSTALL_TIMEOUT,
                env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
            )
        found = shutil.which("chromium")
    if found is None:
        pytest.fail(
            "Chromium was not found and could not be installed; the docs page test needs it: "
            "`sudo apt-get install chromium` (Debian/Ubuntu), then run the tests again.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with recording_upstream() as upstream, running_gateway(gateway_config("trigger-dev-runs", upstream.url)) as gateway:
        yield Stack("trigger-dev-runs", upstream, gateway)


def browse(chromium: str, url: str, action: list[str], profile: Path) -> subprocess.CompletedProcess[str]:
    argv = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        *action,
        url,
    ]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


def test_the_docs_page_lists_every_route_and_its_form_calls_the_gateway(
    chromium: str, stack: Stack, tmp_path: Path
) -> None:
    stack.upstream.reply(200, RUNS)
    page = browse(chromium, f"{stack.gateway.rest}/docs#listruns/send", ["--dump-dom"], tmp_path / "profile")
    dom = page.stdout
    assert 'data-ready="true"' in dom, page.stderr[-2000:]
    assert [html.unescape(route) for route in re.findall(r'data-route="([^"]+)"', dom)] == RUNS_ROUTES
    assert '<h1 id="title">Trigger.dev Management API — Runs</h1>' in dom
    listing = dom[dom.index('id="listruns"') : dom.index('id="getrunbyid-api-v1-runs-runid"')]
    assert 'data-status="200"' in listing and "run_docs0page1" in listing  # the form's answer, shown
    assert "curl -X GET" in listing
    sent = stack.upstream.last
    assert (sent.method, sent.path, sent.query) == ("GET", "/api/v1/runs", "")


def test_the_docs_page_screenshot_is_kept_as_an_artifact(chromium: str, stack: Stack, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "docs-page.png"
    screenshot.unlink(missing_ok=True)
    result = browse(
        chromium,
        f"{stack.gateway.rest}/docs",
        [f"--screenshot={screenshot}", "--window-size=1280,1100", "--hide-scrollbars"],
        tmp_path / "profile",
    )
    assert screenshot.exists(), result.stderr[-2000:]
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and screenshot.stat().st_size > 20_000
