"""Local mode, as a newcomer runs it: `python -m bot` with no DISCORD_TOKEN serves the web app on
127.0.0.1 and says Discord is off; web jobs survive a SIGKILL and restart like Discord jobs."""

from __future__ import annotations

import json
import os
import queue
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.tiny_env import tiny_env

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
START_SECONDS = 180


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalBot:
    """`python -m bot` in a subprocess, with the tiny model and no Discord token."""

    def __init__(self, tiny_model_dir: Path, data_dir: Path, port: int, **extra: str) -> None:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DISCORD_", "WEB_", "PUBLIC_"))
        }
        env.update(tiny_env(tiny_model_dir, data_dir, STEPS="30", WEB_PORT=str(port), **extra))
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--env-file", str(data_dir / "no.env")],
            cwd=data_dir.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def wait_for_line(self, text: str) -> str:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=1.0)
            except queue.Empty:
                continue
            if line is None:
                break
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"no {text!r} in the output: {''.join(self.output)}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()


class Browser:
    """A tiny cookie-keeping HTTP client (urllib), like a browser tab."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.csrf = ""

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as response:
            text = response.read().decode()
        if 'name="csrf" content="' in text:
            self.csrf = text.split('name="csrf" content="', 1)[1].split('"', 1)[0]
        return text

    def post(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-CSRF-Token": self.csrf},
            method="POST",
        )
        with self.opener.open(request, timeout=30) as response:
            return json.loads(response.read())


def statuses(database: Path, ids: list[str]) -> dict[str, str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute(
            f"SELECT id, status FROM jobs WHERE id IN ({', '.join('?' for _ in ids)})", ids
        ).fetchall()
    return dict(rows)


def test_local_mode_serves_the_create_page_and_web_jobs_survive_sigkill(tiny_model_dir, tmp_path):
    """No token: the URL is printed, Create has the tiny-model banner; SIGKILL mid-queue, restart,
    and every web job finishes (the browser's session survives too)."""
    port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    bot = LocalBot(tiny_model_dir, data_dir, port)
    try:
        line = bot.wait_for_line("Web app:")
        assert f"http://127.0.0.1:{port}" in line
        bot.wait_for_line("Discord is off until DISCORD_TOKEN is set")
        bot.wait_for_line("Ready.")
        browser = Browser(f"http://127.0.0.1:{port}")
        page = browser.get("/")
        assert 'id="prompt-bar"' in page and 'id="tiny-banner"' in page and browser.csrf
        ids = [
            browser.post("/api/imagine", {"prompt": f"a fox number {n}"})["jobs"][0]["id"] for n in range(3)
        ]
        bot.kill()
    finally:
        bot.stop()
    before = statuses(data_dir / "bot.sqlite3", ids)
    assert set(before) == set(ids)
    assert any(status != "done" for status in before.values()), before

    restarted = LocalBot(tiny_model_dir, data_dir, port)
    try:
        restarted.wait_for_line("Ready.")
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            states = {
                job_id: json.loads(browser.opener.open(f"{browser.base}/api/jobs/{job_id}").read())["status"]
                for job_id in ids
            }
            if all(state == "done" for state in states.values()):
                break
            time.sleep(0.5)
        assert all(state == "done" for state in states.values()), states
        page = browser.get(f"/jobs/{ids[0]}")
        assert "a fox number 0" in page
    finally:
        restarted.stop()
    assert restarted.process.returncode == 0, "".join(restarted.output)


def test_a_model_that_cannot_load_leaves_the_front_door_open(tiny_model_dir, tmp_path):
    """MODEL unusable (a newcomer offline with the default): the Create page still answers, with a
    banner saying what is wrong and how to fix it; a prompt gets that reason, not a crash."""
    port = free_port()
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    bot = LocalBot(tiny_model_dir, data_dir, port, MODEL=str(tmp_path / "no-such-model"), HF_HUB_OFFLINE="1")
    try:
        bot.wait_for_line("Ready (without a model).")
        assert any(line.startswith("error: MODEL=") for line in bot.output), bot.output
        browser = Browser(f"http://127.0.0.1:{port}")
        page = browser.get("/")
        assert 'id="prompt-bar"' in page and 'id="model-error"' in page and "MODEL=tiny" in page
        try:
            browser.post("/api/imagine", {"prompt": "a fox"})
            raise AssertionError("a prompt was accepted without a model")
        except urllib.error.HTTPError as error:
            assert error.code == 503
            assert json.loads(error.read())["error"]["title"] == "No model"
    finally:
        bot.stop()
    assert bot.process.returncode == 0, "".join(bot.output)
