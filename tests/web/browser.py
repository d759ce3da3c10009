"""Headless Chromium for the web tests: Debian's `chromium` driven by Playwright.

Playwright's own browser download is not reachable here, so the system browser is used. Without
it the browser tests are skipped, except in CI (`MJ_REQUIRE_BROWSER=1`, set by .ci/run), where a
missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs"


def require_browser() -> None:
    """Skip (or, in CI, fail) when Chromium or Playwright is missing."""
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"{CHROMIUM} is not installed (apt-get install chromium)"
    else:
        try:
            import playwright.async_api  # noqa: F401
        except ImportError:
            missing = "playwright is not installed (pip install -e '.[test]')"
    if missing is None:
        return
    if os.environ.get("MJ_REQUIRE_BROWSER") == "1":
        pytest.fail(missing)
    pytest.skip(missing)


@asynccontextmanager
async def browser_page(**context_args: Any):
    """A fresh page in a fresh headless Chromium (accepting downloads)."""
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            context = await browser.new_context(
                accept_downloads=True, viewport={"width": 1280, "height": 860}, **context_args
            )
            # Generous: the machine may be busy; a slow page is not a failure, a wrong one is.
            context.set_default_timeout(180_000)
            page = await context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            await browser.close()


async def screenshot(page: Any, name: str, tmp_path: Path) -> Path:
    """Save a screenshot under tmp_path; with MJ_UPDATE_SCREENSHOTS=1 also as docs/<name>."""
    path = tmp_path / name
    await page.screenshot(path=str(path), full_page=False)
    if os.environ.get("MJ_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(exist_ok=True)
        shutil.copyfile(path, SCREENSHOTS / name)
    return path
