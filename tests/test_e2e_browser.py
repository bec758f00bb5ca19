"""End to end in a real headless Chromium: `cislunar dashboard` on the demo database.

The server is the console script the operators run (``cislunar dashboard
--port PORT``, a subprocess); the browser is Debian's chromium driven by
Playwright for Python.  Streamlit renders over a websocket, so each page is
waited for until its script has finished (no status widget, no skeleton,
every plotly chart drawn) before its content is checked and a screenshot is
saved under pytest's temporary directory.  A second server with a password
configured shows nothing but the login to an unauthenticated visit.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard_fixtures import TLI_NORAD, build_demo_database

CHROMIUM = Path("/usr/bin/chromium")
CISLUNAR = Path(sys.executable).parent / "cislunar"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SERVER_START_S = 90
PAGE_TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium "
                                                     "(apt-get install chromium; scripts/ensure-system-deps.sh)"),
]

# Finished rendering: Streamlit's running indicator gone, no skeletons, every
# plotly chart has drawn its SVG.
RENDERED_JS = """() => {
    if (!document.querySelector('[data-testid=stAppViewContainer]')) return false;
    if (document.querySelector('[data-testid=stStatusWidget]')) return false;
    if (document.querySelector('[data-testid=stSkeleton]')) return false;
    for (const c of document.querySelectorAll('[data-testid=stPlotlyChart]')) {
        if (!c.querySelector('.main-svg')) return false;
    }
    return true;
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def dashboard_server(db_url: str, config: Path, log: Path, extra_env: dict | None = None):
    port = _free_port()
    env = dict(os.environ, CISLUNAR_DB_URL=db_url, CISLUNAR_CONFIG=str(config), **(extra_env or {}))
    for var in ("CISLUNAR_DASHBOARD_PASSWORD", "CISLUNAR_DASHBOARD_VIEWER_PASSWORD", "CISLUNAR_DASHBOARD_AUTH_MODE"):
        if not extra_env or var not in extra_env:
            env.pop(var, None)
    with open(log, "w") as out:
        # Its own process group: `cislunar dashboard` runs Streamlit as a child
        # and does not forward SIGTERM, so the whole group is stopped below.
        proc = subprocess.Popen([str(CISLUNAR), "dashboard", "--port", str(port), "--address", "127.0.0.1"],
                                env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + SERVER_START_S
            while True:
                assert proc.poll() is None, f"cislunar dashboard exited: {log.read_text()}"
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                assert time.monotonic() < deadline, f"dashboard did not start in {SERVER_START_S} s: {log.read_text()}"
                time.sleep(0.25)
            yield f"http://127.0.0.1:{port}"
        finally:
            _stop_group(proc)


def _stop_group(proc: subprocess.Popen, grace_s: float = 10.0) -> None:
    """SIGTERM to the server's process group, SIGKILL to what is left after ``grace_s``."""
    pgid = proc.pid  # start_new_session: the group id is the leader's pid
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            proc.poll()
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            continue
        break
    proc.wait(timeout=5)


@contextmanager
def chromium(tmp_path: Path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright refuses --user-data-dir among the flags; a persistent
        # context is its way of giving Chromium a fresh profile directory.
        ctx = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            yield ctx.new_page()
        finally:
            ctx.close()


def _open(page, url: str, shot: Path, heading: str) -> str:
    """Open a page, wait for its heading and for the script run to finish."""
    page.goto(url)
    page.get_by_role("heading", name=heading).first.wait_for(timeout=PAGE_TIMEOUT_MS)
    page.wait_for_function(RENDERED_JS, timeout=PAGE_TIMEOUT_MS)
    page.wait_for_timeout(300)
    page.wait_for_function(RENDERED_JS, timeout=PAGE_TIMEOUT_MS)
    page.screenshot(path=str(shot))
    return page.inner_text("[data-testid=stMain]")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e")
    info = build_demo_database(f"sqlite:///{d / 'demo.db'}")
    (d / "cislunar.toml").write_text("")
    return d, info


def test_every_page_in_chromium(demo, tmp_path):
    d, info = demo
    with dashboard_server(info.url, d / "cislunar.toml", tmp_path / "server.log") as base, chromium(tmp_path) as page:
        text = _open(page, f"{base}/overview", tmp_path / "overview.png", "Cislunar SSA monitor")
        assert "Service health" in text and "Objects tracked" in text and "153" in text
        assert page.locator("[data-testid=stMetric]").count() >= 10

        text = _open(page, f"{base}/situation", tmp_path / "situation.png", "Situation")
        assert "Predicted region crossings" in text
        assert page.locator("[data-testid=stPlotlyChart] .main-svg").count() >= 1
        assert page.locator("[data-testid=stPlotlyChart] canvas").count() >= 1  # the WebGL 3D scene

        text = _open(page, f"{base}/alerts", tmp_path / "alerts.png", "Alerts")
        assert "Conjunction NOAA 15 / METOP-B" in text and "Act on this alert" in text

        text = _open(page, f"{base}/objects?object={TLI_NORAD}", tmp_path / "objects.png", "Object")
        assert "DEMO TLI STAGE" in text and "Why this propagator" in text and "Distance to the operating regions" in text

        text = _open(page, f"{base}/replay?event={info.event_id}", tmp_path / "replay.png", "Replay")
        assert "Replay differs by" in text and f"{info.approaches[-1].miss_km:.3f} km" in text
        assert page.locator("[data-testid=stPlotlyChart]").count() == 4

        text = _open(page, f"{base}/upload", tmp_path / "upload.png", "Upload element sets")
        assert "Upload element sets" in text
    for name in ("overview", "situation", "alerts", "objects", "replay", "upload"):
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000


def test_unauthenticated_visit_shows_no_data(demo, tmp_path):
    d, info = demo
    cfg = tmp_path / "auth.toml"
    cfg.write_text('[auth]\nmode = "password"\n')
    env = {"CISLUNAR_DASHBOARD_PASSWORD": "e2e-operator-secret"}
    with dashboard_server(info.url, cfg, tmp_path / "server.log", env) as base, chromium(tmp_path) as page:
        # the overview last: the login below happens on it
        for path in ("alerts", f"replay?event={info.event_id}", f"objects?object={TLI_NORAD}", "overview"):
            text = _open(page, f"{base}/{path}", tmp_path / f"login-{path.split('?')[0]}.png", "Cislunar SSA monitor")
            assert "Log in to see the dashboard" in text
            for secret in ("NOAA 15", "METOP-B", "Objects tracked", "DEMO TLI STAGE", "demo.db"):
                assert secret not in text
            assert page.locator("[data-testid=stMetric]").count() == 0
            assert page.locator("[data-testid=stPlotlyChart]").count() == 0
            assert page.locator("[data-testid=stSidebarNav]").count() == 0
        page.get_by_label("Your name").fill("erin")
        page.get_by_role("textbox", name="Password").fill("e2e-operator-secret")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Service health").wait_for(timeout=PAGE_TIMEOUT_MS)
        page.wait_for_function(RENDERED_JS, timeout=PAGE_TIMEOUT_MS)
        page.screenshot(path=str(tmp_path / "after-login.png"))
        assert "erin" in page.inner_text("[data-testid=stSidebar]")
