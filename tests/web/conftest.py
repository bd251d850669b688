"""One real ``cmltrack serve --demo`` on loopback and one headless Debian chromium for the
whole session (Playwright for Python; never a browser download)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
#: Headless flags of the machine's environment notes: nothing reaches the network.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def artifacts_dir() -> Path:
    """Where screenshots go: ``$CMLTRACK_ARTIFACTS`` or ``tmp/artifacts/web`` in the checkout."""
    out = Path(os.environ.get("CMLTRACK_ARTIFACTS", ROOT / "tmp" / "artifacts")) / "web"
    out.mkdir(parents=True, exist_ok=True)
    return out


@dataclass(frozen=True)
class Demo:
    """The running demo service: its base URL and the links and tokens it printed."""

    base: str
    clinician_url: str
    analyst_url: str
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def demo_server() -> Iterator[Demo]:
    pytest.importorskip("fastapi")
    pytest.importorskip("cmltrack.service.app")
    data = Path(tempfile.mkdtemp(prefix="cmltrack-web-test-"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])}
    for key in list(env):
        if key.startswith("CMLTRACK_"):
            del env[key]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from cmltrack.cli.app import main; main()", "serve", "--demo",
         "--port", "0", "--data-dir", str(data), "--log-level", "warning"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 90
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "listening on" in line:
            break
    text = "".join(lines)
    links = dict(re.findall(r"Sign in as demo (\w+): (\S+)", text))
    tokens = dict(re.findall(r"API token \((\w+)\):\s+(\S+)", text))
    base = re.search(r"listening on (http://\S+)", text)
    if base is None or "clinician" not in links:
        proc.kill()
        raise RuntimeError(f"cmltrack serve --demo did not start:\n{text}")
    try:
        yield Demo(base.group(1), links["clinician"], links["analyst"], tokens)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed at /usr/bin/chromium")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                               headless=True)
        try:
            yield b
        finally:
            b.close()


def open_page(browser: Any) -> Any:
    """A page in a fresh context (its own cookies), 1280 px wide; it records page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


@pytest.fixture
def new_page(browser: Any) -> Any:
    """A factory of fresh pages (own cookies); the test closes them."""
    return lambda: open_page(browser)


@pytest.fixture
def shot() -> Any:
    """Save a full-page screenshot as a test artifact (``artifacts_dir``)."""

    def save(page: Any, name: str) -> Path:
        out = artifacts_dir() / f"{name}.png"
        page.screenshot(path=str(out), full_page=True)
        return out

    return save


@pytest.fixture
def clinician(browser: Any, demo_server: Demo) -> Iterator[Any]:
    page = open_page(browser)
    page.goto(demo_server.clinician_url)
    yield page
    assert not page.errors, page.errors
    page.context.close()


@pytest.fixture
def analyst(browser: Any, demo_server: Demo) -> Iterator[Any]:
    page = open_page(browser)
    page.goto(demo_server.analyst_url)
    yield page
    assert not page.errors, page.errors
    page.context.close()
